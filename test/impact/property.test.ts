import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { ImpactScorer, type ImpactScore } from '../../src/impact/scorer.js';
import { FACTOR_NAMES } from '../../src/impact/factors.js';
import { loadDefaultTextModel } from '../../src/impact/load-model.js';
import { MESSAGE_TYPES } from '../../src/message/constants.js';
import type { TextModel } from '../../src/impact/text-model.js';
import { message } from './helpers.js';

const arbitraryMessage = fc.record({
  fromAgent: fc.constantFrom('a', 'b', 'c', 'd'),
  tenantId: fc.constantFrom('acme', 'globex'),
  messageType: fc.constantFrom(...MESSAGE_TYPES),
  priority: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const),
  content: fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 4 })),
  payload: fc.option(fc.dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 4 })), { nil: undefined }),
});

const arbitraryWeights = fc.record(
  Object.fromEntries(FACTOR_NAMES.map((n) => [n, fc.double({ min: 0, max: 10, noNaN: true })])) as Record<(typeof FACTOR_NAMES)[number], fc.Arbitrary<number>>,
).filter((w) => Object.values(w).some((v) => v > 0));

function check(model: TextModel): void {
  fc.assert(
    fc.property(
      arbitraryMessage,
      arbitraryWeights,
      fc.integer({ min: 0, max: 4_102_444_800_000 }),
      fc.double({ noNaN: false }),
      (fields, weights, now, modelOutput) => {
        const scorer = new ImpactScorer({ model: model.name === 'wild' ? { name: 'wild', predict: () => modelOutput } : model, weights, timeZone: 'UTC' });
        const m = message(fields as Parameters<typeof message>[0]);
        const r = scorer.score(m, { now });
        assert.ok(!(r instanceof Promise));
        assert.ok(r.score >= 0 && r.score <= 1, `score ${r.score}`);
        assert.deepEqual(Object.keys(r.factors).sort(), [...FACTOR_NAMES].sort());
        for (const name of FACTOR_NAMES) {
          const v = r.factors[name];
          assert.ok(v >= 0 && v <= 1, `${name} = ${v}`);
        }
      },
    ),
    { numRuns: 300 },
  );
}

test('property: any message, weights, time and model output give a score in [0,1] and all seven factors (keyword model)', () => {
  check({ name: 'wild', predict: () => 0 });
});

test('property: the same holds with the shipped fastText model', async () => {
  const { model, fallback } = await loadDefaultTextModel({ onFallback: () => undefined });
  assert.equal(fallback, false);
  check(model);
});

test('property: over a sequence, each result is its own factors combined, and an agent whose factors are unchanged gets its last (frozen) result again', () => {
  const weights = { semantic: 0.3, permission: 0.2, volume: 0.1, context: 0.1, drift: 0.15, priority: 0.1, type: 0.05 } as const;
  const expectedScore = (f: Record<(typeof FACTOR_NAMES)[number], number>): number => {
    let score = 0;
    for (const name of FACTOR_NAMES) score += weights[name] * f[name];
    if (f.priority >= 1) score = Math.max(score, 0.9);
    if (f.semantic > 0.8) score = Math.max(score, 0.8);
    return Math.min(1, Math.max(0, score));
  };
  const step = fc.record({
    fields: fc.record({
      fromAgent: fc.constantFrom('a', 'b', 'c'),
      priority: fc.constantFrom(0 as const, 1 as const, 3 as const),
      content: fc.constantFrom({ text: 'routine status' }, { text: 'wire 50000 usd now', payload: { amount: 50_000 } }, { tools: ['shell'] }, { text: 'hello' }),
    }),
    advanceMs: fc.integer({ min: 0, max: 20_000 }),
  });
  fc.assert(
    fc.property(fc.array(step, { minLength: 1, maxLength: 120 }), fc.double({ min: 0, max: 1, noNaN: true }), (steps, semantic) => {
      const scorer = new ImpactScorer({ model: { name: 'fixed', predict: () => semantic }, timeZone: 'UTC' });
      const last = new Map<string, ImpactScore>();
      let now = Date.UTC(2025, 2, 12, 0, 30, 0);
      for (const { fields, advanceMs } of steps) {
        now += advanceMs;
        const r = scorer.score(message(fields as Parameters<typeof message>[0]), { now });
        assert.ok(!(r instanceof Promise));
        assert.ok(Object.isFrozen(r) && Object.isFrozen(r.factors), 'results are shared, so frozen');
        assert.ok(Math.abs(r.score - expectedScore(r.factors)) < 1e-12, `score ${r.score} for ${JSON.stringify(r.factors)}`);
        const previous = last.get(fields.fromAgent);
        if (previous !== undefined) assert.equal(r === previous, isDeepStrictEqual(r.factors, previous.factors), 'the same object exactly when the factors are unchanged');
        last.set(fields.fromAgent, r);
      }
    }),
    { numRuns: 200 },
  );
});
