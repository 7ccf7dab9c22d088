import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BreakerRegistry, BreakerState, DependencyClass } from '../../src/resilience/index.js';
import { BusError } from '../../src/errors.js';

function clocked() {
  const t = { now: 1_000_000 };
  const registry = new BreakerRegistry({ clock: () => t.now });
  return { t, registry };
}

describe('breaker', () => {
  it('opens after failMax consecutive failures (default 5), a success in between resets the count', () => {
    const { registry } = clocked();
    const b = registry.breaker('redis-cache', DependencyClass.OBSERVABILITY);
    assert.equal(b.failMax, 5);
    assert.equal(b.resetMs, 30_000);
    for (let i = 0; i < 4; i++) b.failure(new Error('x'));
    b.success();
    for (let i = 0; i < 4; i++) b.failure(new Error('x'));
    assert.equal(b.state, BreakerState.CLOSED);
    b.failure(new Error('boom'));
    assert.equal(b.state, BreakerState.OPEN);
    assert.equal(b.allow(), false);
    assert.equal(b.snapshot().rejections, 1);
    assert.match(b.snapshot().lastFailure!, /boom/);
  });

  it('after resetMs one trial goes through (half-open); success closes, failure re-opens with a new deadline', () => {
    const { t, registry } = clocked();
    const b = registry.breaker('journal', DependencyClass.GOVERNANCE, { failMax: 2, resetMs: 1000 });
    const changes: string[] = [];
    registry.onStateChange((_b, from, to) => changes.push(`${from}>${to}`));
    b.failure();
    b.failure();
    assert.equal(b.state, BreakerState.OPEN);
    t.now += 999;
    assert.equal(b.allow(), false);
    t.now += 1;
    assert.equal(b.state, BreakerState.HALF_OPEN, 'reported half-open once a trial is due');
    assert.equal(b.allow(), true, 'the trial');
    assert.equal(b.allow(), false, 'only one trial at a time');
    b.failure();
    assert.equal(b.state, BreakerState.OPEN);
    assert.equal(b.retryAt, t.now + 1000);
    t.now += 1000;
    assert.equal(b.allow(), true);
    b.success();
    assert.equal(b.state, BreakerState.CLOSED);
    assert.deepEqual(changes, ['closed>open', 'open>half-open', 'half-open>open', 'open>half-open', 'half-open>closed']);
  });

  it('execute() wraps async calls and fails fast with one preallocated error while open', async () => {
    const { registry } = clocked();
    const b = registry.breaker('notify:slack', DependencyClass.DELIVERY, { failMax: 1, resetMs: 10_000 });
    assert.equal(await b.execute(async () => 7), 7);
    await assert.rejects(b.execute(async () => Promise.reject(new Error('down'))), /down/);
    let called = false;
    const e1 = await b.execute(async () => (called = true)).catch((e: unknown) => e);
    const e2 = await b.execute(async () => (called = true)).catch((e: unknown) => e);
    assert.equal(called, false);
    assert.equal(e1, b.openError);
    assert.equal(e2, b.openError);
  });

  it('forceOpen holds the breaker open until its deadline, reset closes it', () => {
    const { t, registry } = clocked();
    const b = registry.breaker('policy', DependencyClass.GOVERNANCE, { resetMs: 10 });
    b.forceOpen(t.now + 5000);
    t.now += 100;
    assert.equal(b.state, BreakerState.OPEN, 'forced: no trial after resetMs');
    assert.equal(b.allow(), false);
    b.reset();
    assert.equal(b.state, BreakerState.CLOSED);
    assert.equal(b.allow(), true);
  });

  it('per-dependency options override the defaults; bad options are refused', () => {
    const registry = new BreakerRegistry({ defaults: { failMax: 3 }, dependencies: { journal: { resetMs: 500 } } });
    assert.equal(registry.breaker('journal', DependencyClass.GOVERNANCE).resetMs, 500);
    assert.equal(registry.breaker('journal', DependencyClass.GOVERNANCE).failMax, 3);
    assert.throws(() => new BreakerRegistry({ defaults: { failMax: 0 } }), BusError);
    assert.throws(() => new BreakerRegistry({ dependencies: { x: { resetMs: -1 } } }), BusError);
  });

  it('subscriber breakers are bounded and kept out of the dependency states', () => {
    const registry = new BreakerRegistry({ maxSubscriberBreakers: 2 });
    assert.ok(registry.subscriber('a'));
    assert.ok(registry.subscriber('b'));
    assert.equal(registry.subscriber('c'), undefined);
    assert.equal(registry.subscriberOverflow, 1);
    assert.equal(registry.states().length, 0);
    registry.removeSubscriber('a');
    assert.ok(registry.subscriber('c'));
  });

  it('property: the state follows the consecutive-failure model for any call sequence', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.constantFrom('ok', 'fail', 'wait'), { maxLength: 60 }), (failMax, steps) => {
        const t = { now: 0 };
        const registry = new BreakerRegistry({ clock: () => t.now });
        const b = registry.breaker('x', DependencyClass.DELIVERY, { failMax, resetMs: 100 });
        let model = 'closed' as 'closed' | 'open' | 'trial';
        let run = 0;
        let retryAt = 0;
        for (const step of steps) {
          if (step === 'wait') {
            t.now += 60;
            continue;
          }
          const allowed = b.allow();
          const modelAllowed: boolean = model === 'closed' || (model === 'open' && t.now >= retryAt);
          assert.equal(allowed, modelAllowed);
          if (!allowed) continue;
          if (model === 'open') model = 'trial';
          if (step === 'ok') {
            b.success();
            model = 'closed';
            run = 0;
          } else {
            b.failure();
            run++;
            if (model === 'trial' || run >= failMax) {
              model = 'open';
              retryAt = t.now + 100;
              run = 0;
            }
          }
        }
      }),
    );
  });
});
