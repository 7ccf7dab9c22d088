import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusError, ErrorCode } from '../../src/errors.js';
import { BreakerRegistry, ChaosEngine, ChaosError, ChaosKind, DependencyClass, LoadShedder, MAX_CHAOS_DURATION_MS, chaosAllowed } from '../../src/resilience/index.js';

describe('chaos engine safety', () => {
  it('is refused unless enabled, and under NODE_ENV=production unless allowInProduction', async () => {
    assert.equal(chaosAllowed(undefined).ok, false);
    assert.equal(chaosAllowed({ enabled: true }, 'production').ok, false);
    assert.equal(chaosAllowed({ enabled: true, allowInProduction: true }, 'production').ok, true);
    assert.equal(chaosAllowed({ enabled: true }, 'test').ok, true);
    const off = new ChaosEngine(undefined, undefined);
    await assert.rejects(off.injectErrors('policy', 1, 1000), (e: unknown) => e instanceof BusError && e.code === ErrorCode.CHAOS_DISABLED);
    const saved = process.env['NODE_ENV'];
    process.env['NODE_ENV'] = 'production';
    try {
      const prod = new ChaosEngine({ enabled: true }, undefined);
      await assert.rejects(prod.injectErrors('policy', 1, 1000), /production/);
    } finally {
      if (saved === undefined) delete process.env['NODE_ENV'];
      else process.env['NODE_ENV'] = saved;
    }
  });

  it('limits the blast radius to named targets, caps the duration at 300 s and validates scenarios', async () => {
    const chaos = new ChaosEngine({ enabled: true }, undefined);
    const s = await chaos.inject({ kind: ChaosKind.ERROR, target: 'redis-cache', durationMs: 10 * 60_000, blastRadius: ['deliberation-store'] });
    assert.equal(s.capped, true);
    assert.equal(s.endsAt - s.startedAt, MAX_CHAOS_DURATION_MS);
    assert.deepEqual(s.blastRadius, ['redis-cache', 'deliberation-store']);
    assert.ok(chaos.errorFor('redis-cache') instanceof ChaosError);
    assert.ok(chaos.errorFor('deliberation-store') instanceof ChaosError);
    assert.equal(chaos.errorFor('policy'), undefined, 'outside the blast radius');
    assert.equal(chaos.latencyFor('redis-cache'), 0);
    await assert.rejects(chaos.inject({ kind: ChaosKind.ERROR, target: 'redis-cache', durationMs: 10 }), /already active/);
    await assert.rejects(chaos.inject({ kind: ChaosKind.ERROR, target: 'x', durationMs: 10, errorRate: 2 }), /errorRate/);
    await assert.rejects(chaos.inject({ kind: ChaosKind.LATENCY, target: 'x', durationMs: 10 }), /delayMs/);
    await assert.rejects(chaos.inject({ kind: 'meteor' as never, target: 'x', durationMs: 10 }), /kind/);
    await assert.rejects(chaos.inject({ kind: ChaosKind.ERROR, target: 'x', durationMs: -1 }), /durationMs/);
    assert.equal(await chaos.deactivateAll(), 1);
    assert.equal(chaos.armed, false);
  });

  it('error rate draws against the configured random source', async () => {
    let r = 0;
    const draws = [0.1, 0.9, 0.2, 0.8];
    const chaos = new ChaosEngine({ enabled: true, random: () => draws[r++ % draws.length]! }, undefined);
    await chaos.injectErrors('journal', 0.5, 1000);
    const outcomes = [0, 1, 2, 3].map(() => chaos.errorFor('journal') !== undefined);
    assert.deepEqual(outcomes, [true, false, true, false]);
    await chaos.deactivateAll();
  });

  it('ends scenarios by itself, restores forced breakers, and emergency stop blocks new ones until reset', async () => {
    const registry = new BreakerRegistry();
    const b = registry.breaker('journal', DependencyClass.GOVERNANCE);
    const chaos = new ChaosEngine({ enabled: true }, registry);
    await chaos.forceOpen('journal', 40);
    assert.equal(b.state, 'open');
    await assert.rejects(chaos.forceOpen('nope', 40), /no breaker/);
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(b.state, 'closed', 'closed again when the scenario ended');
    assert.equal(chaos.armed, false);

    const events: string[] = [];
    chaos.registerOutage('redis', { stop: async () => void events.push('stop'), start: async () => void events.push('start') });
    await chaos.outage('redis', 60_000);
    await chaos.hangHandler('worker', 60_000);
    assert.equal(chaos.hangs('handler:worker'), true);
    assert.equal(chaos.hangs('handler:other'), false);
    assert.equal(await chaos.emergencyStop(), 2);
    assert.deepEqual(events, ['stop', 'start']);
    assert.equal(chaos.hangs('handler:worker'), false);
    await assert.rejects(chaos.injectErrors('policy', 1, 10), (e: unknown) => e instanceof BusError && e.code === ErrorCode.CHAOS_STOPPED);
    chaos.reset();
    await chaos.injectErrors('policy', 1, 10);
    await chaos.deactivateAll();
    const stats = chaos.stats();
    assert.equal(stats.breakersForced, 1);
    assert.equal(stats.outages, 1);
  });
});

