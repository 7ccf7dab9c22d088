import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusError } from '../../src/errors.js';
import {
  BreakerRegistry,
  DependencyClass,
  HealthAggregator,
  HealthStatus,
  RecoveryOrchestrator,
  RecoveryState,
  RecoveryStrategy,
  recoveryDelayMs,
  healthStatusOf as statusOf,
  validateRecoveryPolicy,
} from '../../src/resilience/index.js';

const tick = () => new Promise((r) => setImmediate(r));

describe('health aggregator', () => {
  it('scores closed 1, half-open 0.5, open 0 with the 0.7 / 0.5 thresholds', () => {
    const t = { now: 0 };
    const registry = new BreakerRegistry({ clock: () => t.now });
    const health = new HealthAggregator(registry, {}, () => t.now);
    assert.equal(health.current().score, 1, 'no breakers: 1.0');
    const names = ['a', 'b', 'c', 'd'];
    const bs = names.map((n) => registry.breaker(n, DependencyClass.GOVERNANCE, { failMax: 1, resetMs: 100 }));
    assert.equal(health.current().status, HealthStatus.HEALTHY);
    bs[0]!.failure();
    assert.deepEqual([health.current().score, health.current().status], [0.75, HealthStatus.HEALTHY]);
    bs[1]!.failure();
    assert.deepEqual([health.current().score, health.current().status], [0.5, HealthStatus.DEGRADED]);
    bs[2]!.failure();
    assert.deepEqual([health.current().score, health.current().status], [0.25, HealthStatus.CRITICAL]);
    t.now += 100;
    const snap = health.current();
    assert.equal(snap.score, 0.625, 'three half-open: (1 + 1.5) / 4');
    assert.deepEqual(snap.degradedServices, ['a', 'b', 'c']);
    assert.equal(statusOf(0.7, 0.7, 0.5), HealthStatus.HEALTHY);
    assert.equal(statusOf(0.69, 0.7, 0.5), HealthStatus.DEGRADED);
    assert.equal(statusOf(0.49, 0.7, 0.5), HealthStatus.CRITICAL);
    registry.adopt({ name: 'opa', dependencyClass: DependencyClass.GOVERNANCE, state: () => 'open' });
    assert.deepEqual(health.current().criticalServices, ['opa']);
  });

  it('keeps a bounded history and fires change listeners in their own tasks, isolated from errors', async () => {
    const registry = new BreakerRegistry();
    const health = new HealthAggregator(registry, { historySize: 3 });
    const b = registry.breaker('x', DependencyClass.GOVERNANCE, { failMax: 1 });
    const seen: string[] = [];
    health.onChange(() => {
      throw new Error('listener bug');
    });
    health.onChange(async () => Promise.reject(new Error('async listener bug')));
    health.onChange((now, before) => void seen.push(`${before?.status ?? '-'}>${now.status}`));
    health.snapshot();
    assert.deepEqual(seen, [], 'listeners never run inside snapshot()');
    await tick();
    assert.deepEqual(seen, ['->HEALTHY']);
    health.snapshot();
    b.failure();
    health.snapshot();
    health.snapshot();
    await tick();
    await tick();
    assert.deepEqual(seen, ['->HEALTHY', 'HEALTHY>CRITICAL']);
    assert.equal(health.history().length, 3);
    assert.deepEqual(health.history().map((s) => s.status), ['HEALTHY', 'CRITICAL', 'CRITICAL']);
    const stats = health.stats();
    assert.equal(stats.snapshots, 4);
    assert.equal(stats.callbacksFired, 6);
    assert.equal(stats.callbackErrors, 4);
  });

  it('snapshots on breaker state change once started (coalesced per tick), and stops cleanly', async () => {
    const registry = new BreakerRegistry();
    const health = new HealthAggregator(registry, { intervalMs: 60_000 });
    const b = registry.breaker('x', DependencyClass.GOVERNANCE, { failMax: 1 });
    health.start();
    assert.equal(health.stats().snapshots, 1);
    b.failure();
    b.reset();
    b.failure();
    await tick();
    assert.equal(health.stats().snapshots, 2);
    assert.equal(health.latest().status, HealthStatus.CRITICAL);
    health.stop();
    assert.equal(health.running, false);
  });
});

