import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentBus, MeteredOperation, RejectionCode, hold, type MeteringEvent, type MeteringSink } from '../../src/index.js';
import { CORE_ONLY, assertDelivered, deferred, makeBus, manualClock, msg, register, sleep } from '../helpers/core.js';

function memorySink(): MeteringSink & { events: MeteringEvent[]; batches: number[] } {
  const events: MeteringEvent[] = [];
  const batches: number[] = [];
  return {
    events,
    batches,
    write(batch) {
      batches.push(batch.length);
      events.push(...batch);
    },
  };
}

describe('metering', () => {
  it('queues one event per send outcome and flushes them to the sink with the facts of the message', async (t) => {
    const sink = memorySink();
    const bus = await makeBus(t, { metering: { sink }, clock: () => 7_000 });
    await register(bus, 'a', 'b', 'c');
    assertDelivered(await bus.send(msg('a', 'b', { messageType: 'query', content: { n: 1 } })));
    await bus.broadcast(msg('a', undefined));
    await bus.send(msg('a', 'nobody'));
    await bus.send(msg('a', 'b', { constitutionalHash: 'wrong' }));
    assert.equal(bus.metrics().metering?.queued, 3, 'a refusal before the schema has no tenant to meter');
    await bus.flushMetering();
    assert.equal(sink.events.length, 3);
    const [direct, broadcast, refused] = sink.events;
    assert.deepEqual({ ...direct }, {
      tenantId: 'acme', operation: MeteredOperation.AGENT_MESSAGE, agentId: 'a', messageType: 'query', outcome: 'delivered', code: undefined, recipients: 1, bytes: direct!.bytes, at: 7_000,
    });
    assert.equal(direct!.bytes, JSON.stringify({ n: 1 }).length, 'the content\'s JSON size, exactly (ASCII)');
    assert.equal(broadcast!.recipients, 2);
    assert.equal(refused!.outcome, 'rejected');
    assert.equal(refused!.code, RejectionCode.UNKNOWN_RECIPIENT);
    assert.equal(refused!.recipients, 0);
    const stats = bus.metrics().metering!;
    assert.equal(stats.flushed, 3);
    assert.equal(stats.pending, 0);
    assert.equal(stats.dropped, 0);
  });

  it('meters held messages as deliberation requests', async (t) => {
    const sink = memorySink();
    const bus = await makeBus(t, {
      metering: { sink },
      deliberation: { hold: () => ({ deliberationId: 'd' }) },
      stages: [{ name: 'h', evaluate: () => hold('x') }],
    });
    await register(bus, 'a', 'b');
    await bus.send(msg('a', 'b'));
    await bus.flushMetering();
    assert.equal(sink.events[0]!.operation, MeteredOperation.DELIBERATION_REQUEST);
    assert.equal(sink.events[0]!.outcome, 'held');
  });

  it('flushes a full batch on its own, without waiting for the timer or stop', async (t) => {
    const sink = memorySink();
    const bus = await makeBus(t, { metering: { sink, batchSize: 10, flushIntervalMs: 60_000 } });
    await register(bus, 'a', 'b');
    for (let i = 0; i < 25; i++) await bus.send(msg('a', 'b'));
    await sleep(5);
    assert.ok(sink.events.length >= 20, `flushed ${sink.events.length}`);
    assert.ok(sink.batches.every((n) => n <= 10));
  });

  it('flushes stragglers on the interval timer', async (t) => {
    const sink = memorySink();
    const bus = await makeBus(t, { metering: { sink, batchSize: 100, flushIntervalMs: 10 } });
    await register(bus, 'a', 'b');
    await bus.send(msg('a', 'b'));
    await sleep(40);
    assert.equal(sink.events.length, 1);
  });

  it('stop() drains everything: 10,000 events with batchSize 100 all flushed', async () => {
    const sink = memorySink();
    const bus = new AgentBus({ ...CORE_ONLY,  metering: { sink, batchSize: 100, maxQueueSize: 10_000, flushIntervalMs: 60_000 } });
    await bus.start();
    await register(bus, 'a', 'b');
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) sends.push(bus.send(msg('a', 'b')));
    await Promise.all(sends);
    await bus.stop();
    assert.equal(sink.events.length, 10_000);
    assert.ok(sink.batches.every((n) => n <= 100));
    assert.equal(sink.batches.length, 100);
    const stats = bus.metrics().metering!;
    assert.deepEqual({ queued: stats.queued, flushed: stats.flushed, dropped: stats.dropped, pending: stats.pending }, { queued: 10_000, flushed: 10_000, dropped: 0, pending: 0 });
  });

  it('stop() waits for a slow async sink and closes it', async () => {
    let closed = false;
    const written: number[] = [];
    const sink: MeteringSink = {
      async write(batch) {
        await sleep(2);
        written.push(batch.length);
      },
      async close() {
        closed = true;
      },
    };
    const bus = new AgentBus({ ...CORE_ONLY,  metering: { sink, batchSize: 7 } });
    await bus.start();
    await register(bus, 'a', 'b');
    for (let i = 0; i < 50; i++) await bus.send(msg('a', 'b'));
    await bus.stop();
    assert.equal(written.reduce((s, n) => s + n, 0), 50);
    assert.equal(closed, true);
  });

  it('a full queue drops new events and counts them; sends are never blocked or refused by metering', async () => {
    const gate = deferred();
    const sink: MeteringSink = { write: () => gate.promise };
    const bus = new AgentBus({ ...CORE_ONLY,  metering: { sink, maxQueueSize: 5, batchSize: 1, flushIntervalMs: 60_000 } });
    await bus.start();
    await register(bus, 'a', 'b');
    for (let i = 0; i < 20; i++) assertDelivered(await bus.send(msg('a', 'b')));
    const { queued = -1, dropped = -1, pending = -1 } = bus.metrics().metering!;
    assert.ok(dropped >= 14, `dropped ${dropped}`);
    assert.equal(queued + dropped, 20);
    assert.ok(pending >= 0 && pending <= 5);
    gate.resolve();
    await bus.stop();
    const after = bus.metrics().metering!;
    assert.equal(after.flushed, after.queued);
    assert.equal(after.pending, 0);
  });

  it('a failing sink (throwing or rejecting) is counted; sends are unaffected and stop() still resolves', async () => {
    for (const mode of ['throw', 'reject'] as const) {
      const sink: MeteringSink = {
        write: () => {
          if (mode === 'throw') throw new Error('sink down');
          return Promise.reject(new Error('sink down'));
        },
      };
      const bus = new AgentBus({ ...CORE_ONLY,  metering: { sink, batchSize: 4 } });
      await bus.start();
      await register(bus, 'a', 'b');
      for (let i = 0; i < 10; i++) assertDelivered(await bus.send(msg('a', 'b')));
      await bus.stop();
      const stats = bus.metrics().metering!;
      assert.equal(stats.sinkErrors, 3, mode);
      assert.equal(stats.dropped, 10, mode);
      assert.equal(stats.flushed, 0, mode);
      assert.equal(stats.pending, 0, mode);
    }
  });

  it('bus.usage() aggregates per tenant and hour with the built-in sink', async (t) => {
    const clock = manualClock(Date.UTC(2026, 0, 7, 10, 15));
    const bus = await makeBus(t, { metering: {}, clock: clock.now });
    await register(bus, 'a', 'b', 'c', { agentId: 'g1', tenantId: 'globex' }, { agentId: 'g2', tenantId: 'globex' });
    await bus.send(msg('a', 'b'));
    await bus.broadcast(msg('a', undefined));
    await bus.send(msg('a', 'b', { content: { t: 'jailbreak' } }));
    clock.advance(60 * 60_000);
    await bus.send(msg('a', 'b'));
    await bus.send(msg('g1', 'g2', { tenantId: 'globex' }));
    await bus.flushMetering();
    const acme = bus.usage('acme');
    assert.equal(acme.length, 2);
    assert.deepEqual({ ...acme[0], bytes: 0 }, { tenantId: 'acme', hour: '2026-01-07T10:00:00.000Z', messages: 3, delivered: 2, held: 0, rejected: 1, recipients: 3, bytes: 0 });
    assert.ok(acme[0]!.bytes > 0);
    assert.equal(acme[1]!.hour, '2026-01-07T11:00:00.000Z');
    assert.equal(acme[1]!.messages, 1);
    assert.deepEqual(bus.usage('globex').map((u) => [u.hour, u.messages]), [['2026-01-07T11:00:00.000Z', 1]]);
    assert.equal(bus.usage().length, 3);
    assert.deepEqual(bus.usage('nobody'), []);
  });

  it('metering: false disables it', async (t) => {
    const bus = await makeBus(t, { metering: false });
    await register(bus, 'a', 'b');
    await bus.send(msg('a', 'b'));
    await bus.flushMetering();
    assert.equal(bus.metrics().metering, undefined);
    assert.deepEqual(bus.usage(), []);
  });

  it('a custom sink leaves usage() empty', async (t) => {
    const bus = await makeBus(t, { metering: { sink: memorySink() } });
    await register(bus, 'a', 'b');
    await bus.send(msg('a', 'b'));
    await bus.flushMetering();
    assert.deepEqual(bus.usage(), []);
  });
});

