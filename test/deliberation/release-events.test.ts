import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliberationService, ItemStatus, ManualClock, MemoryDeliberationStore, type DeliberationEvent } from '../../src/deliberation/index.js';
import { holdOne, makeMessage, settle } from './helpers.js';

const policies = [{ id: 'one', requiredRoles: [], minApprovers: 1 }];

describe('release', () => {
  it('a failing release callback is retried with backoff until it succeeds, then never again', async () => {
    const clock = new ManualClock();
    const events: DeliberationEvent[] = [];
    const s = await DeliberationService.open({ store: new MemoryDeliberationStore(), clock, policies, onEvent: (e) => events.push(e), releaseRetryBaseMs: 1000 });
    let calls = 0;
    s.onRelease(() => {
      calls++;
      if (calls < 3) throw new Error('router busy');
    });
    const id = await holdOne(s, {}, { details: { approvalPolicy: 'one' } });
    assert.ok(s.approve(id, { reviewerId: 'alice', reason: 'ok' }).ok);
    await settle();
    assert.equal(calls, 1);
    assert.equal(s.get(id)!.status, ItemStatus.APPROVED);
    clock.advance(999);
    await settle();
    assert.equal(calls, 1, 'not before the backoff');
    clock.advance(1);
    await settle();
    assert.equal(calls, 2);
    clock.advance(2000); // second backoff doubles
    await settle();
    assert.equal(calls, 3);
    assert.equal(s.get(id)!.status, ItemStatus.RELEASED);
    clock.advance(3_600_000);
    await settle();
    assert.equal(calls, 3);
    assert.equal(events.filter((e) => e.type === 'release_failed').length, 2);
    assert.equal(s.stats().releaseFailures, 2);
    await s.close();
  });

  it('items approved before a release handler exists are released when it is registered, once', async () => {
    const s = await DeliberationService.open({ store: new MemoryDeliberationStore(), clock: new ManualClock(), policies });
    const id = await holdOne(s, {}, { details: { approvalPolicy: 'one' } });
    assert.ok(s.approve(id, { reviewerId: 'alice', reason: 'ok' }).ok);
    await settle();
    let calls = 0;
    const handler = async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
    };
    s.onRelease(handler);
    s.onRelease(handler); // registering again while the first release is in flight
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(calls, 1);
    assert.equal(s.get(id)!.status, ItemStatus.RELEASED);
    await s.close();
  });

  it('a store write failure refuses the decision and changes nothing', async () => {
    const store = new MemoryDeliberationStore();
    const s = await DeliberationService.open({ store, clock: new ManualClock(), policies });
    const id = await holdOne(s, {}, { details: { approvalPolicy: 'one' } });
    const original = store.write.bind(store);
    store.write = () => {
      throw new Error('disk full');
    };
    const r = s.approve(id, { reviewerId: 'alice', reason: 'ok' });
    assert.deepEqual(!r.ok && r.code, 'STORE_FAILED');
    assert.equal(s.get(id)!.status, ItemStatus.PENDING);
    assert.equal(s.get(id)!.decisions.length, 0);
    assert.throws(() => s.hold({ message: makeMessage(), reason: 'r' }), /disk full/);
    store.write = original;
    assert.ok(s.approve(id, { reviewerId: 'alice', reason: 'ok' }).ok);
    await s.close();
  });
});

describe('events', () => {
  it('listeners are isolated from each other and events before the first listener are buffered', async () => {
    const s = await DeliberationService.open({ store: new MemoryDeliberationStore(), clock: new ManualClock(), policies });
    const id = await holdOne(s, {}, { details: { approvalPolicy: 'one' } });
    const seen: string[] = [];
    s.onEvent(() => {
      throw new Error('journal down');
    });
    s.onEvent((e) => seen.push(e.type));
    assert.deepEqual(seen, [], 'the first listener took the buffer');
    assert.ok(s.reject(id, { reviewerId: 'bob', reason: 'no' }).ok);
    assert.deepEqual(seen, ['under_review', 'decision', 'rejected']);
    assert.ok(s.stats().listenerErrors >= 3);
    await s.close();

    const s2 = await DeliberationService.open({ store: new MemoryDeliberationStore(), clock: new ManualClock(), policies });
    const id2 = await holdOne(s2, {}, { details: { approvalPolicy: 'one' } });
    const late: DeliberationEvent[] = [];
    s2.onEvent((e) => late.push(e));
    assert.deepEqual(late.map((e) => [e.type, e.itemId, e.status, e.version]), [['held', id2, 'pending', 1]]);
    assert.equal(late[0]!.messageDigest, s2.get(id2)!.messageDigest);
    await s2.close();
  });

  it('every state change is reported with the item version', async () => {
    const seen: DeliberationEvent[] = [];
    const s = await DeliberationService.open({ store: new MemoryDeliberationStore(), clock: new ManualClock(), policies, onEvent: (e) => seen.push(e) });
    s.onRelease(() => {});
    const id = await holdOne(s, {}, { details: { approvalPolicy: 'one' } });
    s.approve(id, { reviewerId: 'alice', reason: 'ok' });
    await settle();
    assert.deepEqual(seen.map((e) => `${e.type}@${e.version}`), ['held@1', 'under_review@2', 'decision@2', 'approved@2', 'released@3']);
    assert.deepEqual(s.stats().byStatus.released, 1);
    await s.close();
  });

  it('closed service refuses decisions and holds', async () => {
    const s = await DeliberationService.open({ store: new MemoryDeliberationStore(), clock: new ManualClock(), policies });
    const id = await holdOne(s, {}, { details: { approvalPolicy: 'one' } });
    await s.close();
    const r = s.approve(id, { reviewerId: 'alice', reason: 'ok' });
    assert.deepEqual(!r.ok && r.code, 'CLOSED');
    assert.throws(() => s.hold({ message: makeMessage(), reason: 'r' }), /closed/);
  });
});