describe('recovery orchestrator', () => {
  it('computes the original formulas and validates policies', () => {
    const p = validateRecoveryPolicy({ initialDelayMs: 100, maxDelayMs: 1000, backoffMultiplier: 3 });
    assert.deepEqual([1, 2, 3, 4].map((n) => recoveryDelayMs(RecoveryStrategy.EXPONENTIAL_BACKOFF, n, p)), [100, 300, 900, 1000]);
    assert.deepEqual([1, 2, 3, 20].map((n) => recoveryDelayMs(RecoveryStrategy.LINEAR_BACKOFF, n, p)), [100, 200, 300, 1000]);
    assert.equal(recoveryDelayMs(RecoveryStrategy.IMMEDIATE, 3, p), 0);
    assert.equal(recoveryDelayMs(RecoveryStrategy.MANUAL, 1, p), 1_000_000);
    assert.throws(() => validateRecoveryPolicy({ maxRetryAttempts: 0 }), BusError);
    assert.throws(() => validateRecoveryPolicy({ backoffMultiplier: 0.5 }), BusError);
    assert.throws(() => validateRecoveryPolicy({ initialDelayMs: -1 }), BusError);
    assert.throws(() => validateRecoveryPolicy({ initialDelayMs: 10, maxDelayMs: 5 }), BusError);
  });

  it('closes the breaker only when the health check passes; retries with backoff; fails after max attempts', async () => {
    const registry = new BreakerRegistry();
    const b = registry.breaker('redis-cache', DependencyClass.OBSERVABILITY, { failMax: 1, resetMs: 60_000 });
    const recovery = new RecoveryOrchestrator(registry, { policy: { initialDelayMs: 5, maxDelayMs: 20, maxRetryAttempts: 3 } });
    assert.throws(() => recovery.schedule('redis-cache'), /no health check/);
    let healthy = false;
    let checks = 0;
    recovery.registerHealthCheck('redis-cache', () => {
      checks++;
      return healthy;
    });
    recovery.start();
    b.failure();
    assert.equal(recovery.status().services[0]?.state, RecoveryState.SCHEDULED, 'auto-scheduled when the breaker opened');
    await new Promise((r) => setTimeout(r, 30));
    assert.ok(checks >= 1);
    assert.equal(b.state, 'open', 'a failing check leaves it open');
    healthy = true;
    const end = Date.now() + 2000;
    while (recovery.status().active > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.equal(b.state, 'closed');
    assert.equal(recovery.history().at(-1)?.state, RecoveryState.SUCCEEDED);

    healthy = false;
    recovery.schedule('redis-cache', RecoveryStrategy.IMMEDIATE);
    const end2 = Date.now() + 2000;
    while (recovery.status().active > 0 && Date.now() < end2) await new Promise((r) => setTimeout(r, 5));
    assert.equal(recovery.history().at(-1)?.state, RecoveryState.FAILED);
    assert.equal(recovery.history().at(-1)?.attempts, 3);
    recovery.stop();
  });

  it('manual recoveries wait for an operator and stay listed until a check passes', async () => {
    const registry = new BreakerRegistry();
    const b = registry.breaker('deliberation-store', DependencyClass.GOVERNANCE, { failMax: 1 });
    const recovery = new RecoveryOrchestrator(registry, { autoRecover: false });
    let healthy = false;
    recovery.registerHealthCheck('deliberation-store', async () => healthy);
    recovery.start();
    b.failure();
    assert.equal(recovery.status().active, 0, 'autoRecover off');
    recovery.schedule('deliberation-store', RecoveryStrategy.MANUAL, 0);
    assert.equal(recovery.awaitingManual().length, 1);
    const r1 = await recovery.approve('deliberation-store');
    assert.equal(r1.state, RecoveryState.AWAITING_MANUAL);
    assert.equal(recovery.awaitingManual()[0]?.attempts, 1);
    healthy = true;
    const r2 = await recovery.approve('deliberation-store');
    assert.equal(r2.state, RecoveryState.SUCCEEDED);
    assert.equal(b.state, 'closed');
    assert.equal(recovery.awaitingManual().length, 0);
    await assert.rejects(recovery.approve('deliberation-store'), /no recovery/);
    recovery.schedule('deliberation-store', RecoveryStrategy.MANUAL);
    assert.equal(recovery.cancel('deliberation-store'), true);
    assert.equal(recovery.history().at(-1)?.state, RecoveryState.CANCELLED);
    recovery.stop();
  });
});
