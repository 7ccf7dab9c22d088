/** Prototype-pollution keys ("__proto__", "constructor" holding "prototype"): refused alike over HTTP and WebSocket. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseJsonBody } from '../../src/server/messaging.js';
import { HASH, config, connect, harness, type, type Harness } from './helpers.js';

const JSON_HEADERS = { 'content-type': 'application/json' };

function assertNotPolluted(): void {
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
}

/** A message frame or body whose content carries `key` (raw JSON text, so "__proto__" stays a key) holding a "prototype" object. */
function messageText(key: string, escaped = false): string {
  const name = escaped ? key.replace(/_/g, '\\u005f').replace(/o/g, '\\u006f') : key;
  return `{"fromAgent":"alice","toAgent":"bob","tenantId":"acme","constitutionalHash":"${HASH}","content":{"task":"x","${name}":{"prototype":{"polluted":true}}}}`;
}

describe('parseJsonBody: one parser for both edges', () => {
  it('parses ordinary JSON, including text that merely mentions the words', () => {
    assert.deepEqual(parseJsonBody('{"a":[1,{"b":"a prototype of the constructor"}]}'), { a: [1, { b: 'a prototype of the constructor' }] });
    assert.deepEqual(parseJsonBody('{"proto":1,"protocol":"x","constructors":[]}'), { proto: 1, protocol: 'x', constructors: [] });
    assert.equal(parseJsonBody('"\\u0041"'), 'A');
    assert.deepEqual(parseJsonBody('\uFEFF{"a":1}'), { a: 1 }, 'a byte order mark is skipped');
  });

  it('refuses each forbidden key anywhere, also when spelled with \\u escapes, naming the key and where it is', () => {
    for (const key of ['__proto__', 'constructor']) {
      for (const escaped of [false, true]) {
        assert.throws(
          () => parseJsonBody(messageText(key, escaped)),
          (e: Error) => e.name === 'ForbiddenKeyError' && e.message.includes(`"${key}"`) && e.message.includes('/content'),
          `${key}${escaped ? ' (escaped)' : ''}`,
        );
      }
    }
    assert.throws(() => parseJsonBody('[{"a":[{"constructor":{"prototype":1}}]}]'), /"constructor".*\/0\/a\/0/);
    assert.throws(() => parseJsonBody('{"c\\u006Fnstructor":{"pr\\u006Ftotype":{}}}'), /"constructor"/, 'upper-case hex');
    assert.throws(() => parseJsonBody('{"a":{"__proto__":1}}'), /"__proto__".*\/a/, 'any value under __proto__');
    assert.deepEqual(parseJsonBody('{"constructor":"Acme Builders","prototype":{"x":1},"c":{"constructor":{"name":"y"}}}'), { constructor: 'Acme Builders', prototype: { x: 1 }, c: { constructor: { name: 'y' } } }, 'plain fields with those names are data');
    assert.deepEqual(parseJsonBody('{"t":"caf\\u00e9 \\u2603"}'), { t: 'café ☃' }, 'escaped non-ASCII text is fine');
  });

  it('throws SyntaxError for malformed JSON, and survives deep nesting', () => {
    assert.throws(() => parseJsonBody('{"a":'), SyntaxError);
    assert.throws(() => parseJsonBody(''), SyntaxError);
    const deep = '['.repeat(100_000) + '{"__proto__":1}' + ']'.repeat(100_000);
    assert.throws(() => parseJsonBody(deep), /"__proto__"/);
  });
});

describe('forbidden JSON keys over HTTP and WebSocket', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await harness(config());
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    url = `ws://127.0.0.1:${(h.app.server.address() as { port: number }).port}/v1/ws`;
  });
  after(async () => h.close());

  for (const key of ['__proto__', 'constructor']) {
    it(`"${key}": HTTP answers 400 INVALID_MESSAGE naming the key`, async () => {
      const res = await h.app.inject({ method: 'POST', url: '/v1/messages', headers: JSON_HEADERS, payload: messageText(key) });
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, 'INVALID_MESSAGE');
      assert.match(res.json().error.message, new RegExp(`"${key}"`));
      assert.doesNotMatch(res.json().error.message, /not valid JSON/);
      assertNotPolluted();
    });

    it(`"${key}": WebSocket answers an error frame with INVALID_MESSAGE naming the key, and delivers nothing`, async () => {
      const alice = await connect(`${url}?agentId=alice`);
      await alice.next(type('ready'));
      alice.ws.send(`{"type":"send","id":7,"message":${messageText(key)}}`);
      const error = await alice.next(type('error'));
      assert.equal((error.error as { code: string }).code, 'INVALID_MESSAGE');
      assert.match((error.error as { message: string }).message, new RegExp(`"${key}"`));
      await alice.close();
      const pulled = await h.app.inject({ method: 'GET', url: '/v1/agents/bob/messages' });
      assert.deepEqual(pulled.json().deliveries, []);
      assertNotPolluted();
    });
  }

  it('the registration body is refused the same way (constructor.prototype)', async () => {
    const res = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: JSON_HEADERS, payload: '{"agentId":"p","tenantId":"acme","constructor":{"prototype":{"polluted":true}}}' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.code, 'INVALID_MESSAGE');
    assert.match(res.json().error.message, /"constructor"/);
    assertNotPolluted();
  });

  it('malformed JSON still answers "not valid JSON" on both edges; a message mentioning the words passes', async () => {
    const bad = await h.app.inject({ method: 'POST', url: '/v1/messages', headers: JSON_HEADERS, payload: '{"fromAgent": ' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /not valid JSON/);
    const fine = await h.app.inject({
      method: 'POST',
      url: '/v1/messages',
      headers: JSON_HEADERS,
      payload: `{"fromAgent":"alice","toAgent":"bob","tenantId":"acme","constitutionalHash":"${HASH}","content":{"task":"review the prototype's constructor"}}`,
    });
    assert.equal(fine.statusCode, 200, fine.body);
    const alice = await connect(`${url}?agentId=alice`);
    await alice.next(type('ready'));
    alice.ws.send('{"type":"send",');
    assert.match(((await alice.next(type('error'))).error as { message: string }).message, /not valid JSON/);
    await alice.close();
  });
});
