// Regression (fixed; was in src/message/codec.ts, decodeWireMessage): the snake->camel lookup `SNAKE_TO_CAMEL[key] ?? key`
// reads an ordinary object, so keys that name Object.prototype members resolve to those members:
// "__proto__" becomes Object.prototype, "constructor" the Object function, "toString" a function.
// defineProperty then stringifies them, so the decoded field is named "[object Object]" or
// "function Object() { [native code] }" instead of staying the plain "__proto__"/"constructor" field the
// comment promises. The schema still refuses the message (no pollution), but the rejection names a
// garbage field, and any future code that trusts decoded keys sees the wrong ones.
// Expected: hostile keys survive unchanged (use Object.hasOwn or a null-prototype table).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeWireMessage } from '../../src/index.js';

describe('decodeWireMessage and prototype-named keys', () => {
  for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    it(`keeps a "${key}" key as a plain field of that name`, () => {
      const raw = JSON.parse(`{${JSON.stringify(key)}: 1, "from_agent": "a"}`) as unknown;
      const out = decodeWireMessage(raw);
      assert.ok(!('kind' in out));
      assert.deepEqual(Object.keys(out).sort(), [key, 'fromAgent'].sort());
    });
  }
});
