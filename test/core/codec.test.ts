import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AgentBus, CONSTITUTIONAL_HASH, decodeWireMessage, encodeMessage, MESSAGE_TYPES, RejectionCode, type AgentMessage } from '../../src/index.js';
import { CORE_ONLY, isRejectionCode } from '../helpers/core.js';

const SNAKE: Record<string, string> = {
  messageId: 'message_id',
  conversationId: 'conversation_id',
  correlationId: 'correlation_id',
  fromAgent: 'from_agent',
  toAgent: 'to_agent',
  messageType: 'message_type',
  tenantId: 'tenant_id',
  constitutionalHash: 'constitutional_hash',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
  requiredCapabilities: 'required_capabilities',
};

const id = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:@/+=-]{0,20}$/);
const wireMessage = fc.record(
  {
    messageId: id,
    conversationId: id,
    correlationId: id,
    fromAgent: fc.constantFrom('a', 'b'),
    toAgent: fc.constantFrom('a', 'b', 'c'),
    messageType: fc.constantFrom(...MESSAGE_TYPES),
    content: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 })),
    payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
    headers: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })),
    tenantId: fc.constantFrom('acme', 'ACME', ' acme ', 'globex'),
    priority: fc.constantFrom<number | string>(0, 1, 2, 3, 'LOW', 'normal', 'Medium', 'HIGH', 'critical'),
    constitutionalHash: fc.constantFrom(CONSTITUTIONAL_HASH, 'bad'),
    createdAt: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    expiresAt: fc.integer({ min: 0, max: 4_000_000_000_000 }),
    requiredCapabilities: fc.array(fc.constantFrom('x', 'y'), { maxLength: 2 }),
    metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
  },
  { requiredKeys: ['fromAgent', 'content', 'tenantId', 'constitutionalHash'] },
);

