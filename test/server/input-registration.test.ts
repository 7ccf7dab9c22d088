/** Request bodies and queries over HTTP: no type coercion, both spellings must agree, errors name the field. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KEYS, apiKey, authConfig, config, connect, harness, message, type, type Harness } from './helpers.js';

describe('agent registration over HTTP (dev mode)', () => {
  let h: Harness;
  before(async () => {
    h = await harness(config());
  });
  after(async () => h.close());

  const register = (payload: Record<string, unknown>) => h.app.inject({ method: 'POST', url: '/v1/agents', payload });

  it('refuses camelCase and snake_case spellings of one field with different values, naming both', async () => {
    for (const [camel, snake, a, b] of [
      ['agentId', 'agent_id', 'carol', 'dave'],
      ['tenantId', 'tenant_id', 'acme', 'evil'],
      ['agentType', 'agent_type', 'llm', 'tool'],
    ] as const) {
      const res = await register({ agentId: 'carol', tenantId: 'acme', [camel]: a, [snake]: b });
      assert.equal(res.statusCode, 400, `${camel}: ${res.body}`);
      assert.equal(res.json().error.code, 'INVALID_AGENT');
      assert.match(res.json().error.message, new RegExp(`body\\.${camel}.*body\\.${snake}|body\\.${snake}.*body\\.${camel}`));
    }
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/agents/dave' })).statusCode, 404, 'nothing was registered');
    const same = await register({ agentId: 'carol', agent_id: 'carol', tenantId: 'acme', tenant_id: 'acme' });
    assert.equal(same.statusCode, 201, same.body);
  });

  it('does not coerce types: a number is not an id and a string is not a list', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ agentId: 123, tenantId: 'acme' }, /^body\.agentId must be a string$/],
      [{ agentId: 'x1', tenantId: 'acme', capabilities: 'plan' }, /^body\.capabilities must be an array of strings$/],
      [{ agentId: 'x1', tenantId: 'acme', capabilities: ['plan', 7] }, /^body\.capabilities\[1\] must be a string$/],
      [{ agentId: 'x1', tenantId: 'acme', agentType: true }, /^body\.agentType must be a string$/],
      [{ agentId: 'x1', tenantId: 'acme', metadata: 'x' }, /^body\.metadata must be a JSON object$/],
      [{ agentId: 'x1', tenantId: 'acme', metadata: [] }, /^body\.metadata must be a JSON object$/],
      [{ agentId: 'x'.repeat(129), tenantId: 'acme' }, /^body\.agentId must be at most 128 characters$/],
      [{ agentId: '', tenantId: 'acme' }, /^body\.agentId must not be empty$/],
    ];
    for (const [payload, pattern] of cases) {
      const res = await register(payload);
      assert.equal(res.statusCode, 400, JSON.stringify(payload));
      // docs/errors.md: a malformed registration field is INVALID_AGENT, whichever layer finds it.
      assert.equal(res.json().error.code, 'INVALID_AGENT', res.body);
      assert.match(res.json().error.message, pattern);
    }
    assert.equal((await h.app.inject({ method: 'GET', url: '/v1/agents/x1' })).statusCode, 404);
  });

  it('an unknown field is an INVALID_ARGUMENT naming it', async () => {
    const res = await register({ agentId: 'x2', tenantId: 'acme', capability: ['plan'] });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'INVALID_ARGUMENT');
    assert.equal(res.json().error.message, 'body.capability is not a known field');
  });

  it('ack bodies: no coercion, both spellings must agree', async () => {
    const strings = await h.app.inject({ method: 'POST', url: '/v1/agents/bob/acks', payload: { deliveryIds: ['12'] } });
    assert.equal(strings.statusCode, 400);
    assert.equal(strings.json().error.code, 'INVALID_ARGUMENT');
    assert.equal(strings.json().error.message, 'body.deliveryIds[0] must be an integer');
    const scalar = await h.app.inject({ method: 'POST', url: '/v1/agents/bob/acks', payload: { deliveryIds: 12 } });
    assert.equal(scalar.json().error.message, 'body.deliveryIds must be an array of integers');
    const both = await h.app.inject({ method: 'POST', url: '/v1/agents/bob/acks', payload: { deliveryIds: [1], delivery_ids: [2] } });
    assert.equal(both.statusCode, 400);
    assert.equal(both.json().error.code, 'INVALID_ARGUMENT');
    assert.match(both.json().error.message, /body\.deliveryIds and body\.delivery_ids/);
    const agreeing = await h.app.inject({ method: 'POST', url: '/v1/agents/bob/acks', payload: { deliveryIds: [1], delivery_ids: [1] } });
    assert.equal(agreeing.statusCode, 200, agreeing.body);
  });

  it('query strings are still read as numbers and booleans, and their errors name the parameter', async () => {
    const pulled = await h.app.inject({ method: 'GET', url: '/v1/agents/bob/messages?max=2&waitMs=0' });
    assert.equal(pulled.statusCode, 200, pulled.body);
    const bad = await h.app.inject({ method: 'GET', url: '/v1/agents/bob/messages?max=two' });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'INVALID_ARGUMENT');
    assert.equal(bad.json().error.message, 'query.max must be an integer');
    const big = await h.app.inject({ method: 'GET', url: '/v1/agents/bob/messages?max=5000' });
    assert.equal(big.json().error.message, 'query.max must be at most 1000');
    const details = await h.app.inject({ method: 'POST', url: '/v1/messages?details=true', payload: message() });
    assert.equal(details.statusCode, 200, details.body);
    assert.ok(details.json().details !== undefined, 'details=true was read as true');
    const unknown = await h.app.inject({ method: 'POST', url: '/v1/messages?detail=true', payload: message() });
    assert.equal(unknown.json().error.message, 'query.detail is not a known parameter');
    await h.app.inject({ method: 'GET', url: '/v1/agents/bob/messages?max=100' });
  });
});

describe('agent registration over HTTP (authenticated)', () => {
  let h: Harness;
  before(async () => {
    h = await harness(authConfig());
  });
  after(async () => h.close());

  it("an admin of acme registering an agent in beta is told the tenant is not theirs", async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.admin), payload: { agentId: 'beta-bot', tenantId: 'beta' } });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'FORBIDDEN');
    assert.equal(res.json().error.message, 'tenant beta is not yours: the credential belongs to tenant acme');
    const own = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.admin), payload: { agentId: 'acme-bot', tenantId: 'acme' } });
    assert.equal(own.statusCode, 201, own.body);
  });

  it('an agent without the admin role is still told it needs it, or that it is another agent', async () => {
    const other = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.alice), payload: { agentId: 'zed', tenantId: 'acme' } });
    assert.equal(other.statusCode, 403);
    assert.equal(other.json().error.code, 'IDENTITY_MISMATCH');
    const self = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.alice), payload: { agentId: 'alice', tenantId: 'beta' } });
    assert.equal(self.statusCode, 403);
    assert.equal(self.json().error.message, 'tenant beta is not yours: the credential belongs to tenant acme');
  });

  it('listing agents of another tenant says the same', async () => {
    const res = await h.app.inject({ method: 'GET', url: '/v1/agents?tenantId=beta', headers: apiKey(KEYS.admin) });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.message, 'tenant beta is not yours: the credential belongs to tenant acme');
  });
});

describe('ack frames over WebSocket', () => {
  let h: Harness;
  before(async () => {
    h = await harness(config());
    await h.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => h.close());

  it('both spellings must agree, as in an HTTP ack body', async () => {
    const bob = await connect(`ws://127.0.0.1:${(h.app.server.address() as { port: number }).port}/v1/ws?agentId=bob`);
    await bob.next(type('ready'));
    bob.send({ type: 'ack', id: 'a1', deliveryIds: [1], delivery_ids: [2] });
    const error = await bob.next(type('error'));
    assert.equal(error.id, 'a1');
    assert.equal((error.error as { code: string }).code, 'INVALID_ARGUMENT');
    assert.equal((error.error as { message: string }).message, 'frame.deliveryIds and frame.delivery_ids disagree: give one of them, or both with the same value');
    await bob.close();
  });
});
