import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImpactScorer } from '../../src/impact/scorer.js';
import { KeywordModel } from '../../src/impact/keyword-model.js';
import { contextFactor, driftFactor, permissionFactor, priorityFactor, typeFactor, volumeFactor } from '../../src/impact/factors.js';
import { DAYTIME, NIGHT, message } from './helpers.js';

const close = (actual: number, expected: number, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) < eps, `expected ${expected}, got ${actual}`);

function keywordScorer(options: ConstructorParameters<typeof ImpactScorer>[0] = {}): ImpactScorer {
  return new ImpactScorer({ model: new KeywordModel(), timeZone: 'UTC', ...options });
}

function sync<T>(value: T | Promise<T>): T {
  assert.ok(!(value instanceof Promise), 'keyword scoring must be synchronous');
  return value as T;
}

test('original verified value: an ordinary daytime command from a fresh agent scores 0.09', () => {
  const r = sync(keywordScorer().score(message(), { now: DAYTIME }));
  close(r.score, 0.09);
  assert.deepEqual(r.factors, { semantic: 0, permission: 0.1, volume: 0.1, context: 0.2, drift: 0, priority: 0.3, type: 0.2 });
  assert.equal(r.model, 'keyword');
});

test('original verified value: CRITICAL priority scores exactly 0.9', () => {
  const r = sync(keywordScorer().score(message({ priority: 3 }), { now: DAYTIME }));
  assert.equal(r.factors.priority, 1);
  assert.equal(r.score, 0.9);
});

test('original verified value: three keyword hits are boosted to exactly 0.8', () => {
  const r = sync(keywordScorer().score(message({ content: { text: 'security breach: unauthorized access' } }), { now: DAYTIME }));
  assert.equal(r.factors.semantic, 0.9);
  assert.equal(r.score, 0.8);
});

test('original verified value: "security breach" (two hits) scores 0.27 with the keyword model', () => {
  const r = sync(keywordScorer().score(message({ content: { text: 'security breach' } }), { now: DAYTIME }));
  assert.equal(r.factors.semantic, 0.6);
  close(r.score, 0.27);
});

test('keyword model: 0.3 per distinct keyword, at most 0.9, empty text 0', () => {
  const k = new KeywordModel();
  assert.equal(k.predict(''), 0);
  assert.equal(k.predict('hello there'), 0);
  assert.equal(k.predict('POLICY update'), 0.3);
  assert.equal(k.predict('policy policy policy'), 0.3);
  assert.equal(k.predict('critical emergency attack exploit'), 0.9);
});

test('permission factor thresholds', () => {
  assert.equal(permissionFactor(message()), 0.1);
  assert.equal(permissionFactor(message({ content: { tools: [] } })), 0.1);
  assert.equal(permissionFactor(message({ content: { tools: ['read_file'] } })), 0.2);
  assert.equal(permissionFactor(message({ content: { tools: [{ name: 'get_weather' }] } })), 0.2);
  assert.equal(permissionFactor(message({ content: { tools: [{ name: 'summarise' }] } })), 0.5);
  assert.equal(permissionFactor(message({ content: { tools: ['get_user', { name: 'Admin_Console' }] } })), 0.9);
  for (const t of ['delete_row', 'bank_transfer', 'execute_sql', 'blockchain_sign', 'payment_api']) {
    assert.equal(permissionFactor(message({ content: { tools: [t] } })), 0.9, t);
  }
  // the message's own payload is read when content has no tools
  assert.equal(permissionFactor(message({ payload: { tools: ['delete_all'] } })), 0.9);
});

test('volume factor thresholds', () => {
  assert.equal(volumeFactor(1), 0.1);
  assert.equal(volumeFactor(9), 0.1);
  assert.equal(volumeFactor(10), 0.4);
  assert.equal(volumeFactor(49), 0.4);
  assert.equal(volumeFactor(50), 0.7);
  assert.equal(volumeFactor(99), 0.7);
  assert.equal(volumeFactor(100), 1.0);
});

test('volume: counts per sender within the last minute; senders do not share a bucket', () => {
  const scorer = keywordScorer();
  let last = 0;
  for (let i = 0; i < 10; i++) last = sync(scorer.score(message({ fromAgent: 'busy' }), { now: DAYTIME + i * 100 })).factors.volume;
  assert.equal(last, 0.4, 'the 10th request in a minute');
  const other = sync(scorer.score(message({ fromAgent: 'quiet' }), { now: DAYTIME + 1_000 }));
  assert.equal(other.factors.volume, 0.1, 'another sender has its own window');
  const sameIdOtherTenant = sync(scorer.score(message({ fromAgent: 'busy', tenantId: 'globex' }), { now: DAYTIME + 1_000 }));
  assert.equal(sameIdOtherTenant.factors.volume, 0.1, 'the same id in another tenant is another agent');
  const later = sync(scorer.score(message({ fromAgent: 'busy' }), { now: DAYTIME + 70_000 }));
  assert.equal(later.factors.volume, 0.1, 'old requests leave the window');
});

