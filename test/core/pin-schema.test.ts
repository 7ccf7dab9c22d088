import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentBus} from '../../src/index.js';
import { CONSTITUTIONAL_HASH, DEFAULT_LIMITS, MESSAGE_TYPES, RejectionCode, StaticHashAuthority, type AgentMessage } from '../../src/index.js';
import { assertDelivered, assertRejected, HASH, makeBus, msg, recorder, register } from '../helpers/core.js';

const LIMIT = DEFAULT_LIMITS.maxContentBytes;

describe('pin stage: CONSTITUTIONAL_HASH_MISMATCH', () => {
  it('the default active hash is cdd01ef066bc6cf2 and is accepted', async (t) => {
    assert.equal(CONSTITUTIONAL_HASH, 'cdd01ef066bc6cf2');
    const bus = await makeBus(t);
    assert.equal(bus.constitutionalHash, CONSTITUTIONAL_HASH);
    await register(bus, 'a', 'b');
    assertDelivered(await bus.send(msg('a', 'b')), ['b']);
  });

  const wrong: Array<[string, unknown]> = [
    ['another hash', '0000000000000000'],
    ['upper case', HASH.toUpperCase()],
    ['leading space', ` ${HASH}`],
    ['trailing space', `${HASH} `],
    ['trailing newline', `${HASH}\n`],
    ['a prefix', HASH.slice(0, 8)],
    ['longer', `${HASH}00`],
    ['empty', ''],
    ['a number', 1234],
    ['null', null],
    ['an array', [HASH]],
    ['an object', { hash: HASH }],
  ];
  for (const [name, value] of wrong) {
    it(`refuses a hash that is ${name}`, async (t) => {
      const bus = await makeBus(t);
      await register(bus, 'a', 'b');
      const r = await bus.send(msg('a', 'b', { constitutionalHash: value as string }));
      assertRejected(r, RejectionCode.CONSTITUTIONAL_HASH_MISMATCH);
      assert.match(r.reason!, /cdd01ef066bc6cf2/, 'the reason names the active hash');
    });
  }

  it('refuses a message without a hash', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const input = msg('a', 'b') as unknown as Record<string, unknown>;
    delete input.constitutionalHash;
    assertRejected(await bus.send(input as never), RejectionCode.CONSTITUTIONAL_HASH_MISMATCH);
  });

  it('the pin check runs before the schema: a wrongly pinned, malformed message is a hash mismatch', async (t) => {
    const bus = await makeBus(t);
    assertRejected(await bus.send({ constitutionalHash: 'nope', bogus: 1 } as never), RejectionCode.CONSTITUTIONAL_HASH_MISMATCH);
    assertRejected(await bus.send(undefined as never), RejectionCode.CONSTITUTIONAL_HASH_MISMATCH);
  });

  it('acceptedHashes admits the previous hash during a rotation; others stay refused', async (t) => {
    const bus = await makeBus(t, { constitutionalHash: 'feedfacecafebeef', acceptedHashes: [CONSTITUTIONAL_HASH] });
    assert.equal(bus.constitutionalHash, 'feedfacecafebeef');
    await register(bus, 'a', 'b');
    assertDelivered(await bus.send(msg('a', 'b', { constitutionalHash: 'feedfacecafebeef' })));
    assertDelivered(await bus.send(msg('a', 'b', { constitutionalHash: CONSTITUTIONAL_HASH })));
    assertRejected(await bus.send(msg('a', 'b', { constitutionalHash: 'aaaaaaaaaaaaaaaa' })), RejectionCode.CONSTITUTIONAL_HASH_MISMATCH);
    assertRejected(await bus.send(msg('a', 'b', { constitutionalHash: 'FEEDFACECAFEBEEF' })), RejectionCode.CONSTITUTIONAL_HASH_MISMATCH);
  });

  it('a custom constitutionalHash replaces the default', async (t) => {
    const bus = await makeBus(t, { constitutionalHash: 'feedfacecafebeef' });
    await register(bus, 'a', 'b');
    assertRejected(await bus.send(msg('a', 'b')), RejectionCode.CONSTITUTIONAL_HASH_MISMATCH);
  });

  it('a hashAuthority decides, and is asked with the bus clock', async (t) => {
    const asked: Array<[string, number]> = [];
    const bus = await makeBus(t, {
      clock: () => 42_000,
      hashAuthority: { activeHash: 'v2', accepts: (h: string, now: number) => (asked.push([h, now]), h === 'v2' || h === 'v1') },
    });
    await register(bus, 'a', 'b');
    assertDelivered(await bus.send(msg('a', 'b', { constitutionalHash: 'v1' })));
    assertRejected(await bus.send(msg('a', 'b', { constitutionalHash: 'v0' })), RejectionCode.CONSTITUTIONAL_HASH_MISMATCH);
    assert.deepEqual(asked, [['v1', 42_000], ['v0', 42_000]]);
  });

  it('StaticHashAuthority: exact matches only', () => {
    const auth = new StaticHashAuthority('aaa', ['bbb', 'aaa']);
    assert.equal(auth.activeHash, 'aaa');
    assert.equal(auth.accepts('aaa'), true);
    assert.equal(auth.accepts('bbb'), true);
    assert.equal(auth.accepts('AAA'), false);
    assert.equal(auth.accepts('ccc'), false);
    assert.equal(new StaticHashAuthority().activeHash, CONSTITUTIONAL_HASH);
  });
});

