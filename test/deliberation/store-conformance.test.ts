import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { createClient } from 'redis';
import {
  DeliberationService,
  FileDeliberationStore,
  ItemStatus,
  ManualClock,
  MemoryDeliberationStore,
  RedisDeliberationStore,
  type DeliberationItem,
  type DeliberationStore,
} from '../../src/deliberation/index.js';
import { makeMessage, settle, tmpDir } from './helpers.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

interface Backend {
  name: string;
  /** A fresh empty location. */
  create(): Promise<{ open(): Promise<DeliberationStore>; cleanup(): Promise<void> }>;
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups) await c();
});

const backends: Backend[] = [
  {
    name: 'memory',
    async create() {
      const store = new MemoryDeliberationStore();
      return { open: async () => store, cleanup: async () => {} };
    },
  },
  {
    name: 'file',
    async create() {
      const dir = tmpDir('conf');
      return { open: async () => FileDeliberationStore.open(dir), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'redis',
    async create() {
      const prefix = `eab:test:delib:${randomUUID()}:`;
      return {
        open: () => RedisDeliberationStore.open({ url: REDIS_URL, prefix }),
        cleanup: async () => {
          const s = await RedisDeliberationStore.open({ url: REDIS_URL, prefix });
          await s.destroy();
          await s.close();
        },
      };
    },
  },
];

function item(id: string, version: number, status: DeliberationItem['status'] = ItemStatus.PENDING): DeliberationItem {
  return {
    id,
    version,
    tenantId: 'tenant-a',
    status,
    message: makeMessage({ messageId: `m-${id}` }),
    messageDigest: 'd',
    constitutionalHash: 'h',
    reason: 'r',
    impact: undefined,
    policyDecision: undefined,
    details: undefined,
    requirements: { policyId: 'p', minApprovers: 1, requiredRoles: [], requireAllRoles: false, allowSelfApproval: false, requireReason: true, escalationMs: 0, election: undefined },
    decisions: [],
    votes: [],
    escalationLevel: 1,
    createdAt: 1000 + version,
    updatedAt: 1000 + version,
    deadlineAt: 2_000_000_000_000,
    outcome: undefined,
    releaseLease: undefined,
    releaseAttempts: 0,
    releasedAt: undefined,
  };
}

for (const backend of backends) {
  describe(`store conformance: ${backend.name}`, () => {
    it('writes are compare-and-set on the version and survive a reopen', async () => {
      const loc = await backend.create();
      cleanups.push(loc.cleanup);
      const store = await loc.open();
      assert.equal(await store.write(item('a', 1)), true);
      assert.equal(await store.write(item('a', 1)), false, 'same version twice');
      assert.equal(await store.write(item('a', 3)), false, 'skipped a version');
      assert.equal(await store.write(item('a', 2, ItemStatus.UNDER_REVIEW)), true);
      assert.equal(await store.write(item('b', 1)), true);
      assert.equal(await store.write(item('b', 2, ItemStatus.REJECTED)), true);
      assert.equal(await store.write(item('c', 2)), false, 'a new item starts at version 1');
      if (backend.name !== 'memory') await store.close();
      const reopened = await loc.open();
      const loaded = (await reopened.load()).sort((x, y) => (x.id < y.id ? -1 : 1));
      assert.deepEqual(loaded.map((i) => [i.id, i.version, i.status]), [
        ['a', 2, 'under_review'],
        ['b', 2, 'rejected'],
      ]);
      assert.equal(loaded[0]!.message.messageId, 'm-a');
      assert.equal(await reopened.write(item('a', 3, ItemStatus.APPROVED)), true, 'versions continue after a reopen');
      assert.equal(await reopened.write(item('a', 3, ItemStatus.APPROVED)), false);
      if (backend.name !== 'memory') await reopened.close();
    });

    it('service on the store: hold, approve, release once, restart without a second release', async () => {
      const loc = await backend.create();
      cleanups.push(loc.cleanup);
      const clock = new ManualClock();
      const policies = [{ id: 'one', requiredRoles: [], minApprovers: 1 }];
      const store1 = await loc.open();
      const s1 = await DeliberationService.open({ store: store1, clock, policies, nodeId: 'node-1' });
      const released: string[] = [];
      s1.onRelease((i) => {
        released.push(i.id);
      });
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await s1.hold({ message: makeMessage(), reason: 'r', details: { approvalPolicy: 'one' } })).deliberationId);
      assert.ok(s1.approve(ids[0]!, { reviewerId: 'alice', reason: 'ok' }).ok);
      await s1.flush();
      await settle();
      await s1.flush();
      assert.deepEqual(released, [ids[0]]);
      await s1.close();
      if (backend.name !== 'memory') await store1.close();

      const store2 = await loc.open();
      const s2 = await DeliberationService.open({ store: store2, clock, policies, nodeId: 'node-1' });
      s2.onRelease((i) => {
        released.push(i.id);
      });
      await settle();
      assert.deepEqual(released, [ids[0]], 'no second release after a restart');
      assert.equal(s2.get(ids[0]!)!.status, ItemStatus.RELEASED);
      for (const id of ids.slice(1)) {
        assert.equal(s2.get(id)!.status, ItemStatus.PENDING);
        assert.equal(s2.get(id)!.deadlineAt, clock.now() + 300_000);
      }
      assert.equal(clock.pendingTimers, 1, 'deadlines armed again');
      await s2.close();
      if (backend.name !== 'memory') await store2.close();
    });

    it('an item approved but not released before a stop is released once at the next start', async () => {
      const loc = await backend.create();
      cleanups.push(loc.cleanup);
      const clock = new ManualClock();
      const policies = [{ id: 'one', requiredRoles: [], minApprovers: 1 }];
      const store1 = await loc.open();
      const s1 = await DeliberationService.open({ store: store1, clock, policies, nodeId: 'node-1' });
      const id = (await s1.hold({ message: makeMessage(), reason: 'r', details: { approvalPolicy: 'one' } })).deliberationId;
      assert.ok(s1.approve(id, { reviewerId: 'alice', reason: 'ok' }).ok); // no release handler yet
      await s1.close();
      if (backend.name !== 'memory') await store1.close();

      const store2 = await loc.open();
      // another node: with a shared store it must wait out the lease of node-1
      const s2 = await DeliberationService.open({ store: store2, clock, policies, nodeId: 'node-2' });
      const released: string[] = [];
      s2.onRelease((i) => {
        released.push(i.id);
      });
      await settle();
      if (store2.shared) {
        assert.deepEqual(released, [], 'lease of node-1 still live');
        clock.advance(30_000);
        await settle();
        await s2.flush();
        await settle();
      }
      await s2.flush();
      assert.deepEqual(released, [id]);
      assert.equal(s2.get(id)!.status, ItemStatus.RELEASED);
      await s2.close();
      if (backend.name !== 'memory') await store2.close();
    });
  });
}

