// Regression (fixed; was in src/bus.ts constructor): several malformed options escape as plain TypeErrors (or are not
// checked at all) instead of BusError INVALID_OPTIONS:
//   - duplicateWindow { capacity: 1 } / { windowMs: 0 }: DuplicateWindow throws TypeError (not wrapped);
//   - screen: { patterns: [] }: ScreenStage throws TypeError (not wrapped);
//   - screen: { patterns: [{ id: 'x', group: 'custom', pattern: 'not a RegExp' }] }: accepted; the
//     combined regex becomes "(?:undefined)" and every message containing "undefined" is blocked;
//   - acceptedHashes: 'abc' (not an array): TypeError "alsoAccepted.filter is not a function";
//   - journal: {} (no append): accepted, then every send() THROWS TypeError
//     "this.journal?.append is not a function" on the hot path instead of returning a result;
//   - deliberation: {} (no hold): accepted; holds then fail as STAGE_FAILED at run time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentBus, ErrorCode, isBusError } from '../../src/index.js';

describe('malformed options are INVALID_OPTIONS', () => {
  const cases: Array<[string, unknown]> = [
    ['duplicateWindow capacity 1', { duplicateWindow: { capacity: 1 } }],
    ['duplicateWindow windowMs 0', { duplicateWindow: { windowMs: 0 } }],
    ['screen with no patterns', { screen: { patterns: [] } }],
    ['a screen pattern that is not a RegExp', { screen: { patterns: [{ id: 'x', group: 'custom', pattern: 'not a RegExp' }] } }],
    ['acceptedHashes a string', { acceptedHashes: 'abc' }],
    ['journal that is neither a sink nor options', { journal: 42 }],
    ['deliberation that is neither a handler nor options', { deliberation: 'yes' }],
  ];
  for (const [name, options] of cases) {
    it(name, () => {
      assert.throws(() => new AgentBus(options as never), (e) => isBusError(e) && e.code === ErrorCode.INVALID_OPTIONS);
    });
  }
});