test('volume: 100 requests in a minute reach 1.0', () => {
  const scorer = keywordScorer();
  let v = 0;
  for (let i = 0; i < 100; i++) v = sync(scorer.score(message({ fromAgent: 'flood' }), { now: DAYTIME + i * 50 })).factors.volume;
  assert.equal(v, 1.0);
});

test('context factor: base, night hours 1–5, amount above 10,000', () => {
  assert.equal(contextFactor(14, 0), 0.2);
  assert.equal(contextFactor(0, 0), 0.2);
  assert.equal(contextFactor(1, 0), 0.5);
  assert.equal(contextFactor(5, 0), 0.5);
  assert.equal(contextFactor(6, 0), 0.2);
  assert.equal(contextFactor(14, 10_000), 0.2);
  assert.equal(contextFactor(14, 10_001), 0.6);
  assert.equal(contextFactor(3, 50_000), 0.9);
});

test('context: amount read from content.payload.amount and from the message payload', () => {
  const scorer = keywordScorer();
  const inContent = sync(scorer.score(message({ fromAgent: 'c1', content: { payload: { amount: 48_000 } } }), { now: DAYTIME }));
  assert.equal(inContent.factors.context, 0.6);
  const inPayload = sync(scorer.score(message({ fromAgent: 'c2', payload: { amount: 48_000 } }), { now: DAYTIME }));
  assert.equal(inPayload.factors.context, 0.6);
  const stringAmount = sync(scorer.score(message({ fromAgent: 'c3', payload: { amount: '48000' } }), { now: DAYTIME }));
  assert.equal(stringAmount.factors.context, 0.2);
});

test('context: the hour comes from the configured time zone or an injected clock', () => {
  const utc = sync(keywordScorer().score(message(), { now: NIGHT }));
  assert.equal(utc.factors.context, 0.5);
  // 03:00 UTC is 12:00 in Tokyo
  const tokyo = sync(keywordScorer({ timeZone: 'Asia/Tokyo' }).score(message(), { now: NIGHT }));
  assert.equal(tokyo.factors.context, 0.2);
  const injected = sync(keywordScorer({ hourOfDay: () => 4 }).score(message(), { now: DAYTIME }));
  assert.equal(injected.factors.context, 0.5);
  assert.throws(() => keywordScorer({ timeZone: 'Not/AZone' }), RangeError);
});

test('drift: first sighting 0; a jump above 0.3 from the mean is scaled by 0.5/0.3, capped at 1', () => {
  assert.equal(driftFactor(0), 0);
  assert.equal(driftFactor(0.3), 0);
  close(driftFactor(0.4), (0.4 / 0.3) * 0.5);
  assert.equal(driftFactor(0.7), 1);
  const scorer = keywordScorer();
  const first = sync(scorer.score(message({ fromAgent: 'd' }), { now: DAYTIME }));
  assert.equal(first.factors.drift, 0);
  // history [0.2]; current 0.9 (night + large amount) → deviation 0.7 → capped at 1
  const jump = sync(scorer.score(message({ fromAgent: 'd', payload: { amount: 20_000 } }), { now: NIGHT }));
  assert.equal(jump.factors.context, 0.9);
  assert.equal(jump.factors.drift, 1);
  // history [0.2, 0.9], mean 0.55; current 0.2 → deviation 0.35 → 0.5833…
  const back = sync(scorer.score(message({ fromAgent: 'd' }), { now: DAYTIME }));
  close(back.factors.drift, (0.35 / 0.3) * 0.5);
});

test('drift history keeps the last 20 context scores', () => {
  const scorer = keywordScorer();
  for (let i = 0; i < 25; i++) sync(scorer.score(message({ fromAgent: 'h', payload: { amount: 20_000 } }), { now: NIGHT + i * 60_000 }));
  // 20 entries of 0.9 → mean 0.9; current 0.2 → deviation 0.7 → 1
  const r = sync(scorer.score(message({ fromAgent: 'h' }), { now: DAYTIME }));
  assert.equal(r.factors.drift, 1);
  // now history: 19 × 0.9 + 0.2 → mean 0.865; current 0.9 → deviation 0.035 → 0
  const r2 = sync(scorer.score(message({ fromAgent: 'h', payload: { amount: 20_000 } }), { now: NIGHT + 26 * 60_000 }));
  assert.equal(r2.factors.drift, 0);
});