describe('redis store: several nodes', () => {
  it('two nodes recovering the same approved item release it once (Lua compare-and-set)', async () => {
    const prefix = `eab:test:delib:${randomUUID()}:`;
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    cleanups.push(async () => {
      const s = await RedisDeliberationStore.open({ client, prefix });
      await s.destroy();
      await client.close();
    });
    const clock = new ManualClock();
    const policies = [{ id: 'one', requiredRoles: [], minApprovers: 1 }];
    const a = await DeliberationService.open({ store: await RedisDeliberationStore.open({ client, prefix }), clock, policies, nodeId: 'a' });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) {
      const id = (await a.hold({ message: makeMessage(), reason: 'r', details: { approvalPolicy: 'one' } })).deliberationId;
      assert.ok(a.approve(id, { reviewerId: 'alice', reason: 'ok' }).ok);
      ids.push(id);
    }
    await a.close(); // node a dies before releasing
    clock.advance(31_000); // its leases expire

    const b = await DeliberationService.open({ store: await RedisDeliberationStore.open({ client, prefix }), clock, policies, nodeId: 'b' });
    const c = await DeliberationService.open({ store: await RedisDeliberationStore.open({ client, prefix }), clock, policies, nodeId: 'c' });
    const released: string[] = [];
    b.onRelease((i) => {
      released.push(`b:${i.id}`);
    });
    c.onRelease((i) => {
      released.push(`c:${i.id}`);
    });
    for (let i = 0; i < 5; i++) {
      await settle();
      await b.flush();
      await c.flush();
    }
    const byItem = new Map<string, number>();
    for (const r of released) byItem.set(r.slice(2), (byItem.get(r.slice(2)) ?? 0) + 1);
    assert.deepEqual([...byItem.keys()].sort(), [...ids].sort(), 'every item released');
    assert.ok([...byItem.values()].every((n) => n === 1), `each item released once: ${JSON.stringify(released)}`);
    await b.close();
    await c.close();
  });

  it('a decision on a stale copy loses the compare-and-set: not announced, re-read from Redis', async () => {
    const prefix = `eab:test:delib:${randomUUID()}:`;
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    cleanups.push(async () => {
      const s = await RedisDeliberationStore.open({ client, prefix });
      await s.destroy();
      await client.close();
    });
    const clock = new ManualClock();
    const policies = [{ id: 'one', requiredRoles: [], minApprovers: 1 }];
    const a = await DeliberationService.open({ store: await RedisDeliberationStore.open({ client, prefix }), clock, policies, nodeId: 'a' });
    const id = (await a.hold({ message: makeMessage(), reason: 'r', details: { approvalPolicy: 'one' } })).deliberationId;
    const bEvents: string[] = [];
    const bRefused: string[] = [];
    const b = await DeliberationService.open({ store: await RedisDeliberationStore.open({ client, prefix }), clock, policies, nodeId: 'b', onEvent: (e) => bEvents.push(e.type) });
    b.onRefuse((i) => bRefused.push(i.id));
    const released: string[] = [];
    a.onRelease((i) => {
      released.push(i.id);
    });
    assert.ok(a.approve(id, { reviewerId: 'alice', reason: 'ok' }).ok);
    await a.flush();
    const stale = b.reject(id, { reviewerId: 'bob', reason: 'no' }); // b still sees it pending
    assert.ok(stale.ok, 'accepted locally, the write decides');
    await b.flush();
    await settle();
    await a.flush();
    assert.deepEqual(bRefused, [], 'the lost rejection was not announced');
    assert.ok(!bEvents.includes('rejected'));
    assert.ok(bEvents.includes('store_error'));
    assert.equal(b.stats().storeConflicts, 1);
    assert.notEqual(b.get(id)!.status, ItemStatus.REJECTED, 're-read the winner from Redis');
    assert.deepEqual(released, [id]);
    await a.close();
    await b.close();
  });

  it('the write script refuses a stale version written by another node', async () => {
    const prefix = `eab:test:delib:${randomUUID()}:`;
    const s1 = await RedisDeliberationStore.open({ url: REDIS_URL, prefix });
    const s2 = await RedisDeliberationStore.open({ url: REDIS_URL, prefix });
    cleanups.push(async () => {
      await s1.destroy();
      await s1.close();
      await s2.close();
    });
    assert.equal(await s1.write(item('x', 1)), true);
    const [r1, r2] = await Promise.all([s1.write(item('x', 2, ItemStatus.APPROVED)), s2.write(item('x', 2, ItemStatus.REJECTED))]);
    assert.equal(Number(r1) + Number(r2), 1, 'exactly one of two concurrent writers wins');
    const stored = await s2.read('x');
    assert.equal(stored!.status, r1 ? ItemStatus.APPROVED : ItemStatus.REJECTED);
  });
});
