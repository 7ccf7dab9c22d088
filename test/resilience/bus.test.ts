import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { AgentBus, type AgentBusOptions, type AgentMessage, type DecisionRecord, type GovernanceStage } from '../../src/index.js';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import { PROCEED } from '../../src/governance/verdict.js';
import { Resilience } from '../../src/resilience/index.js';

const HASH = CONSTITUTIONAL_HASH;

async function makeBus(t: TestContext, options: AgentBusOptions = {}): Promise<{ bus: AgentBus; records: DecisionRecord[] }> {
  const records: DecisionRecord[] = [];
  const bus = new AgentBus({ policy: false, impact: false, metering: false, deliberation: false, journal: { append: (r) => (records.push(r), true) }, ...options });
  await bus.start();
  t.after(() => bus.stop());
  for (const agentId of ['alice', 'bob', 'carol']) await bus.registerAgent({ agentId, tenantId: 'acme' });
  await bus.registerAgent({ agentId: 'zed', tenantId: 'other' });
  await bus.registerAgent({ agentId: 'zoe', tenantId: 'other' });
  return { bus, records };
}

const msg = (to: string, extra: Record<string, unknown> = {}) => ({ fromAgent: 'alice', toAgent: to, tenantId: 'acme', constitutionalHash: HASH, content: { text: 'hi' }, ...extra });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(5);
  assert.ok(cond(), 'condition not reached in time');
}

describe('per-subscriber breaker', () => {
  it('pauses a handler that fails failMax times in a row, keeps its messages (bounded), retries one after the reset, resumes on success', async (t) => {
    const { bus } = await makeBus(t, { inboxCapacity: 5, resilience: { subscriberBreaker: { failMax: 3, resetMs: 150 } } });
    let failing = true;
    const handled: number[] = [];
    bus.subscribe('bob', (m: AgentMessage) => {
      handled.push((m.content as { i: number }).i);
      if (failing) throw new Error('handler bug');
    });
    for (let i = 0; i < 3; i++) assert.equal((await bus.send(msg('bob', { content: { i } }))).ok, true);
    assert.deepEqual(handled, [0, 1, 2]);
    assert.equal(bus.metrics().delivery.pausedSubscribers, 1);
    assert.equal(bus.health().status, 'HEALTHY', 'a user handler does not make the bus unhealthy');
    for (let i = 3; i < 8; i++) assert.equal((await bus.send(msg('bob', { content: { i } }))).ok, true);
    assert.deepEqual(handled, [0, 1, 2], 'paused: nothing handed to the handler');
    assert.equal(bus.pending('bob'), 5);
    const full = await bus.send(msg('bob', { content: { i: 99 } }));
    assert.equal(full.code, 'BACKPRESSURE', 'still bounded');
    failing = false;
    await until(() => handled.length === 8);
    assert.deepEqual(handled, [0, 1, 2, 3, 4, 5, 6, 7], 'one trial, then the rest in order');
    assert.equal(bus.metrics().delivery.pausedSubscribers, 0);
    assert.equal(bus.pending('bob'), 0);
  });

  it('a failed trial pauses it again', async (t) => {
    const { bus } = await makeBus(t, { resilience: { subscriberBreaker: { failMax: 1, resetMs: 60 } } });
    const handled: number[] = [];
    bus.subscribe('bob', (m: AgentMessage) => {
      handled.push((m.content as { i: number }).i);
      throw new Error('still broken');
    });
    await bus.send(msg('bob', { content: { i: 0 } }));
    await bus.send(msg('bob', { content: { i: 1 } }));
    await bus.send(msg('bob', { content: { i: 2 } }));
    await until(() => handled.length === 2);
    await sleep(20);
    assert.deepEqual(handled, [0, 1], 'the trial failed: paused again');
    await until(() => handled.length === 3);
  });
});

