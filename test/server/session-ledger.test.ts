/**
 * Server sessions with the bus's delivery ledger: a message a session holds stays open in the
 * ledger until the client acks it (HTTP or WebSocket), it expires, or the agent is removed; after a
 * crash what was held and unacknowledged comes back, and nothing acknowledged does.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { AgentBus } from '../../src/bus.js';
import { buildServer, ConfigError, defaultComponents, loadServerConfig, SessionManager } from '../../src/server/index.js';
import { config, connect, HASH, silent, type } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eab-session-ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A bus with a ledger in `dir`; a "crash" is abandoning it (it is stopped only when the test ends). */
async function ledgerBus(t: TestContext, dir: string): Promise<AgentBus> {
  const bus = new AgentBus({ policy: false, impact: false, deliberation: false, metering: false, drainTimeoutMs: 50, deliveryLedger: { dir } });
  await bus.start();
  t.after(() => bus.stop());
  for (const agentId of ['alice', 'bob', 'carol']) await bus.registerAgent({ agentId, tenantId: 'acme' });
  return bus;
}

async function sendTo(bus: AgentBus, to: string, n: number, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await bus.send({ fromAgent: 'alice', toAgent: to, tenantId: 'acme', constitutionalHash: HASH, content: { n }, ...extra });
  assert.equal(r.ok, true, JSON.stringify(r));
  return r.messageId;
}

const n = (m: { content: unknown }) => (m.content as { n: number }).n;