describe('schema stage: INVALID_MESSAGE', () => {
  const base = () => msg('a', 'b') as unknown as Record<string, unknown>;
  const variants: Array<[string, (m: Record<string, unknown>) => unknown]> = [
    ['missing fromAgent', (m) => (delete m.fromAgent, m)],
    ['missing content', (m) => (delete m.content, m)],
    ['missing tenantId', (m) => (delete m.tenantId, m)],
    ['an extra field', (m) => ({ ...m, sender: 'a' })],
    ['an extra snake_case field', (m) => ({ ...m, message_id: 'x1' })],
    ['an own __proto__ field', (m) => Object.assign(JSON.parse('{"__proto__": {"polluted": true}}'), m)],
    ['a constructor field', (m) => ({ ...m, constructor: 'x' })],
    ['fromAgent a number', (m) => ({ ...m, fromAgent: 7 })],
    ['fromAgent empty', (m) => ({ ...m, fromAgent: '' })],
    ['fromAgent with a space', (m) => ({ ...m, fromAgent: 'a b' })],
    ['fromAgent starting with a dash', (m) => ({ ...m, fromAgent: '-a' })],
    ['fromAgent with a control character', (m) => ({ ...m, fromAgent: 'a\u0000' })],
    ['fromAgent too long', (m) => ({ ...m, fromAgent: 'a'.repeat(129) })],
    ['toAgent null', (m) => ({ ...m, toAgent: null })],
    ['toAgent non-ASCII', (m) => ({ ...m, toAgent: 'agënt' })],
    ['messageId empty', (m) => ({ ...m, messageId: '' })],
    ['messageId with a space', (m) => ({ ...m, messageId: 'id 1' })],
    ['messageId too long', (m) => ({ ...m, messageId: 'x'.repeat(129) })],
    ['messageId a number', (m) => ({ ...m, messageId: 12 })],
    ['conversationId with a newline', (m) => ({ ...m, conversationId: 'c\n1' })],
    ['correlationId an object', (m) => ({ ...m, correlationId: { id: 1 } })],
    ['content an array', (m) => ({ ...m, content: [1, 2] })],
    ['content a string', (m) => ({ ...m, content: 'hello' })],
    ['content null', (m) => ({ ...m, content: null })],
    ['payload an array', (m) => ({ ...m, payload: [] })],
    ['metadata a number', (m) => ({ ...m, metadata: 5 })],
    ['headers with a number value', (m) => ({ ...m, headers: { a: 1 } })],
    ['headers an array', (m) => ({ ...m, headers: ['a'] })],
    ['too many headers', (m) => ({ ...m, headers: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`h${i}`, 'v'])) })],
    ['a header value too long', (m) => ({ ...m, headers: { h: 'v'.repeat(4097) } })],
    ['tenantId too short', (m) => ({ ...m, tenantId: 'ab' })],
    ['tenantId starting with a dash', (m) => ({ ...m, tenantId: '-acme' })],
    ['tenantId with a space inside', (m) => ({ ...m, tenantId: 'ac me' })],
    ['tenantId with a dot', (m) => ({ ...m, tenantId: 'acme.com' })],
    ['tenantId non-ASCII', (m) => ({ ...m, tenantId: 'äcme' })],
    ['tenantId too long', (m) => ({ ...m, tenantId: 'a'.repeat(65) })],
    ['tenantId empty', (m) => ({ ...m, tenantId: '' })],
    ['tenantId only spaces', (m) => ({ ...m, tenantId: '     ' })],
    ['tenantId a number', (m) => ({ ...m, tenantId: 123 })],
    ['messageType unknown', (m) => ({ ...m, messageType: 'gossip' })],
    ['messageType upper case', (m) => ({ ...m, messageType: 'COMMAND' })],
    ['messageType a number', (m) => ({ ...m, messageType: 1 })],
    ['priority 4', (m) => ({ ...m, priority: 4 })],
    ['priority -1', (m) => ({ ...m, priority: -1 })],
    ['priority 1.5', (m) => ({ ...m, priority: 1.5 })],
    ['priority a name (only the wire codec maps names)', (m) => ({ ...m, priority: 'HIGH' })],
    ['priority NaN', (m) => ({ ...m, priority: Number.NaN })],
    ['createdAt a string', (m) => ({ ...m, createdAt: '2026-01-01T00:00:00Z' })],
    ['createdAt negative', (m) => ({ ...m, createdAt: -1 })],
    ['expiresAt fractional', (m) => ({ ...m, expiresAt: Date.now() + 1000.5 })],
    ['requiredCapabilities a string', (m) => ({ ...m, requiredCapabilities: 'summarise' })],
    ['a required capability with a space', (m) => ({ ...m, requiredCapabilities: ['sum marise'] })],
    ['too many required capabilities', (m) => ({ ...m, requiredCapabilities: Array.from({ length: 33 }, (_, i) => `c${i}`) })],
    ['content holding a function', (m) => ({ ...m, content: { f: () => 1 } })],
    ['content holding a Date', (m) => ({ ...m, content: { when: new Date() } })],
    ['content holding a Map', (m) => ({ ...m, content: { map: new Map([[1, 2]]) } })],
    ['content holding a Set', (m) => ({ ...m, content: { set: new Set([1]) } })],
    ['content holding NaN', (m) => ({ ...m, content: { n: Number.NaN } })],
    ['content holding Infinity', (m) => ({ ...m, content: { n: -Infinity } })],
    ['content holding a BigInt', (m) => ({ ...m, content: { n: 10n } })],
    ['content holding a Symbol', (m) => ({ ...m, content: { s: Symbol('s') } })],
    ['content holding undefined in an array', (m) => ({ ...m, content: { list: [1, undefined, 3] } })],
    ['content holding a sparse array', (m) => ({ ...m, content: { list: [1, , 3] } })], // eslint-disable-line no-sparse-arrays
    ['content holding a class instance', (m) => ({ ...m, content: { thing: new (class Thing { x = 1; })() } })],
    ['content holding a typed array', (m) => ({ ...m, content: { bytes: new Uint8Array(2) } })],
    ['content holding a boxed string', (m) => ({ ...m, content: { s: new String('x') } })],
    ['content holding a RegExp', (m) => ({ ...m, content: { r: /x/ } })],
    ['content holding an Error', (m) => ({ ...m, content: { e: new Error('x') } })],
    ['content a class instance', (m) => ({ ...m, content: new (class Thing { x = 1; })() })],
    ['content a Date', (m) => ({ ...m, content: new Date() })],
    ['payload holding a function deep inside', (m) => ({ ...m, payload: { a: { b: [{ c: () => 0 }] } } })],
    ['metadata holding a Map', (m) => ({ ...m, metadata: { m: new Map() } })],
  ];
  for (const [name, mutate] of variants) {
    it(`refuses ${name}`, async (t) => {
      const bus = await makeBus(t);
      await register(bus, 'a', 'b');
      const r = await bus.send(mutate(base()) as never);
      assertRejected(r, RejectionCode.INVALID_MESSAGE);
    });
  }

  it('names the offending field in the reason', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    assert.match((await bus.send({ ...msg('a', 'b'), sender: 'x' } as never)).reason!, /sender/);
    const m = msg('a', 'b') as unknown as Record<string, unknown>;
    delete m.fromAgent;
    assert.match((await bus.send(m as never)).reason!, /fromAgent/);
    assert.match((await bus.send(msg('a', 'b', { content: { deep: { when: new Date() } } }))).reason!, /content\/deep\/when/);
  });

  it('refuses non-object inputs that carry no hash as hash mismatches and never throws', async (t) => {
    const bus = await makeBus(t);
    for (const input of [null, undefined, 0, 'message', [], [msg('a', 'b')], true, () => 1]) {
      const r = await bus.send(input as never);
      assert.equal(r.ok, false);
      assert.ok(r.code === RejectionCode.CONSTITUTIONAL_HASH_MISMATCH || r.code === RejectionCode.INVALID_MESSAGE);
    }
  });

  it('accepts every message type and every priority, and fills defaults', async (t) => {
    const bus = await makeBus(t, { clock: () => 1_000_000 });
    await register(bus, 'a', 'b');
    const rec = recorder();
    bus.subscribe('b', rec.handler);
    for (const messageType of MESSAGE_TYPES) assertDelivered(await bus.send(msg('a', 'b', { messageType })));
    for (const priority of [0, 1, 2, 3] as const) assertDelivered(await bus.send(msg('a', 'b', { priority })));
    assert.equal(rec.seen.length, MESSAGE_TYPES.length + 4);
    const first = rec.seen[0]!.message;
    assert.match(first.messageId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a UUID v4 is generated');
    assert.equal(first.conversationId, first.messageId, 'conversationId defaults to the messageId');
    assert.equal(first.createdAt, 1_000_000);
    assert.equal(rec.seen[MESSAGE_TYPES.length]!.message.messageType, 'command', 'messageType defaults to command');
    assert.equal(rec.seen[MESSAGE_TYPES.length + 1]!.message.priority, 1);
  });

  it('accepts every optional field with valid values and hands them on unchanged', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', { agentId: 'b', tenantId: 'acme', capabilities: ['x'] });
    const rec = recorder();
    bus.subscribe('b', rec.handler);
    const input = msg('a', 'b', {
      messageId: 'msg-1:a/b@c+d=e.f_g',
      conversationId: 'conv-1',
      correlationId: 'corr-1',
      messageType: 'event',
      payload: { p: [1, 'two', null, true, { q: 1.5 }] },
      headers: { 'x-trace': 'abc' },
      priority: 3,
      createdAt: 5,
      expiresAt: Date.now() + 60_000,
      requiredCapabilities: ['x'],
      metadata: { m: { n: 'o' } },
    });
    assertDelivered(await bus.send(input));
    const got = rec.seen[0]!.message as AgentMessage & Record<string, unknown>;
    for (const [key, value] of Object.entries(input)) assert.deepEqual(got[key], value, key);
  });
});