describe('governance dependencies fail closed', () => {
  it('policy: chaos errors refuse with POLICY_UNAVAILABLE, the breaker then short-circuits, service resumes after the reset', async (t) => {
    const { bus, records } = await makeBus(t, { policy: {}, chaos: { enabled: true }, resilience: { breakers: { dependencies: { policy: { failMax: 3, resetMs: 100 } } } } });
    assert.equal((await bus.send(msg('bob'))).ok, true);
    await bus.resilience!.chaos.injectErrors('policy', 1, 5000);
    const refused = [];
    for (let i = 0; i < 6; i++) refused.push(await bus.send(msg('bob')));
    assert.ok(refused.every((r) => r.code === 'POLICY_UNAVAILABLE'), JSON.stringify(refused.map((r) => r.code)));
    assert.equal(bus.resilience!.breakers.get('policy')!.state, 'open');
    assert.equal(bus.health().status, 'DEGRADED', 'policy open, journal closed: score 0.5');
    await bus.resilience!.chaos.deactivateAll();
    assert.equal((await bus.send(msg('bob'))).code, 'POLICY_UNAVAILABLE', 'still open until the reset');
    await sleep(120);
    assert.equal((await bus.send(msg('bob'))).ok, true, 'the trial passes and closes the breaker');
    assert.equal(bus.resilience!.breakers.get('policy')!.state, 'closed');
    assert.equal(records.filter((r) => r.code === 'POLICY_UNAVAILABLE').length, 7, 'every refusal journaled');
  });

  it('journal: a sink that keeps throwing opens its breaker and new messages are refused with BACKPRESSURE', async (t) => {
    let broken = false;
    const { bus } = await makeBus(t, {
      journal: {
        append: () => {
          if (broken) throw new Error('disk full');
          return true;
        },
      },
      resilience: { breakers: { dependencies: { journal: { failMax: 2, resetMs: 60_000 } } } },
    });
    assert.equal((await bus.send(msg('bob'))).ok, true);
    broken = true;
    await bus.send(msg('bob'));
    await bus.send(msg('bob'));
    const r = await bus.send(msg('bob'));
    assert.equal(r.code, 'BACKPRESSURE');
    const snap = bus.resilience!.breakers.get('journal')!.snapshot();
    assert.equal(snap.state, 'open');
    assert.match(snap.lastFailure!, /disk full/);
  });
});

describe('load shedding', () => {
  it('inbox watermarks keep room for higher priorities; every shed message is BACKPRESSURE and journaled', async (t) => {
    const { bus, records } = await makeBus(t, { inboxCapacity: 8, resilience: { shedding: { inboxWatermarks: [0.5, 0.75, 0.875] } } });
    const codes: Record<string, Array<string | undefined>> = {};
    for (const [name, priority] of [['LOW', 0], ['NORMAL', 1], ['HIGH', 2], ['CRITICAL', 3]] as const) {
      codes[name] = [];
      for (let i = 0; i < 9; i++) codes[name]!.push((await bus.send(msg('carol', { priority }))).code);
    }
    const accepted = (p: string) => codes[p]!.filter((c) => c === undefined).length;
    assert.deepEqual([accepted('LOW'), accepted('NORMAL'), accepted('HIGH'), accepted('CRITICAL')], [4, 2, 1, 1]);
    assert.equal(bus.pending('carol'), 8);
    const shed = records.filter((r) => r.type === 'message.rejected' && (r.details as { shed?: unknown } | undefined)?.shed !== undefined);
    assert.equal(shed.length, 5 + 7 + 8, 'LOW, NORMAL, HIGH refusals below capacity are shed and journaled');
    assert.equal(bus.resilience!.shedder!.stats().byRule.inbox_watermark, 20);
  });

  it('under event-loop lag sheds by priority and fair share, never CRITICAL, never silently', async (t) => {
    let lag = 0;
    const { bus, records } = await makeBus(t, { resilience: { shedding: { lagThresholdMs: 10, lagSource: () => lag } } });
    const shedder = bus.resilience!.shedder!;
    lag = 1000;
    for (let i = 0; i < 10; i++) shedder.sample();
    assert.equal(shedder.level, 3);
    const results = await Promise.all([0, 1, 2, 3].map((priority) => bus.send(msg('bob', { priority }))));
    assert.deepEqual(results.map((r) => r.code), ['BACKPRESSURE', 'BACKPRESSURE', 'BACKPRESSURE', undefined]);
    assert.match(results[0]!.reason!, /shed under load/);
    assert.equal(records.filter((r) => r.code === 'BACKPRESSURE').length, 3);
    lag = 0;
    shedder.stop();
    shedder.level = 0;
    assert.equal((await bus.send(msg('bob', { priority: 0 }))).ok, true);
  });

  it('per-tenant bulkhead: a tenant at its cap of messages in async stages is shed, another tenant is not', async (t) => {
    const gate: Array<() => void> = [];
    const slow: GovernanceStage = { name: 'slow', evaluate: () => new Promise((resolve) => gate.push(() => resolve(PROCEED))) };
    const { bus } = await makeBus(t, { stages: [slow], resilience: { shedding: { tenantAsyncInFlight: 2 } } });
    const a1 = bus.send(msg('bob'));
    const a2 = bus.send(msg('bob'));
    const a3 = await bus.send(msg('bob'));
    assert.equal(a3.code, 'BACKPRESSURE');
    assert.match(a3.reason!, /bulkhead/);
    const b1 = bus.send({ fromAgent: 'zed', toAgent: 'zoe', tenantId: 'other', constitutionalHash: HASH, content: {} });
    const crit = bus.send(msg('bob', { priority: 3 }));
    await until(() => gate.length === 4);
    for (const open of gate) open();
    assert.equal((await a1).ok, true);
    assert.equal((await a2).ok, true);
    assert.equal((await b1).ok, true, 'the other tenant was admitted');
    assert.equal((await crit).ok, true, 'CRITICAL is never shed');
  });
});

