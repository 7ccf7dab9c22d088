// Regression (fixed; was in src/governance/pipeline.ts isVerdict): a verdict is accepted when only its `kind` is right.
// A user stage returning { kind: 'reject', code: 'NOT_A_CODE' } (or no code, or a non-string
// reason) has that value passed straight to the caller as `result.code`, outside RejectionCode;
// metrics count it nowhere (MetricsCollector.countRejection indexes byCode with an unknown code:
// `this.byCode[CODE_INDEX.get(code)!]!++` writes a NaN "undefined" property on the Float64Array).
// Expected: a malformed reject is STAGE_FAILED (fail-closed, a code from RejectionCode).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RejectionCode, REJECTION_CODES, type Verdict } from '../../src/index.js';
import { makeBus, msg, register } from '../helpers/core.js';

describe('a stage returning a malformed reject', () => {
  const garbage: Array<[string, unknown]> = [
    ['an unknown code', { kind: 'reject', code: 'NOT_A_CODE', reason: 'x' }],
    ['no code', { kind: 'reject', reason: 'x' }],
    ['a non-string reason', { kind: 'reject', code: RejectionCode.POLICY_DENIED, reason: { nested: true } }],
  ];
  for (const [name, verdict] of garbage) {
    it(`with ${name} is refused with STAGE_FAILED`, async (t) => {
      const bus = await makeBus(t, { stages: [{ name: 'bad', evaluate: () => verdict as Verdict }] });
      await register(bus, 'a', 'b');
      const r = await bus.send(msg('a', 'b'));
      assert.equal(r.ok, false);
      assert.ok((REJECTION_CODES as readonly unknown[]).includes(r.code), `code ${String(r.code)} is not a RejectionCode`);
      assert.equal(typeof r.reason, 'string');
      assert.equal(r.code, RejectionCode.STAGE_FAILED);
    });
  }
});
