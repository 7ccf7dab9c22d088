import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentStateTable, VOLUME_BUCKET_MS } from '../../src/impact/agent-state.js';
import { ImpactScorer } from '../../src/impact/scorer.js';
import { DAYTIME, message } from './helpers.js';

test('per-agent state is capped: an agent not used since the clock hand last passed is evicted and counted', () => {
  const scorer = new ImpactScorer({ maxTrackedAgents: 3, timeZone: 'UTC' });
  for (const a of ['a1', 'a2', 'a3']) scorer.score(message({ fromAgent: a }), { now: DAYTIME });
  scorer.score(message({ fromAgent: 'a1' }), { now: DAYTIME + 1 }); // a1 becomes most recent
  scorer.score(message({ fromAgent: 'a4' }), { now: DAYTIME + 2 }); // evicts a2
  assert.deepEqual(scorer.stats(), { trackedAgents: 3, evictedAgents: 1, maxTrackedAgents: 3 });
  assert.equal(scorer.isTracking('acme', 'a2'), false);
  assert.equal(scorer.isTracking('acme', 'a1'), true);
  assert.equal(scorer.isTracking('acme', 'a4'), true);
});

test('an evicted agent starts afresh: volume window and drift history are reset', () => {
  const scorer = new ImpactScorer({ maxTrackedAgents: 1, timeZone: 'UTC' });
  for (let i = 0; i < 20; i++) scorer.score(message({ fromAgent: 'x' }), { now: DAYTIME + i });
  scorer.score(message({ fromAgent: 'y' }), { now: DAYTIME + 30 });
  const again = scorer.score(message({ fromAgent: 'x', payload: { amount: 50_000 } }), { now: DAYTIME + 40 });
  assert.ok(!(again instanceof Promise));
  assert.equal(again.factors.volume, 0.1);
  assert.equal(again.factors.drift, 0, 'first sighting after eviction seeds the history');
  assert.equal(scorer.stats().evictedAgents, 2);
});

test('the volume window is made of 5 s buckets: requests older than 60 s do not count', () => {
  const table = new AgentStateTable(10);
  const state = table.acquire('acme', 'k');
  const t0 = 1_000_000 * VOLUME_BUCKET_MS;
  for (let i = 0; i < 5; i++) assert.equal(state.recordRequest(t0 + i), i + 1);
  assert.equal(state.recordRequest(t0 + 30_000), 6);
  assert.equal(state.recordRequest(t0 + 59_999), 7);
  assert.equal(state.recordRequest(t0 + 60_000), 3, 'the first bucket has left the window');
  assert.equal(state.recordRequest(t0 + 200_000), 1);
});

test('the state table rejects a non-positive cap at configuration time', () => {
  assert.throws(() => new AgentStateTable(0), RangeError);
  assert.throws(() => new ImpactScorer({ maxTrackedAgents: 1.5 }), RangeError);
});

test('100,000 distinct senders stay within the default cap and are not evicted', () => {
  const scorer = new ImpactScorer({ timeZone: 'UTC' });
  for (let i = 0; i < 100_000; i++) scorer.score(message({ fromAgent: `agent-${i}` }), { now: DAYTIME });
  assert.deepEqual(scorer.stats(), { trackedAgents: 100_000, evictedAgents: 0, maxTrackedAgents: 100_000 });
  scorer.score(message({ fromAgent: 'one-more' }), { now: DAYTIME });
  assert.equal(scorer.stats().trackedAgents, 100_000);
  assert.equal(scorer.stats().evictedAgents, 1);
  assert.equal(scorer.isTracking('acme', 'agent-0'), false);
});

test('CLOCK eviction: an agent used since the hand passed survives; the table never exceeds its cap and tracks exactly what it reports', async () => {
  const fc = (await import('fast-check')).default;
  const table = new AgentStateTable(4);
  for (const a of ['a', 'b', 'c', 'd']) table.acquire('t', a);
  table.acquire('t', 'a');
  table.acquire('t', 'b');
  table.acquire('t', 'e'); // a and b were used: c goes
  assert.equal(table.has('t', 'c'), false);
  for (const a of ['a', 'b', 'd', 'e']) assert.equal(table.has('t', a), true, a);
  assert.equal(table.acquire('u', 'a') === table.acquire('t', 'a'), false, 'tenants are separate');

  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.tuple(fc.constantFrom('t1', 't2'), fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g')), { maxLength: 200 }), (cap, ops) => {
      const t = new AgentStateTable(cap);
      const seen = new Map<string, object>();
      let inserts = 0;
      for (const [tenant, agent] of ops) {
        const before = t.has(tenant, agent);
        const state = t.acquire(tenant, agent);
        if (!before) inserts++;
        else assert.equal(state, seen.get(`${tenant}/${agent}`), 'a hit returns the same state');
        seen.set(`${tenant}/${agent}`, state);
        assert.ok(t.has(tenant, agent));
        assert.ok(t.size <= cap);
      }
      assert.equal(t.evicted, Math.max(0, inserts - cap));
      let tracked = 0;
      for (const key of seen.keys()) {
        const [tenant, agent] = key.split('/') as [string, string];
        if (t.has(tenant, agent)) tracked++;
      }
      assert.equal(tracked, t.size);
    }),
    { numRuns: 300 },
  );
});

test('property: the volume window count equals a full recount of the 12 buckets after every request, whatever the order of the clock', async () => {
  const fc = (await import('fast-check')).default;
  const { AgentImpactState, VOLUME_BUCKETS } = await import('../../src/impact/agent-state.js');
  fc.assert(
    fc.property(fc.array(fc.integer({ min: -120_000, max: 200_000 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 0, max: 1e12 }), (steps, start) => {
      const state = new AgentImpactState();
      // Reference: 12 slots, each holding a bucket number and its count, recounted every time.
      const ids = new Array<number>(VOLUME_BUCKETS).fill(0);
      const counts = new Array<number>(VOLUME_BUCKETS).fill(0);
      let now = start;
      for (const step of steps) {
        now = Math.max(0, now + step);
        const bucket = Math.floor(now / VOLUME_BUCKET_MS);
        const slot = bucket % VOLUME_BUCKETS;
        if (ids[slot] !== bucket) {
          ids[slot] = bucket;
          counts[slot] = 0;
        }
        counts[slot]!++;
        let expected = 0;
        for (let i = 0; i < VOLUME_BUCKETS; i++) if (ids[i]! > bucket - VOLUME_BUCKETS && ids[i]! <= bucket) expected += counts[i]!;
        assert.equal(state.recordRequest(now), expected);
      }
    }),
    { numRuns: 500 },
  );
});
