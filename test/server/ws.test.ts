import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KEYS, authConfig, config, connect, harness, jwtFor, message, type, type Harness } from './helpers.js';

async function listen(h: Harness): Promise<string> {
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.app.server.address() as { port: number };
  return `ws://127.0.0.1:${address.port}/v1/ws`;
}

describe('WebSocket (dev mode)', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(config({ delivery: { ...config().delivery, ackTimeoutMs: 150, sweepIntervalMs: 20 } }));
    url = await listen(h);
  });
  after(async () => h.close());

  it('pushes messages, which stop coming back once acked', async () => {
    const bob = await connect(`${url}?agentId=bob`);
    const ready = await bob.next(type('ready'));
    assert.equal(ready.agentId, 'bob');
    const res = await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message({ content: { n: 1 } }) });
    assert.equal(res.statusCode, 200);
    const pushed = await bob.next(type('message'));
    assert.equal((pushed.message as { content: { n: number } }).content.n, 1);
    assert.equal(pushed.attempt, 1);
    bob.send({ type: 'ack', deliveryIds: [pushed.deliveryId] });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bob.frames.filter((f) => f.type === 'message').length, 0, 'no redelivery after an ack');
    assert.equal(h.app.busContext.sessions.get('bob')!.retained, 0);
    await bob.close();
  });

  it('redelivers a message not acked within the ack timeout', async () => {
    const bob = await connect(`${url}?agentId=bob`);
    await bob.next(type('ready'));
    await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message({ content: { n: 'slow' } }) });
    const first = await bob.next(type('message'));
    const second = await bob.next(type('message'), 2000);
    assert.equal(second.deliveryId, first.deliveryId);
    assert.equal(second.attempt, 2);
    bob.send({ type: 'ack', deliveryIds: [second.deliveryId] });
    await bob.close();
  });

  it('redelivers after a dropped connection: disconnect without acking, reconnect, get it again', async () => {
    const bob = await connect(`${url}?agentId=bob`);
    await bob.next(type('ready'));
    await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message({ content: { n: 'dropped' } }) });
    const first = await bob.next(type('message'));
    bob.ws.terminate();
    await bob.closed;
    // Sent while bob is away: kept for him.
    await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message({ content: { n: 'while-away' } }) });
    const back = await connect(url);
    back.send({ type: 'auth', agentId: 'bob' });
    await back.next(type('ready'));
    const a = await back.next(type('message'));
    const b = await back.next(type('message'));
    const got = new Map([a, b].map((f) => [(f.message as { content: { n: string } }).content.n, f]));
    assert.equal(got.get('dropped')!.deliveryId, first.deliveryId);
    assert.equal(got.get('dropped')!.attempt, 2);
    assert.equal(got.get('while-away')!.attempt, 1);
    back.send({ type: 'ack', deliveryIds: [a.deliveryId, b.deliveryId] });
    await back.close();
  });

  it('batch mode: the messages and results of one turn come as one frame each; acks and refusals are as without it', async () => {
    const bob = await connect(`${url}?agentId=bob&batch=true`);
    const ready = await bob.next(type('ready'));
    assert.equal(ready.batch, true);
    const alice = await connect(url);
    alice.send({ type: 'auth', agentId: 'alice', batch: true });
    assert.equal((await alice.next(type('ready'))).batch, true);
    // ?batch=true on the upgrade also holds when the client then authenticates with a frame.
    const carol = await connect(`${url}?batch=true`);
    carol.send({ type: 'auth', agentId: 'mallory' });
    assert.equal((await carol.next(type('ready'))).batch, true);
    await carol.close();
    // Sends read in one turn are answered in one results frame (several when they span turns).
    for (let i = 0; i < 10; i++) alice.send({ type: 'send', id: i, message: message({ content: { n: i } }) });
    alice.send({ type: 'send', id: 99, message: message({ toAgent: 'nobody' }) });
    const ids: number[] = [];
    while (ids.length < 10) {
      const frame = await alice.next(type('results'));
      for (const r of frame.results as Array<{ id: number; status: number; result: { status: string } }>) {
        assert.equal(r.status, 200);
        assert.equal(r.result.status, 'delivered');
        ids.push(r.id);
      }
    }
    assert.deepEqual(ids, [...Array(10).keys()]);
    const refused = await alice.next(type('error'));
    assert.equal(refused.id, 99);
    assert.equal(alice.frames.filter((f) => f.type === 'result').length, 0, 'no single result frames in batch mode');
    const got: Array<{ deliveryId: number; attempt: number; message: { content: { n: number } } }> = [];
    while (got.length < 10) got.push(...((await bob.next(type('messages'))).messages as typeof got));
    assert.deepEqual(got.map((m) => m.message.content.n), [...Array(10).keys()]);
    assert.ok(got.every((m) => m.attempt === 1));
    bob.send({ type: 'ack', deliveryIds: got.map((m) => m.deliveryId) });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(bob.frames.filter((f) => f.type === 'messages' || f.type === 'message').length, 0, 'no redelivery after the acks');
    assert.equal(h.app.busContext.sessions.get('bob')!.retained, 0);
    await alice.close();
    await bob.close();
  });

  it('sends over the socket, answers heartbeats, and reports errors as frames', async () => {
    const alice = await connect(`${url}?agentId=alice`);
    await alice.next(type('ready'));
    alice.send({ type: 'send', id: 7, message: { to_agent: 'bob', constitutional_hash: message().constitutionalHash, content: { via: 'ws' } } });
    const result = await alice.next(type('result'));
    assert.equal(result.id, 7);
    assert.equal((result.result as { status: string }).status, 'delivered');
    alice.send({ type: 'send', id: 8, message: message({ toAgent: 'nobody' }) });
    const refused = await alice.next(type('error'));
    assert.equal(refused.id, 8);
    assert.equal((refused.error as { code: string }).code, 'UNKNOWN_RECIPIENT');
    alice.send({ type: 'heartbeat', id: 'hb' });
    const hb = await alice.next(type('heartbeat'));
    assert.equal(hb.id, 'hb');
    alice.ws.send('{not json');
    assert.equal(((await alice.next(type('error'))).error as { code: string }).code, 'INVALID_MESSAGE');
    alice.send({ type: 'teleport' });
    assert.equal(((await alice.next(type('error'))).error as { code: string }).code, 'INVALID_ARGUMENT');
    // A sender or tenant that is not a string (one whose toString is not callable) is refused, not an internal error.
    for (const bad of [{ tenantId: { toString: 1 } }, { fromAgent: { toString: 1 } }, { tenantId: 7 }]) {
      alice.send({ type: 'send', id: 'bad', message: { ...message(), ...bad } });
      const e = await alice.next(type('error'));
      assert.equal(e.id, 'bad');
      assert.equal((e.error as { code: string }).code, 'INVALID_MESSAGE', JSON.stringify(e));
    }
    await alice.close();
    const bob = await connect(`${url}?agentId=bob`);
    const m = await bob.next(type('message'));
    bob.send({ type: 'ack', deliveryIds: [m.deliveryId] });
    await bob.close();
  });

  it('a second connection of the same agent replaces the first (4000)', async () => {
    const one = await connect(`${url}?agentId=bob`);
    await one.next(type('ready'));
    const two = await connect(`${url}?agentId=bob`);
    await two.next(type('ready'));
    assert.equal((await one.closed).code, 4000);
    await two.close();
  });

  it('closes with 4404 for an unknown agent and 4401 when the first frame is not auth', async () => {
    const ghost = await connect(`${url}?agentId=ghost`);
    assert.equal((await ghost.closed).code, 4404);
    const rude = await connect(url);
    rude.send({ type: 'send', message: message() });
    assert.equal((await rude.closed).code, 4401);
  });
});

