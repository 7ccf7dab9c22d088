import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DueHeap } from '../../src/deliberation/heap.js';
import { ItemStatus, ManualClock, MemoryDeliberationStore } from '../../src/deliberation/index.js';
import { harness, holdOne, settle, types } from './helpers.js';

describe('deadline heap', () => {
  it('property: pops in due order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1e9 }), { maxLength: 200 }), (dues) => {
        const heap = new DueHeap();
        dues.forEach((d, i) => heap.push(d, `i${i}`));
        const out: number[] = [];
        while (heap.size > 0) out.push(heap.pop()!.dueAt);
        assert.deepEqual(out, [...dues].sort((a, b) => a - b));
      }),
    );
  });
});

describe('deadlines', () => {
  it('expiry applies reject by default (fail-closed) and emits timed_out', async () => {
    const h = await harness();
    const id = await holdOne(h.service);
    h.clock.advance(299_999);
    assert.equal(h.service.get(id)!.status, ItemStatus.ESCALATED, 'escalated, still open');
    h.clock.advance(1);
    assert.equal(h.service.get(id)!.status, ItemStatus.TIMED_OUT);
    assert.deepEqual(h.refused.map((r) => [r.item.id, r.code]), [[id, 'DELIBERATION_TIMED_OUT']]);
    assert.equal(types(h.events, id).at(-1), 'timed_out');
    await settle();
    assert.equal(h.released.length, 0);
    await h.service.close();
  });

  it('a decision arriving after the deadline, before the timer fired, is refused and the item times out', async () => {
    const h = await harness();
    const id = await holdOne(h.service);
    h.clock.set(h.clock.now() + 400_000); // time jumps without running timers
    const r = h.service.approve(id, { reviewerId: 'alice', reason: 'late', roles: ['security_team'] });
    assert.equal(r.ok, false);
    assert.equal(h.service.get(id)!.status, ItemStatus.TIMED_OUT);
    await h.service.close();
  });

  it('onTimeout approve releases at the deadline (explicit opt-out, recorded as the outcome)', async () => {
    const h = await harness({ defaults: { onTimeout: 'approve', timeoutMs: 10_000 } });
    const id = await holdOne(h.service);
    h.clock.advance(10_000);
    await settle();
    assert.equal(h.service.get(id)!.status, ItemStatus.RELEASED);
    assert.equal(h.service.get(id)!.outcome?.reason, 'deadline_default_approve');
    assert.equal(h.released.length, 1);
    await h.service.close();
  });

  it('per-item timeout override is clamped to the configured bounds', async () => {
    const h = await harness({ defaults: { minTimeoutMs: 5_000, maxTimeoutMs: 60_000 } });
    const short = h.service.get(await holdOne(h.service, {}, { details: { timeoutMs: 10 } }))!;
    const long = h.service.get(await holdOne(h.service, {}, { details: { timeoutMs: 1e12 } }))!;
    assert.equal(short.deadlineAt - short.createdAt, 5_000);
    assert.equal(long.deadlineAt - long.createdAt, 60_000);
    await h.service.close();
  });

  it('one timer serves every deadline', async () => {
    const h = await harness({ policies: [{ id: 'plain', requiredRoles: [], minApprovers: 1 }] });
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      ids.push(await holdOne(h.service, {}, { details: { approvalPolicy: 'plain', timeoutMs: 10_000 + ((i * 7919) % 50) * 1000 } }));
      assert.ok(h.clock.pendingTimers <= 1);
    }
    assert.equal(h.clock.pendingTimers, 1);
    h.clock.advance(35_000);
    assert.equal(h.clock.pendingTimers, 1);
    const expected = ids.filter((id) => h.service.get(id)!.deadlineAt <= h.clock.now());
    assert.equal(h.service.stats().timedOut, expected.length);
    assert.ok(expected.every((id) => h.service.get(id)!.status === ItemStatus.TIMED_OUT));
    h.clock.advance(100_000);
    assert.equal(h.service.stats().timedOut, 50);
    assert.equal(h.clock.pendingTimers, 0, 'nothing left to wait for: no timer');
    await h.service.close();
  });

  it('a restart recomputes deadlines from stored absolute times; items that expired while down time out at start-up', async () => {
    const store = new MemoryDeliberationStore();
    const clock = new ManualClock();
    const first = await harness({}, { store, clock });
    const early = await holdOne(first.service, {}, { details: { timeoutMs: 60_000 } });
    const late = await holdOne(first.service, {}, { details: { timeoutMs: 600_000 } });
    await first.service.close();

    clock.set(clock.now() + 120_000); // down for two minutes
    const events: string[] = [];
    const refusedIds: string[] = [];
    const { DeliberationService } = await import('../../src/deliberation/index.js');
    const second = await DeliberationService.open({ store, clock, onEvent: (e) => events.push(`${e.type}:${e.itemId}`) });
    assert.equal(second.get(early)!.status, ItemStatus.TIMED_OUT);
    assert.ok(events.includes(`timed_out:${early}`));
    second.onRefuse((item) => refusedIds.push(item.id));
    assert.deepEqual(refusedIds, [early], 'refusals found at start-up are handed over once a handler is registered');
    assert.equal(second.stats().expiredAtStart, 1);
    assert.equal(second.get(late)!.status, ItemStatus.ESCALATED, 'escalation caught up on restart');
    assert.equal(clock.pendingTimers, 1);
    clock.advance(600_000 - 120_000 - 1);
    assert.notEqual(second.get(late)!.status, ItemStatus.TIMED_OUT);
    clock.advance(1);
    assert.equal(second.get(late)!.status, ItemStatus.TIMED_OUT);
    await second.close();
  });
});
