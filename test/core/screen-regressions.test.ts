// Regression (fixed; was in src/governance/stages/screen.ts, ScreenStage constructor): custom patterns are merged into one
// RegExp from their `.source` only, with the flag 'i' forced and every other flag dropped, and their
// capture groups renumbered. So:
//   - a case-sensitive custom pattern /SECRET/ also blocks "secret" (and the reason then names
//     pattern "unknown", details { pattern: undefined }, because the per-pattern re-check fails);
//   - a dotAll pattern /begin.end/s no longer matches "begin\nend" (a miss: the screen lets it through);
//   - a pattern with a back-reference, /(['"])secret\1/, combined after another capturing
//     pattern, refers to the wrong group.
// Expected: each custom pattern keeps its own semantics (e.g. test patterns individually when flags
// or groups differ, or build the alternation only from patterns with compatible flags).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RejectionCode } from '../../src/index.js';
import { makeBus, msg, register } from '../helpers/core.js';

describe('custom screen patterns keep their flags and groups', () => {
  it('a case-sensitive pattern does not block other cases', async (t) => {
    const bus = await makeBus(t, { screen: { patterns: [{ id: 'upper', group: 'custom', pattern: /SECRET/ }] } });
    await register(bus, 'a', 'b');
    assert.equal((await bus.send(msg('a', 'b', { content: { t: 'SECRET' } }))).code, RejectionCode.CONTENT_BLOCKED);
    const r = await bus.send(msg('a', 'b', { content: { t: 'a small secret' } }));
    assert.equal(r.ok, true, JSON.stringify(r));
  });

  it('a dotAll pattern matches across lines', async (t) => {
    const bus = await makeBus(t, { screen: { patterns: [{ id: 'span', group: 'custom', pattern: /begin.end/s }] } });
    await register(bus, 'a', 'b');
    assert.equal((await bus.send(msg('a', 'b', { content: { t: 'begin\nend' } }))).code, RejectionCode.CONTENT_BLOCKED);
  });

  it('back-references refer to the pattern\'s own groups', async (t) => {
    const bus = await makeBus(t, {
      screen: { patterns: [{ id: 'tag', group: 'custom', pattern: /<(b)>/ }, { id: 'quoted', group: 'custom', pattern: /(['"])secret\1/ }] },
    });
    await register(bus, 'a', 'b');
    assert.equal((await bus.send(msg('a', 'b', { content: { t: '"secret"' } }))).code, RejectionCode.CONTENT_BLOCKED);
    // Mismatched quotes: /(['"])secret\1/ alone does not match this; combined, \1 names the other pattern's group.
    const r = await bus.send(msg('a', 'b', { content: { t: `"secret'` } }));
    assert.equal(r.ok, true, JSON.stringify(r));
  });
});