describe('WebSocket authentication', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(authConfig());
    url = await listen(h);
  });
  after(async () => h.close());

  it('authenticates with the upgrade request or a first auth frame', async () => {
    const viaHeader = await connect(url, { 'x-api-key': KEYS.bob });
    assert.equal((await viaHeader.next(type('ready'))).agentId, 'bob');
    await viaHeader.close();
    const viaFrame = await connect(url);
    viaFrame.send({ type: 'auth', token: jwtFor({ sub: 'bob', tenant_id: 'acme', jti: 'ws-1' }) });
    assert.equal((await viaFrame.next(type('ready'))).agentId, 'bob');
    await viaFrame.close();
  });

  it('refuses a replayed WebSocket token (one-time jti), an expired one and a bad key with 4401', async () => {
    const token = jwtFor({ sub: 'bob', tenant_id: 'acme', jti: 'ws-once' });
    const first = await connect(url);
    first.send({ type: 'auth', token });
    await first.next(type('ready'));
    await first.close();
    const replay = await connect(url);
    replay.send({ type: 'auth', token });
    const closed = await replay.closed;
    assert.equal(closed.code, 4401);
    assert.match(closed.reason, /replay/);

    const now = Math.floor(Date.now() / 1000);
    const expired = await connect(url);
    expired.send({ type: 'auth', token: jwtFor({ sub: 'bob', tenant_id: 'acme', iat: now - 600, exp: now - 300 }) });
    assert.equal((await expired.closed).code, 4401);
    const badKey = await connect(url, { 'x-api-key': 'nope-nope-nope-nope-nope' });
    assert.equal((await badKey.closed).code, 4401);
  });

  it('a WebSocket agent can only send as itself', async () => {
    const alice = await connect(url, { 'x-api-key': KEYS.alice });
    await alice.next(type('ready'));
    alice.send({ type: 'send', id: 1, message: message({ fromAgent: 'bob', toAgent: 'alice' }) });
    const refused = await alice.next(type('error'));
    assert.equal((refused.error as { code: string }).code, 'IDENTITY_MISMATCH');
    assert.equal(refused.status, 403);
    await alice.close();
  });

  it('a reviewer credential without an agent cannot open a delivery session (4403)', async () => {
    const rev = await connect(url, { 'x-api-key': KEYS.reviewer });
    assert.equal((await rev.closed).code, 4403);
  });
});