describe('chaos through the bus', () => {
  it('is refused unless the bus enables it', async (t) => {
    const { bus } = await makeBus(t);
    await assert.rejects(bus.resilience!.chaos.injectErrors('policy', 1, 1000), /not enabled/);
  });

  it('a hanging handler times out; other agents are unaffected; cleanup on stop', async (t) => {
    const { bus } = await makeBus(t, { handlerTimeoutMs: 100, chaos: { enabled: true } });
    const got: string[] = [];
    bus.subscribe('bob', (m: AgentMessage) => void got.push(`bob:${m.messageId}`));
    bus.subscribe('carol', (m: AgentMessage) => void got.push(`carol:${m.messageId}`));
    await bus.resilience!.chaos.hangHandler('bob', 10_000);
    // The bus's timeout sweep is unref'd; this keeps the test process alive while the hang times out.
    const keepAlive = setInterval(() => undefined, 1000);
    t.after(() => clearInterval(keepAlive));
    const hung = await bus.send(msg('bob'), { awaitDelivery: true });
    assert.equal(hung.failures?.[0]?.code, 'TIMEOUT');
    const ok = await bus.send(msg('carol'), { awaitDelivery: true });
    assert.equal(ok.ok, true);
    assert.deepEqual(got, [`carol:${ok.messageId}`]);
  });

  it('a shared Resilience wraps outside dependencies before the bus is built, and bus.health() reports them', async (t) => {
    const resilience = new Resilience({ chaos: { enabled: true } });
    let ready = true;
    const tier = resilience.redisTier({ isReady: true, get: async () => null, set: async () => 'OK' }, { failMax: 1, healthCheck: () => ready });
    const { bus } = await makeBus(t, { resilience });
    assert.equal(bus.resilience, resilience);
    assert.equal(await tier.get('k'), null);
    await resilience.chaos.injectErrors('redis-cache', 1, 1000);
    await assert.rejects(tier.get('k'), /chaos/);
    assert.equal(tier.isReady, false, 'open: the cache skips Redis');
    const report = bus.health() as ReturnType<Resilience['report']>;
    assert.deepEqual(report.criticalServices, ['redis-cache']);
    assert.equal(report.recovery.services[0]?.service, 'redis-cache', 'a recovery was scheduled');
    ready = false;
    await resilience.chaos.deactivateAll();
    await resilience.recovery.execute('redis-cache');
    assert.equal(resilience.breakers.get('redis-cache')!.state, 'open', 'health check failed: not recovered');
    ready = true;
    await resilience.recovery.execute('redis-cache');
    assert.equal(resilience.breakers.get('redis-cache')!.state, 'closed');
  });
});

describe('critical reserve', () => {
  it('a CRITICAL message gets a reserved handler slot and does not wait for lower-priority work in flight', async (t) => {
    const { bus } = await makeBus(t);
    const started: number[] = [];
    const release: Array<() => void> = [];
    bus.subscribe(
      'bob',
      (m: AgentMessage) =>
        new Promise<void>((resolve) => {
          started.push(m.priority);
          release.push(resolve);
        }),
      { concurrency: 1, criticalReserve: 1 },
    );
    await bus.send(msg('bob', { priority: 0 }));
    await bus.send(msg('bob', { priority: 2 }));
    await bus.send(msg('bob', { priority: 3 }));
    assert.deepEqual(started, [0, 3], 'the CRITICAL one started beside the LOW one; HIGH waits');
    release.shift()!();
    await until(() => started.length === 3);
    assert.deepEqual(started, [0, 3, 2]);
    for (const r of release) r();
  });
});
