import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERROR_INFO, ErrorCode, REJECTION_CODES, REJECTION_INFO, RejectionCode } from '../../src/index.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Set([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => `${m[1]}:${m[2]}`));

test('every rejection code is documented with its HTTP status', () => {
  for (const code of REJECTION_CODES) assert.ok(documented.has(`${code}:${REJECTION_INFO[code].httpStatus}`), `${code} missing from docs/errors.md`);
});

test('every error code is documented with its HTTP status', () => {
  for (const code of Object.values(ErrorCode)) assert.ok(documented.has(`${code}:${ERROR_INFO[code].httpStatus}`), `${code} missing from docs/errors.md`);
});

test('docs/errors.md lists no code that does not exist', () => {
  const known = new Set<string>([...Object.values(RejectionCode), ...Object.values(ErrorCode)]);
  for (const entry of documented) assert.ok(known.has(entry.split(':')[0]!), `${entry} is documented but not defined`);
});

test('codes are their own names, so they can never drift from the constant names', () => {
  for (const [name, value] of Object.entries(RejectionCode)) assert.equal(name, value);
  for (const [name, value] of Object.entries(ErrorCode)) assert.equal(name, value);
});