describe('session settle points', () => {
  it('an ack settles the message; a lease that ends without one redelivers it and keeps it open', async (t) => {
    const dir = tempDir(t);
    const bus = await ledgerBus(t, dir);
    let now = 1_000_000;
    const sessions = new SessionManager(bus, config().delivery, 0, () => now);
    t.after(() => sessions.closeAll());
    const session = sessions.open('bob', 'acme');
    for (let i = 0; i < 3; i++) await sendTo(bus, 'bob', i);
    assert.equal(session.retained, 3);
    assert.equal(bus.deliveryLedger()!.open, 3, 'handed to the session, not acknowledged: still open');

    const [a, b] = session.take(2, 1000);
    assert.deepEqual(session.ack([a!.id]), { acked: [a!.id], unknown: [] });
    assert.equal(bus.deliveryLedger()!.done, 1);
    assert.equal(bus.deliveryLedger()!.open, 2);

    now += 2000;
    sessions.sweep(now);
    assert.equal(sessions.stats().redelivered, 1);
    assert.equal(bus.deliveryLedger()!.open, 2, 'a lease that ended is not a settle');
    const again = session.take(5, 1000);
    assert.deepEqual(
      again.map((e) => [n(e.message), e.id === b!.id, e.attempts]),
      [
        [1, true, 2],
        [2, false, 1],
      ],
    );

    // Crash: the two unacknowledged come back, the acknowledged one does not.
    const second = await ledgerBus(t, dir);
    assert.equal(second.deliveryLedger()!.recovered, 2);
  });

  it('expiry (retention or expiresAt) and discard (agent removed) settle, including a message waiting for room and one in the bus inbox', async (t) => {
    const dir = tempDir(t);
    const bus = await ledgerBus(t, dir);
    let now = Date.now();
    const sessions = new SessionManager(bus, { ...config().delivery, sessionCapacity: 2, retentionMs: 1000 }, 0, () => now);
    t.after(() => sessions.closeAll());

    const bob = sessions.open('bob', 'acme');
    await sendTo(bus, 'bob', 0);
    await sendTo(bus, 'bob', 1, { expiresAt: Date.now() + 500 });
    const [, leased] = bob.take(2, 100);
    assert.equal(n(leased!.message), 1);
    now += 600; // lease over and expiresAt passed
    sessions.sweep(now);
    assert.equal(sessions.stats().expired, 1);
    assert.equal(bus.deliveryLedger()!.open, 1);
    now += 1000; // the other one is past retention
    sessions.sweep(now);
    assert.equal(sessions.stats().expired, 2);
    assert.equal(bus.deliveryLedger()!.open, 0);
    assert.equal(bus.deliveryLedger()!.done, 2);

    // carol: 2 held by the session, 1 waiting for room (its bus handler is pending), 2 in the bus inbox.
    const carol = sessions.open('carol', 'acme');
    for (let i = 0; i < 5; i++) await sendTo(bus, 'carol', i);
    assert.equal(carol.retained, 2);
    assert.equal(bus.pending('carol'), 2);
    assert.equal(bus.deliveryLedger()!.open, 5);
    await bus.unregisterAgent('carol');
    assert.equal(sessions.stats().discarded, 3);
    assert.equal(bus.deliveryLedger()!.open, 0, 'discarded: settled by the session and by the bus inbox');

    const second = await ledgerBus(t, dir);
    assert.equal(second.deliveryLedger()!.recovered, 0);
  });

  it('closing every session (server stopping) settles nothing: after a restart every held message is delivered again, with attempt 2 and a new deliveryId', async (t) => {
    const dir = tempDir(t);
    const bus = await ledgerBus(t, dir);
    const sessions = new SessionManager(bus, { ...config().delivery, sessionCapacity: 2 }, 0);
    const bob = sessions.open('bob', 'acme');
    for (let i = 0; i < 4; i++) await sendTo(bus, 'bob', i);
    const [leased] = bob.take(1, 60_000);
    assert.equal(bob.ack(bob.take(1, 60_000).map((e) => e.id)).acked.length, 1);
    const left = sessions.closeAll();
    assert.equal(left[0]!.messages.length, 2, 'the leased one and the one that was waiting for room');
    assert.equal(bus.deliveryLedger()!.open, 3, 'those two and the one still in the bus inbox');

    await sleep(2); // a later process: another deliveryId base
    const second = await ledgerBus(t, dir);
    const restarted = new SessionManager(second, config().delivery, 0);
    t.after(() => restarted.closeAll());
    const back = restarted.open('bob', 'acme');
    const got = back.take(10, 60_000);
    assert.deepEqual(got.map((e) => n(e.message)).sort(), [0, 2, 3]);
    assert.ok(got.every((e) => e.attempts === 2));
    assert.deepEqual(back.ack([leased!.id]), { acked: [], unknown: [leased!.id] }, 'an ack sent for the previous process\'s delivery names nothing here');
    back.ack(got.map((e) => e.id));
    assert.equal(second.deliveryLedger()!.open, 0);
    const third = await ledgerBus(t, dir);
    assert.equal(third.deliveryLedger()!.recovered, 0);
  });
});

describe('waiting for room', () => {
  it('a bus delivery whose wait for room timed out is still taken once there is room (nothing lost, nothing settled early)', async (t) => {
    const dir = tempDir(t);
    const bus = new AgentBus({ policy: false, impact: false, deliberation: false, metering: false, drainTimeoutMs: 50, handlerTimeoutMs: 50, deliveryLedger: { dir } });
    await bus.start();
    t.after(() => bus.stop());
    for (const agentId of ['alice', 'bob']) await bus.registerAgent({ agentId, tenantId: 'acme' });
    const sessions = new SessionManager(bus, { ...config().delivery, sessionCapacity: 1 }, 0);
    t.after(() => sessions.closeAll());
    const bob = sessions.open('bob', 'acme');
    for (let i = 0; i < 3; i++) await sendTo(bus, 'bob', i);
    await sleep(200); // the bus times out the wait for room of message 1, then hands message 2 over to wait as well
    assert.ok(bus.metrics().deliveryFailures >= 1, 'the bus reported the wait as a timeout');
    const got: number[] = [];
    for (let round = 0; round < 3; round++) {
      const [entry] = bob.take(1, 60_000);
      got.push(n(entry!.message));
      bob.ack([entry!.id]);
    }
    assert.deepEqual(got, [0, 1, 2]);
    assert.equal(bus.deliveryLedger()!.open, 0);
    assert.equal(bus.deliveryLedger()!.done, 3);
  });
});

