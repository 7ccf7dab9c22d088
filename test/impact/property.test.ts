import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ImpactScorer } from '../../src/impact/scorer.js';
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
