import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { config, connect, deliberatingBus, harness, message, type Harness } from './helpers.js';

describe('send results: annotations only when asked for (or when held)', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    const { bus, deliberation } = await deliberatingBus();
    h = await harness(config(), { bus, deliberation });
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    url = `ws://127.0.0.1:${(h.app.server.address() as { port: number }).port}/v1/ws`;
  });
  after(async () => h.close());

  it('HTTP: a delivered result is compact by default and carries the stage annotations with ?details=true', async () => {
    const compact = await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message() });
    assert.equal(compact.statusCode, 200);
    assert.deepEqual(Object.keys(compact.json()).sort(), ['lane', 'messageId', 'ok', 'recipients', 'status'].sort());

    const detailed = await h.app.inject({ method: 'POST', url: '/v1/messages?details=true', payload: message() });
    assert.equal(detailed.statusCode, 200);
    const details = detailed.json().details as Record<string, unknown>;
    assert.ok(details.policy !== undefined && details.impact !== undefined, `annotations present: ${JSON.stringify(details)}`);

    const broadcast = await h.app.inject({ method: 'POST', url: '/v1/messages/broadcast?details=true', payload: message({ toAgent: undefined }) });
    assert.equal(broadcast.statusCode, 200);
    assert.ok(broadcast.json().details !== undefined);
    const plainBroadcast = await h.app.inject({ method: 'POST', url: '/v1/messages/broadcast', payload: message({ toAgent: undefined }) });
    assert.equal(plainBroadcast.json().details, undefined);

    const bad = await h.app.inject({ method: 'POST', url: '/v1/messages?details=maybe', payload: message() });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error.code, 'INVALID_ARGUMENT');
  });

  it('HTTP: a held result always carries its annotations and deliberation id', async () => {
    const held = await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message({ content: { highImpact: true } }) });
    assert.equal(held.statusCode, 202);
    assert.equal(held.json().status, 'held');
    assert.equal(typeof held.json().deliberationId, 'string');
    assert.ok(held.json().details !== undefined);
  });

  it('WebSocket: result frames are compact unless the send frame says details: true', async () => {
    const alice = await connect(`${url}?agentId=alice`);
    try {
      await alice.next((f) => f.type === 'ready');
      alice.send({ type: 'send', id: 1, message: message() });
      const compact = await alice.next((f) => f.type === 'result' && f.id === 1);
      assert.equal((compact.result as Record<string, unknown>).details, undefined);
      alice.send({ type: 'send', id: 2, details: true, message: message() });
      const detailed = await alice.next((f) => f.type === 'result' && f.id === 2);
      assert.ok((detailed.result as Record<string, unknown>).details !== undefined);
    } finally {
      await alice.close();
    }
  });

  it('WebSocket: a frame without an id is fire-and-forget — no result when accepted, an error frame with the messageId when refused', async () => {
    const alice = await connect(`${url}?agentId=alice`);
    try {
      await alice.next((f) => f.type === 'ready');
      alice.send({ type: 'send', message: message({ messageId: 'ff-accepted', content: { n: 'ff' } }) });
      alice.send({ type: 'send', message: message({ messageId: 'ff-refused', toAgent: 'nobody' }) });
      alice.send({ type: 'heartbeat', id: 'after' });
      const refused = await alice.next((f) => f.type === 'error');
      assert.equal(refused.id, undefined);
      assert.equal((refused.error as { code: string; messageId: string }).code, 'UNKNOWN_RECIPIENT');
      assert.equal((refused.error as { messageId: string }).messageId, 'ff-refused');
      await alice.next((f) => f.type === 'heartbeat' && f.id === 'after');
      assert.equal(alice.frames.filter((f) => f.type === 'result').length, 0, 'no result frame for the accepted id-less send');
      const pulled = await h.app.inject({ method: 'GET', url: '/v1/agents/bob/messages?max=50' });
      const ids = (pulled.json().deliveries as Array<{ message: { messageId: string } }>).map((d) => d.message.messageId);
      assert.ok(ids.includes('ff-accepted'), `bob got the accepted message: ${ids.join(',')}`);
    } finally {
      await alice.close();
    }
  });
});