describe('configuration', () => {
  it('agent-bus serve keeps the ledger by default; delivery.ledger / AGENT_BUS_DELIVERY_LEDGER turn it off; bad values name the key', async (t) => {
    const dataDir = tempDir(t);
    const on = await defaultComponents(loadServerConfig({ overrides: { dataDir, logLevel: 'silent' } }));
    try {
      assert.notEqual(on.bus.deliveryLedger(), undefined);
      assert.ok(existsSync(path.join(dataDir, 'delivery', 'deliveries.jsonl')));
    } finally {
      await on.bus.stop();
    }
    const offConfig = loadServerConfig({ env: { AGENT_BUS_DELIVERY_LEDGER: 'false' }, overrides: { dataDir, logLevel: 'silent' } });
    assert.equal(offConfig.delivery.ledger, false);
    const off = await defaultComponents(offConfig);
    try {
      assert.equal(off.bus.deliveryLedger(), undefined);
    } finally {
      await off.bus.stop();
    }
    assert.throws(() => loadServerConfig({ env: { AGENT_BUS_DELIVERY_LEDGER: 'maybe' } }), (e) => e instanceof ConfigError && /AGENT_BUS_DELIVERY_LEDGER/.test(e.message));
    assert.throws(() => loadServerConfig({ overrides: { delivery: { ledger: 'yes' } } }), (e) => e instanceof ConfigError && /delivery\.ledger/.test(e.message));
  });
});