describe('size and depth limits: MESSAGE_TOO_LARGE', () => {
  async function sizeBus(t: Parameters<typeof makeBus>[0], options = {}): Promise<AgentBus> {
    const bus = await makeBus(t, { screen: false, ...options });
    await register(bus, 'a', 'b');
    return bus;
  }

  it('content of exactly 256 KiB (ASCII) passes; one byte more is refused', async (t) => {
    const bus = await sizeBus(t);
    const overhead = JSON.stringify({ s: '' }).length; // {"s":""} = 8
    assertDelivered(await bus.send(msg('a', 'b', { content: { s: 'x'.repeat(LIMIT - overhead) } })));
    const r = await bus.send(msg('a', 'b', { content: { s: 'x'.repeat(LIMIT - overhead + 1) } }));
    assertRejected(r, RejectionCode.MESSAGE_TOO_LARGE);
    assert.match(r.reason!, new RegExp(`${LIMIT + 1} bytes`));
  });

  it('counts UTF-8 bytes exactly near the limit: 3-byte and 4-byte characters', async (t) => {
    const bus = await sizeBus(t);
    const overhead = 8;
    // '€' is 3 bytes in UTF-8, one UTF-16 unit. 87378 × 3 = 262134; + 2 ASCII = 262136 = LIMIT - 8.
    const euros = '€'.repeat(87_378);
    assert.equal(Buffer.byteLength(JSON.stringify({ s: euros + 'xx' })), LIMIT);
    assertDelivered(await bus.send(msg('a', 'b', { content: { s: euros + 'xx' } })));
    assertRejected(await bus.send(msg('a', 'b', { content: { s: euros + 'xxx' } })), RejectionCode.MESSAGE_TOO_LARGE);
    // '😀' is 4 bytes, two UTF-16 units. 65534 × 4 = 262136.
    const faces = '😀'.repeat(65_534);
    assert.equal(Buffer.byteLength(JSON.stringify({ s: faces })), LIMIT);
    assertDelivered(await bus.send(msg('a', 'b', { content: { s: faces } })));
    assertRejected(await bus.send(msg('a', 'b', { content: { s: faces + 'x' } })), RejectionCode.MESSAGE_TOO_LARGE);
    // 'é' is 2 bytes: 131068 × 2 = 262136.
    assertDelivered(await bus.send(msg('a', 'b', { content: { s: 'é'.repeat(131_068) } })));
    assertRejected(await bus.send(msg('a', 'b', { content: { s: 'é'.repeat(131_068) + 'x' } })), RejectionCode.MESSAGE_TOO_LARGE);
    assert.equal(overhead, 8);
  });

  it('counts JSON escapes: control characters and quotes', async (t) => {
    const bus = await sizeBus(t);
    // "\u0001" serialises as 6 bytes; '"' as 2.
    const ctl = '\u0001'.repeat(43_689); // 262134
    assert.equal(Buffer.byteLength(JSON.stringify({ s: ctl + 'xx' })), LIMIT);
    assertDelivered(await bus.send(msg('a', 'b', { content: { s: ctl + 'xx' } })));
    assertRejected(await bus.send(msg('a', 'b', { content: { s: ctl + 'xxx' } })), RejectionCode.MESSAGE_TOO_LARGE);
    const quotes = '"'.repeat(131_068);
    assertDelivered(await bus.send(msg('a', 'b', { content: { s: quotes } })));
    assertRejected(await bus.send(msg('a', 'b', { content: { s: quotes + '"' } })), RejectionCode.MESSAGE_TOO_LARGE);
  });

  it('payload and metadata count towards the limit', async (t) => {
    const bus = await sizeBus(t);
    const third = Math.floor(LIMIT / 3);
    const small = { s: 'x'.repeat(third - 8) };
    assertDelivered(await bus.send(msg('a', 'b', { content: small, payload: small, metadata: small })));
    const big = { s: 'x'.repeat(third) };
    assertRejected(await bus.send(msg('a', 'b', { content: small, payload: big, metadata: big })), RejectionCode.MESSAGE_TOO_LARGE);
    assertRejected(await bus.send(msg('a', 'b', { content: {}, payload: { s: 'x'.repeat(LIMIT) } })), RejectionCode.MESSAGE_TOO_LARGE);
    assertRejected(await bus.send(msg('a', 'b', { content: {}, metadata: { s: 'x'.repeat(LIMIT) } })), RejectionCode.MESSAGE_TOO_LARGE);
  });

  it('many small fields add up', async (t) => {
    const bus = await sizeBus(t);
    const content: Record<string, number> = {};
    for (let i = 0; i < 30_000; i++) content[`k${i}`] = i;
    assertRejected(await bus.send(msg('a', 'b', { content })), RejectionCode.MESSAGE_TOO_LARGE);
    const list = Array.from({ length: 30_000 }, () => 123456789); // 300,010 bytes
    assertRejected(await bus.send(msg('a', 'b', { content: { list } })), RejectionCode.MESSAGE_TOO_LARGE);
    assertDelivered(await bus.send(msg('a', 'b', { content: { list: list.slice(0, 26_000) } })));
  });

  it('a custom maxContentBytes is exact too', async (t) => {
    const bus = await sizeBus(t, { limits: { maxContentBytes: 100 } });
    assertDelivered(await bus.send(msg('a', 'b', { content: { s: 'x'.repeat(92) } })));
    assertRejected(await bus.send(msg('a', 'b', { content: { s: 'x'.repeat(93) } })), RejectionCode.MESSAGE_TOO_LARGE);
  });

  function nest(levels: number, leaf: unknown = 1, useArrays = false): Record<string, unknown> {
    // `levels` = depth of the returned object, the object itself being depth 1.
    let v: unknown = leaf;
    for (let i = 1; i < levels; i++) v = useArrays && i % 2 === 0 ? [v] : { n: v };
    return { n: v };
  }

  it('nesting depth 32 passes, 33 is refused (objects, arrays, payload, metadata)', async (t) => {
    const bus = await sizeBus(t);
    assertDelivered(await bus.send(msg('a', 'b', { content: nest(32) })));
    assertRejected(await bus.send(msg('a', 'b', { content: nest(33) })), RejectionCode.MESSAGE_TOO_LARGE);
    assertDelivered(await bus.send(msg('a', 'b', { content: nest(32, 1, true) })));
    assertRejected(await bus.send(msg('a', 'b', { content: nest(33, 1, true) })), RejectionCode.MESSAGE_TOO_LARGE);
    assertRejected(await bus.send(msg('a', 'b', { payload: nest(33) })), RejectionCode.MESSAGE_TOO_LARGE);
    assertRejected(await bus.send(msg('a', 'b', { metadata: nest(33) })), RejectionCode.MESSAGE_TOO_LARGE);
    // Empty containers count as a level too.
    assertRejected(await bus.send(msg('a', 'b', { content: nest(32, {}) })), RejectionCode.MESSAGE_TOO_LARGE);
    assertRejected(await bus.send(msg('a', 'b', { content: nest(32, []) })), RejectionCode.MESSAGE_TOO_LARGE);
  });

  it('very deep nesting (100,000 levels) is refused without a stack overflow', async (t) => {
    const bus = await sizeBus(t);
    const r = await bus.send(msg('a', 'b', { content: nest(100_000) }));
    assertRejected(r, RejectionCode.MESSAGE_TOO_LARGE);
    assert.match(r.reason!, /deeper than 32/);
  });

  it('a custom maxDepth applies', async (t) => {
    const bus = await sizeBus(t, { limits: { maxDepth: 3 } });
    assertDelivered(await bus.send(msg('a', 'b', { content: nest(3) })));
    assertRejected(await bus.send(msg('a', 'b', { content: nest(4) })), RejectionCode.MESSAGE_TOO_LARGE);
  });

  it('a custom maxIdLength applies to ids', async (t) => {
    const bus = await sizeBus(t, { limits: { maxIdLength: 8 } });
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'x'.repeat(8) })));
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'y'.repeat(9) })), RejectionCode.INVALID_MESSAGE);
  });
});