/** Spells each field either in camelCase or snake_case, as the flags say. */
function spell(message: Record<string, unknown>, snakeFlags: boolean[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  Object.keys(message).forEach((key, i) => {
    out[snakeFlags[i % snakeFlags.length] && SNAKE[key] !== undefined ? SNAKE[key] : key] = message[key];
  });
  return out;
}

const plain = (v: Record<string, unknown>): Record<string, unknown> => ({ ...v });

describe('wire codec', () => {
  it('property: snake_case and camelCase spellings decode to the same input', () => {
    fc.assert(
      fc.property(wireMessage, fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }), (message, flags) => {
        const camel = decodeWireMessage(message);
        const mixed = decodeWireMessage(spell(message, flags));
        const snake = decodeWireMessage(spell(message, [true]));
        assert.ok(!('kind' in camel) && !('kind' in mixed) && !('kind' in snake));
        assert.deepEqual(plain(mixed), plain(camel));
        assert.deepEqual(plain(snake), plain(camel));
        for (const key of Object.keys(snake)) assert.ok(!key.includes('_') || !Object.values(SNAKE).includes(key), `snake key ${key} left`);
      }),
      { numRuns: 300 },
    );
  });

  it('property: both spellings get the same outcome from the bus', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false, clock: () => 1_000 });
    await bus.start();
    for (const agentId of ['a', 'b', 'c']) await bus.registerAgent({ agentId, tenantId: 'acme' });
    try {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(wireMessage, fc.array(fc.boolean(), { minLength: 1, maxLength: 16 }), async (message, flags) => {
          // Fresh ids each time so the second send is not a duplicate of the first.
          const a = { ...message, messageId: `camel-${++n}` };
          const b = spell({ ...message, messageId: `snake-${n}` }, flags);
          const ra = await bus.send(decodeWireMessage(a) as never);
          const rb = await bus.send(decodeWireMessage(b) as never);
          assert.equal(ra.ok, rb.ok);
          assert.equal(ra.code, rb.code);
          assert.deepEqual(ra.recipients, rb.recipients);
          assert.ok(ra.ok || isRejectionCode(ra.code));
        }),
        { numRuns: 200 },
      );
    } finally {
      await bus.stop();
    }
  });

  it('maps priority names case-insensitively (MEDIUM = NORMAL) and keeps numbers', () => {
    const cases: Array<[unknown, number]> = [['LOW', 0], ['normal', 1], ['MEDIUM', 1], ['medium', 1], ['High', 2], ['CRITICAL', 3], [2, 2]];
    for (const [priority, expected] of cases) {
      const out = decodeWireMessage({ priority });
      assert.ok(!('kind' in out));
      assert.equal(out.priority, expected, String(priority));
    }
  });

  it('refuses unknown priority names, including prototype names', () => {
    for (const priority of ['URGENT', '', '__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const out = decodeWireMessage({ priority });
      assert.ok('kind' in out && out.code === RejectionCode.INVALID_MESSAGE, priority);
    }
  });

  it('accepts ISO-8601 timestamps and epoch milliseconds; null timestamps are dropped', () => {
    const out = decodeWireMessage({ created_at: '2026-01-07T10:00:00Z', expiresAt: '2026-01-07T10:00:00.500+01:00', other: 1 });
    assert.ok(!('kind' in out));
    assert.equal(out.createdAt, Date.UTC(2026, 0, 7, 10, 0, 0));
    assert.equal(out.expiresAt, Date.UTC(2026, 0, 7, 9, 0, 0, 500));
    assert.equal(out.other, 1, 'unknown fields pass through for the schema to refuse');
    const nulls = decodeWireMessage({ created_at: null, expires_at: null });
    assert.ok(!('kind' in nulls));
    assert.deepEqual(Object.keys(nulls), []);
    for (const bad of ['yesterday', '2026-01-07', '10:00', '2026-13-45T99:99:99Z']) {
      const r = decodeWireMessage({ createdAt: bad });
      assert.ok('kind' in r && r.code === RejectionCode.INVALID_MESSAGE, bad);
    }
  });

  it('refuses disagreeing duplicate spellings; agreeing ones are fine', () => {
    const r = decodeWireMessage({ message_id: 'a', messageId: 'b' });
    if (!('kind' in r)) assert.fail('disagreeing spellings were accepted');
    assert.equal(r.code, RejectionCode.INVALID_MESSAGE);
    assert.match(String(r.reason), /message_id/);
    const ok = decodeWireMessage({ message_id: 'a', messageId: 'a' });
    assert.ok(!('kind' in ok));
    assert.equal(ok.messageId, 'a');
  });

  it('refuses non-objects', () => {
    for (const raw of [null, undefined, 1, 'x', [], [{}], true]) {
      const r = decodeWireMessage(raw);
      assert.ok('kind' in r && r.code === RejectionCode.INVALID_MESSAGE);
    }
  });

  it('a hostile __proto__ / constructor key is refused later and pollutes nothing', async () => {
    const raw = JSON.parse(`{"__proto__": {"polluted": true}, "from_agent": "a", "to_agent": "b", "tenant_id": "acme", "constitutional_hash": "${CONSTITUTIONAL_HASH}", "content": {}}`) as unknown;
    const withConstructor = JSON.parse(`{"constructor": {"prototype": {"polluted": true}}, "from_agent": "a", "to_agent": "b", "tenant_id": "acme", "constitutional_hash": "${CONSTITUTIONAL_HASH}", "content": {}}`) as unknown;
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.start();
    await bus.registerAgent({ agentId: 'a', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'b', tenantId: 'acme' });
    try {
      for (const input of [raw, withConstructor]) {
        const out = decodeWireMessage(input);
        assert.ok(!('kind' in out));
        assert.equal(Object.getPrototypeOf(out), null);
        assert.equal(out.fromAgent, 'a');
        const r = await bus.send(out as never);
        assert.equal(r.code, RejectionCode.INVALID_MESSAGE);
        assert.match(r.reason!, /is not a known field/);
      }
    } finally {
      await bus.stop();
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as unknown as Record<string, unknown>).polluted, undefined);
  });

  it('encodeMessage round-trips through decodeWireMessage in both styles', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.start();
    await bus.registerAgent({ agentId: 'a', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'b', tenantId: 'acme' });
    await bus.send({ fromAgent: 'a', toAgent: 'b', tenantId: 'acme', constitutionalHash: CONSTITUTIONAL_HASH, content: { q: 1 }, priority: 2, requiredCapabilities: [], headers: { h: 'v' } });
    const message = (await bus.receive('b')) as AgentMessage;
    await bus.stop();
    const snake = encodeMessage(message, 'snake');
    assert.equal(snake.from_agent, 'a');
    assert.equal(snake.message_id, message.messageId);
    assert.ok(!('fromAgent' in snake));
    assert.ok(!('payload' in snake), 'absent fields are omitted');
    const camel = encodeMessage(message);
    assert.equal(camel.fromAgent, 'a');
    const fromSnake = decodeWireMessage(snake);
    const fromCamel = decodeWireMessage(camel);
    assert.deepEqual(plain(fromSnake as Record<string, unknown>), plain(fromCamel as Record<string, unknown>));
    const defined = Object.fromEntries(Object.entries(message).filter(([, v]) => v !== undefined));
    assert.deepEqual(plain(fromCamel as Record<string, unknown>), defined);
  });
});