describe('through the server: HTTP pull + ack and WebSocket push + ack with the ledger', () => {
  it('after a crash and the agents registering again, exactly the unacknowledged messages come back', async (t) => {
    const dir = tempDir(t);
    const cfg = config({ delivery: { ...config().delivery, ackTimeoutMs: 60_000, sessionCapacity: 4 } });
    const bus1 = await ledgerBus(t, dir);
    const app1 = await buildServer({ config: cfg, bus: bus1, logger: silent });
    t.after(() => app1.close());
    await app1.listen({ host: '127.0.0.1', port: 0 });
    const url1 = `127.0.0.1:${(app1.server.address() as { port: number }).port}`;

    // bob over WebSocket: 6 pushed (window 4 in the session, the rest follow acks), 3 acked over the socket and 1 over HTTP.
    const bobWs = await connect(`ws://${url1}/v1/ws?agentId=bob`);
    await bobWs.next(type('ready'));
    const bobSent: string[] = [];
    for (let i = 0; i < 6; i++) bobSent.push(await sendTo(bus1, 'bob', i));
    const pushed: Array<{ deliveryId: number; message: { messageId: string } }> = [];
    for (let i = 0; i < 4; i++) pushed.push((await bobWs.next(type('message'))) as never);
    bobWs.send({ type: 'ack', deliveryIds: pushed.slice(0, 3).map((f) => f.deliveryId) });
    for (let i = 0; i < 2; i++) pushed.push((await bobWs.next(type('message'))) as never); // room freed by the acks
    const httpAck = await fetch(`http://${url1}/v1/agents/bob/acks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deliveryIds: [pushed[4]!.deliveryId] }) });
    assert.deepEqual(await httpAck.json(), { acked: [pushed[4]!.deliveryId], unknown: [] });
    const bobAcked = new Set([0, 1, 2, 4].map((i) => pushed[i]!.message.messageId));

    // carol over HTTP pull: 6 sent, 4 pulled, 2 of them acked, 2 left leased, 2 queued (one in the session, one in the bus inbox... or both).
    const carolSent: string[] = [];
    for (let i = 0; i < 6; i++) carolSent.push(await sendTo(bus1, 'carol', i));
    const pulled = (await (await fetch(`http://${url1}/v1/agents/carol/messages?max=4&leaseMs=60000`)).json()) as { deliveries: Array<{ deliveryId: number; message: { messageId: string } }> };
    assert.equal(pulled.deliveries.length, 4);
    const carolAck = await fetch(`http://${url1}/v1/agents/carol/acks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deliveryIds: pulled.deliveries.slice(0, 2).map((d) => d.deliveryId) }) });
    assert.equal(carolAck.status, 200);
    const carolAcked = new Set(pulled.deliveries.slice(0, 2).map((d) => d.message.messageId));

    // Every HTTP ack answered is in the ledger; the WebSocket ones once the server read the frame.
    const end = Date.now() + 3000;
    while (bus1.deliveryLedger()!.done < 6 && Date.now() < end) await sleep(5);
    assert.equal(bus1.deliveryLedger()!.done, 6);
    assert.equal(bus1.deliveryLedger()!.open, 2 + 4);

    // Crash: the first process is abandoned (the client just loses its socket); a new one starts on the same data.
    bobWs.ws.terminate();
    await sleep(2);
    const bus2 = new AgentBus({ policy: false, impact: false, deliberation: false, metering: false, drainTimeoutMs: 50, deliveryLedger: { dir } });
    await bus2.start();
    t.after(() => bus2.stop());
    const app2 = await buildServer({ config: cfg, bus: bus2, logger: silent });
    t.after(() => app2.close());
    await app2.listen({ host: '127.0.0.1', port: 0 });
    const url2 = `127.0.0.1:${(app2.server.address() as { port: number }).port}`;
    assert.equal(bus2.deliveryLedger()!.recovered, 6);
    // Registrations live in memory: the agents register again, as they do when they reconnect.
    for (const agentId of ['alice', 'bob', 'carol']) {
      const res = await fetch(`http://${url2}/v1/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ agentId, tenantId: 'acme' }) });
      assert.equal(res.status, 201, await res.text());
    }

    const bobAgain = await connect(`ws://${url2}/v1/ws?agentId=bob`);
    await bobAgain.next(type('ready'));
    const redelivered: Array<{ deliveryId: number; attempt: number; message: { messageId: string } }> = [];
    for (let i = 0; i < 2; i++) redelivered.push((await bobAgain.next(type('message'))) as never);
    assert.deepEqual(new Set(redelivered.map((f) => f.message.messageId)), new Set(bobSent.filter((id) => !bobAcked.has(id))));
    assert.ok(redelivered.every((f) => f.attempt === 2 && !pushed.some((p) => p.deliveryId === f.deliveryId)));
    bobAgain.send({ type: 'ack', deliveryIds: redelivered.map((f) => f.deliveryId) });

    const stale = await fetch(`http://${url2}/v1/agents/carol/acks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deliveryIds: [pulled.deliveries[2]!.deliveryId] }) });
    assert.deepEqual(await stale.json(), { acked: [], unknown: [pulled.deliveries[2]!.deliveryId] }, 'a stale ack acknowledges nothing of the new process');
    const carolAgain = (await (await fetch(`http://${url2}/v1/agents/carol/messages?max=10`)).json()) as { deliveries: Array<{ deliveryId: number; attempt: number; message: { messageId: string } }> };
    assert.deepEqual(new Set(carolAgain.deliveries.map((d) => d.message.messageId)), new Set(carolSent.filter((id) => !carolAcked.has(id))));
    assert.ok(carolAgain.deliveries.every((d) => d.attempt === 2));
    await fetch(`http://${url2}/v1/agents/carol/acks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ deliveryIds: carolAgain.deliveries.map((d) => d.deliveryId) }) });

    const done = Date.now() + 3000;
    while (bus2.deliveryLedger()!.open > 0 && Date.now() < done) await sleep(5);
    assert.equal(bus2.deliveryLedger()!.open, 0, 'everything acknowledged after the restart');
    await bobAgain.close();
    // Nothing more an agent could be given after another restart.
    const bus3 = await ledgerBus(t, dir);
    assert.equal(bus3.deliveryLedger()!.recovered, 0);
  });
});