test('priority factor: envelope LOW/NORMAL/HIGH/CRITICAL; content may raise it, never lower it', () => {
  assert.equal(priorityFactor(message({ priority: 0 })), 0.1);
  assert.equal(priorityFactor(message({ priority: 1 })), 0.3);
  assert.equal(priorityFactor(message({ priority: 2 })), 0.7);
  assert.equal(priorityFactor(message({ priority: 3 })), 1.0);
  assert.equal(priorityFactor(message({ priority: 1, content: { priority: 'Critical' } })), 1.0);
  assert.equal(priorityFactor(message({ priority: 1, content: { priority: 2 } })), 0.7);
  assert.equal(priorityFactor(message({ priority: 3, content: { priority: 'low' } })), 1.0);
  assert.equal(priorityFactor(message({ priority: 1, content: { priority: 'bogus' } })), 0.3);
});

test('type factor: governance requests, constitutional validation, task requests 0.8; others 0.2', () => {
  assert.equal(typeFactor(message({ messageType: 'governance_request' })), 0.8);
  assert.equal(typeFactor(message({ messageType: 'constitutional_validation' })), 0.8);
  assert.equal(typeFactor(message({ messageType: 'task_request' })), 0.8);
  for (const t of ['command', 'query', 'event', 'notification', 'heartbeat', 'response'] as const) {
    assert.equal(typeFactor(message({ messageType: t })), 0.2, t);
  }
  assert.equal(typeFactor(message({ content: { message_type: 'TASK_REQUEST' } })), 0.8);
});

test('weights are normalised by their sum', () => {
  const doubled = keywordScorer({ weights: { semantic: 0.6, permission: 0.4, volume: 0.2, context: 0.2, drift: 0.3, priority: 0.2, type: 0.1 } });
  close(sync(doubled.score(message(), { now: DAYTIME })).score, 0.09);
  const onlyPriority = keywordScorer({ weights: { semantic: 0, permission: 0, volume: 0, context: 0, drift: 0, priority: 5, type: 0 } });
  close(sync(onlyPriority.score(message({ priority: 2 }), { now: DAYTIME })).score, 0.7);
  assert.throws(() => keywordScorer({ weights: { semantic: -1 } }), RangeError);
  assert.throws(() => keywordScorer({ weights: { semantic: 0, permission: 0, volume: 0, context: 0, drift: 0, priority: 0, type: 0 } }), RangeError);
});

test('boosts: critical floor and semantic floor are configurable; semantic exactly 0.8 is not boosted', () => {
  const scorer = keywordScorer({ criticalPriorityBoost: 0.95, highSemanticBoost: 0.85 });
  assert.equal(sync(scorer.score(message({ priority: 3, fromAgent: 'b1' }), { now: DAYTIME })).score, 0.95);
  assert.equal(sync(scorer.score(message({ fromAgent: 'b2', content: { text: 'security breach unauthorized' } }), { now: DAYTIME })).score, 0.85);
  const fixed = (p: number) => new ImpactScorer({ model: { name: 'fixed', predict: () => p }, timeZone: 'UTC' });
  close(sync(fixed(0.8).score(message(), { now: DAYTIME })).score, 0.09 + 0.3 * 0.8);
  assert.equal(sync(fixed(0.81).score(message(), { now: DAYTIME })).score, 0.8);
});

test('clamp: model outputs outside [0,1] or NaN cannot push the score out of range', () => {
  const fixed = (p: number) => new ImpactScorer({ model: { name: 'fixed', predict: () => p }, timeZone: 'UTC' });
  assert.equal(sync(fixed(7).score(message(), { now: DAYTIME })).factors.semantic, 1);
  assert.equal(sync(fixed(-3).score(message(), { now: DAYTIME })).factors.semantic, 0);
  assert.equal(sync(fixed(Number.NaN).score(message(), { now: DAYTIME })).factors.semantic, 0);
  const all = sync(fixed(1).score(message({ priority: 3, messageType: 'task_request', content: { text: 'x', tools: ['admin'] }, payload: { amount: 1e9 } }), { now: NIGHT }));
  assert.ok(all.score <= 1 && all.score >= 0.9);
});

test('a promise-returning model makes score() return a promise with the same factors', async () => {
  const scorer = new ImpactScorer({ model: { name: 'async', predict: async () => 0.5 }, timeZone: 'UTC' });
  const pending = scorer.score(message(), { now: DAYTIME });
  assert.ok(pending instanceof Promise);
  const r = await pending;
  assert.equal(r.factors.semantic, 0.5);
  close(r.score, 0.09 + 0.15);
});
