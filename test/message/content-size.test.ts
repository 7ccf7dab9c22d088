/** The snapshot walk's two sizes: the upper bound the size limit checks, and the exact character count metering uses. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { exactJsonBytes, lastSnapshotChars, lastSnapshotSize, snapshotJsonObject } from '../../src/message/content.js';

const jsonObject = fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 5 }));

describe('snapshot sizes', () => {
  it('property: the character count is the JSON text length when nothing is escaped (at most that otherwise), and the bound is at least the UTF-8 size', () => {
    fc.assert(
      fc.property(jsonObject, (value) => {
        const copy = snapshotJsonObject(value, 64);
        assert.equal(typeof copy, 'object');
        const text = JSON.stringify(value);
        // A backslash in the text is an escape (\" \\ \n \u0001 …): one character written as 2 or 6.
        if (text.includes('\\')) assert.ok(lastSnapshotChars() < text.length);
        else assert.equal(lastSnapshotChars(), text.length);
        assert.ok(lastSnapshotSize() >= exactJsonBytes(value), `bound ${lastSnapshotSize()} < ${exactJsonBytes(value)}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('counts numbers as JSON writes them', () => {
    for (const n of [0, -0, 7, -7, 10, 99, 100, -1000, 123456789012345, -999999999999999, 1e15, 1e21, 0.1, -2.5e-7, Number.MAX_SAFE_INTEGER, Number.MIN_VALUE]) {
      snapshotJsonObject({ n }, 4);
      assert.equal(lastSnapshotChars(), JSON.stringify({ n }).length, String(n));
    }
  });

  it('is the exact UTF-8 size for ASCII text without escapes', () => {
    const value = { action: 'summarise', document: 'quarterly-report-7', items: [1, 2.5, true, null, { a: [] }], nested: {} };
    snapshotJsonObject(value, 8);
    assert.equal(lastSnapshotChars(), Buffer.byteLength(JSON.stringify(value)));
  });
});