describe('metrics', () => {
  it('counts outcomes by code and per tenant', async (t) => {
    const bus = await makeBus(t, { inboxCapacity: 1 });
    await register(bus, 'a', 'b', 'c', { agentId: 'g', tenantId: 'globex' }, { agentId: 'h', tenantId: 'globex' });
    await bus.send(msg('a', 'b'));
    await bus.send(msg('a', 'b')); // BACKPRESSURE
    await bus.send(msg('a', 'nobody'));
    await bus.send(msg('a', 'g'));
    await bus.send(msg('a', 'c', { content: { t: '<iframe>' } }));
    await bus.send(msg('a', 'c', { constitutionalHash: 'x' }));
    await bus.send({ bogus: true, constitutionalHash: 'cdd01ef066bc6cf2' } as never);
    await bus.send(msg('g', 'h', { tenantId: 'globex' }));
    const m = bus.metrics();
    assert.equal(m.sent, 8);
    assert.equal(m.delivered, 2);
    assert.equal(m.rejected, 6);
    assert.deepEqual(m.byCode, {
      BACKPRESSURE: 1, UNKNOWN_RECIPIENT: 1, TENANT_MISMATCH: 1, CONTENT_BLOCKED: 1, CONSTITUTIONAL_HASH_MISMATCH: 1, INVALID_MESSAGE: 1,
    });
    assert.deepEqual(m.tenants.acme, { sent: 5, delivered: 1, held: 0, rejected: 4 });
    assert.deepEqual(m.tenants.globex, { sent: 1, delivered: 1, held: 0, rejected: 0 });
    assert.equal(m.constitutionalHash, 'cdd01ef066bc6cf2');
    assert.equal(m.agents, 5);
  });

  it('recipientDeliveries counts each recipient of a broadcast', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', 'c', 'd');
    await bus.broadcast(msg('a', undefined));
    await bus.send(msg('a', 'b'));
    const m = bus.metrics();
    assert.equal(m.delivered, 2);
    assert.equal(m.recipientDeliveries, 4);
  });

  it('per-stage latency percentiles are present for every stage with timingSampleEvery: 1', async (t) => {
    const bus = await makeBus(t, { timingSampleEvery: 1, stages: [{ name: 'extra', evaluate: async () => ({ kind: 'proceed' }) }] });
    await register(bus, 'a', 'b');
    for (let i = 0; i < 20; i++) await bus.send(msg('a', 'b'));
    const m = bus.metrics();
    assert.deepEqual(Object.keys(m.stages), ['pin', 'schema', 'freshness', 'tenant', 'screen', 'extra']);
    for (const [name, p] of Object.entries(m.stages)) {
      assert.equal(p.count, 20, name);
      for (const k of ['p50', 'p90', 'p99', 'p999', 'max'] as const) assert.ok(Number.isFinite(p[k]) && p[k] > 0, `${name}.${k} = ${p[k]}`);
      // HDR reports the top of a value's bucket (2 significant digits): p99 may exceed max by ~1%.
      assert.ok(p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.max * 1.01 + 0.001, `${name}: ${JSON.stringify(p)}`);
    }
    assert.equal(m.sendLatency.count, 20);
    assert.ok(m.sendLatency.p50 > 0);
  });

  it('timing is sampled: with the default 1 in 16, 32 sends record 2 timings per stage', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    for (let i = 0; i < 32; i++) await bus.send(msg('a', 'b'));
    assert.equal(bus.metrics().stages.tenant!.count, 2);
  });

  it('metrics() is a snapshot: later sends do not change an earlier result', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const before = bus.metrics();
    await bus.send(msg('a', 'b'));
    assert.equal(before.sent, 0);
    assert.equal(before.tenants.acme, undefined);
    assert.equal(bus.metrics().sent, 1);
  });

  it('reports registry, delivery and duplicate-window state', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    await bus.send(msg('a', 'b', { messageId: 'x1' }));
    const m = bus.metrics();
    assert.equal(m.registry.agents, 2);
    assert.equal(m.delivery.queued, 1);
    assert.equal(m.delivery.mailboxes, 1);
    assert.equal(m.duplicateWindow.size, 1);
    assert.equal(m.delivery.pendingReplies, 0);
  });
});
