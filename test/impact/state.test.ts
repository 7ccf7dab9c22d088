import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AgentStateTable, VOLUME_BUCKET_MS } from '../../src/impact/agent-state.js';
import { ImpactScorer } from '../../src/impact/scorer.js';
import { DAYTIME, message } from './helpers.js';

test('per-agent state is capped: the least recently used agent is evicted and counted', () => {
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
  const state = table.acquire('k');
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
