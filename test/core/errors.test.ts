import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BusError, ERROR_INFO, ErrorCode, isBusError, REJECTION_CODES, REJECTION_INFO, RejectionCode } from '../../src/index.js';

const HTTP_STATUSES = new Set([400, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503, 504]);

describe('errors module', () => {
  it('every RejectionCode has REJECTION_INFO with an HTTP status and a description', () => {
    const codes = Object.values(RejectionCode);
    assert.ok(codes.length >= 20);
    for (const code of codes) {
      assert.equal(RejectionCode[code], code, 'codes are their own names');
      const info = REJECTION_INFO[code];
      assert.ok(info, `REJECTION_INFO.${code} missing`);
      assert.ok(HTTP_STATUSES.has(info.httpStatus), `${code}: unexpected HTTP status ${info.httpStatus}`);
      assert.ok(info.description.length > 10, `${code}: description`);
    }
    assert.deepEqual(Object.keys(REJECTION_INFO).sort(), [...codes].sort(), 'no info for codes that do not exist');
  });

  it('REJECTION_CODES lists every rejection code once and is frozen', () => {
    assert.deepEqual([...REJECTION_CODES].sort(), Object.values(RejectionCode).sort());
    assert.equal(new Set(REJECTION_CODES).size, REJECTION_CODES.length);
    assert.ok(Object.isFrozen(REJECTION_CODES));
  });

  it('the issue-mandated rejection codes exist', () => {
    for (const code of [
      'CONSTITUTIONAL_HASH_MISMATCH', 'INVALID_MESSAGE', 'MESSAGE_TOO_LARGE', 'EXPIRED', 'DUPLICATE', 'UNKNOWN_SENDER',
      'UNKNOWN_RECIPIENT', 'TENANT_MISMATCH', 'CONTENT_BLOCKED', 'NO_ROUTE', 'BACKPRESSURE', 'HANDLER_FAILED', 'TIMEOUT',
    ]) {
      assert.ok((REJECTION_CODES as readonly string[]).includes(code), code);
    }
  });

  it('every ErrorCode has ERROR_INFO with an HTTP status and a description', () => {
    const codes = Object.values(ErrorCode);
    for (const code of codes) {
      assert.equal(ErrorCode[code], code);
      const info = ERROR_INFO[code];
      assert.ok(info, `ERROR_INFO.${code} missing`);
      assert.ok(HTTP_STATUSES.has(info.httpStatus), `${code}: unexpected HTTP status ${info.httpStatus}`);
      assert.ok(info.description.length > 10);
    }
    assert.deepEqual(Object.keys(ERROR_INFO).sort(), [...codes].sort());
  });

  it('spot-checks the HTTP mapping of the common codes', () => {
    assert.equal(REJECTION_INFO.CONSTITUTIONAL_HASH_MISMATCH.httpStatus, 403);
    assert.equal(REJECTION_INFO.INVALID_MESSAGE.httpStatus, 400);
    assert.equal(REJECTION_INFO.MESSAGE_TOO_LARGE.httpStatus, 413);
    assert.equal(REJECTION_INFO.DUPLICATE.httpStatus, 409);
    assert.equal(REJECTION_INFO.BACKPRESSURE.httpStatus, 503);
    assert.equal(REJECTION_INFO.TIMEOUT.httpStatus, 504);
    assert.equal(ERROR_INFO.BUS_NOT_STARTED.httpStatus, 503);
    assert.equal(ERROR_INFO.INVALID_AGENT.httpStatus, 400);
  });

  it('BusError carries code, httpStatus, details and cause, and serialises without the stack', () => {
    const cause = new Error('root');
    const e = new BusError(ErrorCode.INVALID_AGENT, 'bad agent', { cause, details: { field: 'agentId' } });
    assert.ok(e instanceof Error);
    assert.ok(isBusError(e));
    assert.equal(isBusError(new Error('x')), false);
    assert.equal(isBusError({ code: 'INVALID_AGENT' }), false);
    assert.equal(e.name, 'BusError');
    assert.equal(e.code, 'INVALID_AGENT');
    assert.equal(e.httpStatus, 400);
    assert.equal(e.cause, cause);
    assert.deepEqual(e.toJSON(), { code: 'INVALID_AGENT', message: 'bad agent', details: { field: 'agentId' } });
    const plain = new BusError(ErrorCode.NOT_FOUND, 'gone');
    assert.deepEqual(plain.toJSON(), { code: 'NOT_FOUND', message: 'gone' });
    assert.equal(plain.cause, undefined);
    assert.deepEqual(JSON.parse(JSON.stringify(plain)), { code: 'NOT_FOUND', message: 'gone' });
  });

  it('docs/errors.md lists every code, and no code that does not exist', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    const listed = new Set([...doc.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));
    for (const code of [...Object.values(RejectionCode), ...Object.values(ErrorCode)]) assert.ok(listed.has(code), `${code} not in docs/errors.md`);
    for (const code of listed) {
      assert.ok((Object.values(RejectionCode) as string[]).includes(code!) || (Object.values(ErrorCode) as string[]).includes(code!), `${code} documented but not defined`);
    }
  });
});
