import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createImpactStage, type ImpactAnnotation } from '../../src/impact/stage.js';
import { KeywordModel } from '../../src/impact/keyword-model.js';
import { ImpactScorer } from '../../src/impact/scorer.js';
import type { Verdict } from '../../src/governance/verdict.js';
import { DAYTIME, governanceContext, message } from './helpers.js';

function syncVerdict(v: Verdict | PromiseLike<Verdict>): Verdict {
  assert.ok(typeof (v as { then?: unknown }).then !== 'function', 'stage must be synchronous with the keyword model');
  return v as Verdict;
}

test('a low score proceeds on the fast lane and is annotated', () => {
  const stage = createImpactStage({ model: new KeywordModel(), timeZone: 'UTC' });
  assert.equal(stage.name, 'impact');
  const ctx = governanceContext();
  const verdict = syncVerdict(stage.evaluate(message(), ctx));
  assert.equal(verdict.kind, 'proceed');
  const impact = ctx.annotations['impact'] as ImpactAnnotation;
  assert.equal(impact.lane, 'fast');
  assert.equal(impact.threshold, 0.8);
  assert.equal(impact.model, 'keyword');
  assert.ok(Math.abs(impact.score - 0.09) < 1e-9);
  assert.equal(Object.keys(impact.factors).length, 7);
});

test('a score exactly at the threshold is held (three keyword hits → 0.8)', () => {
  const stage = createImpactStage({ model: new KeywordModel(), timeZone: 'UTC' });
  const ctx = governanceContext();
  const verdict = syncVerdict(stage.evaluate(message({ content: { text: 'security breach, unauthorized access' } }), ctx));
  assert.equal(verdict.kind, 'hold');
  const impact = ctx.annotations['impact'] as ImpactAnnotation;
  assert.equal(impact.score, 0.8);
  assert.equal(impact.lane, 'deliberation');
  if (verdict.kind === 'hold') {
    assert.equal(verdict.reason, 'impact score 0.800 ≥ threshold 0.8');
    assert.deepEqual(verdict.details, { impact });
  }
});

test('CRITICAL priority is held at the default threshold', () => {
  const stage = createImpactStage({ timeZone: 'UTC' });
  assert.equal(syncVerdict(stage.evaluate(message({ priority: 3 }), governanceContext())).kind, 'hold');
});

test('per-bus and per-tenant thresholds', () => {
  const stage = createImpactStage({
    model: new KeywordModel(),
    timeZone: 'UTC',
    threshold: 0.5,
    tenantThresholds: { ' Strict-Co ': 0.25, lenient: 0.95 },
  });
  assert.equal(stage.thresholdFor('strict-co'), 0.25);
  assert.equal(stage.thresholdFor('lenient'), 0.95);
  assert.equal(stage.thresholdFor('other'), 0.5);
  const text = { text: 'security breach' }; // 0.27
  const strict = governanceContext();
  assert.equal(syncVerdict(stage.evaluate(message({ tenantId: 'strict-co', content: text }), strict)).kind, 'hold');
  assert.equal((strict.annotations['impact'] as ImpactAnnotation).threshold, 0.25);
  assert.equal(syncVerdict(stage.evaluate(message({ tenantId: 'other', content: text }), governanceContext())).kind, 'proceed');
  // CRITICAL (0.9) passes the lenient tenant's 0.95 but is held elsewhere
  assert.equal(syncVerdict(stage.evaluate(message({ tenantId: 'lenient', priority: 3 }), governanceContext())).kind, 'proceed');
  assert.equal(syncVerdict(stage.evaluate(message({ tenantId: 'other', priority: 3 }), governanceContext())).kind, 'hold');
});

test('thresholds are validated at configuration time; a Map works too', () => {
  assert.throws(() => createImpactStage({ threshold: 1.5 }), RangeError);
  assert.throws(() => createImpactStage({ tenantThresholds: { t: -0.1 } }), RangeError);
  const stage = createImpactStage({ tenantThresholds: new Map([['t-one', 0.3]]) });
  assert.equal(stage.thresholdFor('t-one'), 0.3);
});

test('the stage reads now and sender from the governance context and can share a scorer', () => {
  const scorer = new ImpactScorer({ timeZone: 'UTC' });
  const stage = createImpactStage({ scorer });
  assert.equal(stage.scorer, scorer);
  const ctx = governanceContext(DAYTIME);
  ctx.sender = { agentId: 'registered-id', tenantId: 'acme', agentType: 'worker', capabilities: [], metadata: {}, registeredAt: 0, lastSeen: 0 };
  stage.evaluate(message({ fromAgent: 'registered-id' }), ctx);
  assert.equal(scorer.isTracking('acme', 'registered-id'), true);
});

test('with an async model the stage returns a promise of the verdict', async () => {
  const stage = createImpactStage({ model: { name: 'async', predict: async () => 0.99 }, timeZone: 'UTC' });
  const ctx = governanceContext();
  const pending = stage.evaluate(message(), ctx);
  assert.equal(typeof (pending as PromiseLike<Verdict>).then, 'function');
  const verdict = await pending;
  assert.equal(verdict.kind, 'hold');
  assert.equal((ctx.annotations['impact'] as ImpactAnnotation).model, 'async');
});

test('an agent whose score repeats shares one frozen annotation from its second message; a new threshold gets a new one with its lane', () => {
  const stage = createImpactStage({ model: new KeywordModel(), timeZone: 'UTC' });
  const annotate = (): ImpactAnnotation => {
    const ctx = governanceContext();
    syncVerdict(stage.evaluate(message(), ctx));
    return ctx.annotations['impact'] as ImpactAnnotation;
  };
  const once = annotate();
  assert.ok(!Object.isFrozen(once), 'a first score may be one of a kind: its annotation is not kept');
  const first = annotate();
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.factors));
  assert.deepEqual(first, once);
  assert.equal(annotate(), first, 'same factors, same threshold: the same annotation');
  stage.setThreshold(0.05);
  const lowered = annotate();
  assert.notEqual(lowered, first);
  assert.equal(lowered.score, first.score);
  assert.equal(lowered.threshold, 0.05);
  assert.equal(lowered.lane, 'deliberation');
  assert.equal(first.lane, 'fast', 'the earlier annotation is unchanged');
});