describe('load shedder', () => {
  it('maps smoothed lag to levels and sheds lowest priority first, never CRITICAL', () => {
    let lag = 0;
    const shedder = new LoadShedder({ lagThresholdMs: 10, lagSource: () => lag });
    shedder.sample();
    assert.equal(shedder.level, 0);
    lag = 1000;
    for (let i = 0; i < 10; i++) shedder.sample();
    assert.equal(shedder.level, 3);
    assert.equal(shedder.admit(3, 'a'), undefined, 'CRITICAL always admitted');
    assert.equal(shedder.admit(0, 'a')?.rule, 'overload');
    assert.equal(shedder.admit(1, 'a')?.rule, 'overload');
    lag = 0;
    for (let i = 0; i < 60 && shedder.level > 0; i++) shedder.sample();
    assert.equal(shedder.level, 0, 'recovers once the lag is gone');
    const stats = shedder.stats();
    assert.deepEqual(stats.byPriority, [1, 1, 0, 0]);
  });

  it('a single long pause (one drifting sample) sheds nothing; sustained drift does', () => {
    let lag = 0;
    const shedder = new LoadShedder({ lagThresholdMs: 10, lagSource: () => lag });
    lag = 5_000;
    shedder.sample();
    lag = 0;
    shedder.sample();
    assert.equal(shedder.level, 0);
    assert.ok(shedder.stats().maxLagMs >= 1_000, 'the pause is still reported');
    lag = 25;
    shedder.sample();
    shedder.sample();
    assert.ok(shedder.level >= 1, `level ${shedder.level}`);
  });

  it('at the marginal priority sheds only tenants above their fair share of the window', () => {
    let lag = 0;
    const shedder = new LoadShedder({ lagThresholdMs: 10, lagSource: () => lag });
    lag = 15 / 0.51; // two samples: smoothed lag 0.3·0.7·L + 0.3·L = 15 → level 1 (LOW is marginal)
    shedder.sample();
    assert.equal(shedder.level, 0, 'one drifting sample is a pause, not an overload');
    shedder.sample();
    assert.equal(shedder.level, 1);
    for (let i = 0; i < 10; i++) assert.equal(shedder.admit(2, 'flood'), undefined);
    assert.equal(shedder.admit(2, 'quiet'), undefined);
    assert.equal(shedder.admit(0, 'flood')?.rule, 'fair_share', 'the flooding tenant loses its LOW messages');
    assert.equal(shedder.admit(0, 'quiet'), undefined, 'the quiet tenant keeps them');
  });

  it('counts per-tenant async in-flight messages for the bulkhead', () => {
    const shedder = new LoadShedder({ tenantAsyncInFlight: 2 });
    shedder.enterAsync('a');
    shedder.enterAsync('a');
    shedder.enterAsync('b');
    assert.equal(shedder.overTenantCap('a'), true);
    assert.equal(shedder.overTenantCap('b'), false);
    shedder.leaveAsync('a');
    assert.equal(shedder.overTenantCap('a'), false);
    assert.equal(shedder.asyncInFlight, 2);
    assert.throws(() => new LoadShedder({ inboxWatermarks: [0.9, 0.5, 1] as never }), /inboxWatermarks/);
  });
});
