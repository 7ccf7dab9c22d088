import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MESSAGE_TYPES } from '../../src/message/constants.js';
import { MESSAGE_DIGEST_TAG, messageDigest, messageDigestText } from '../../src/message/digest.js';
import type { AgentMessage } from '../../src/message/schema.js';

/** The definition in docs/journal.md, written the slow, obvious way. */
function referenceText(m: AgentMessage): string {
  return JSON.stringify([
    MESSAGE_DIGEST_TAG,
    m.messageId,
    m.conversationId,
    m.correlationId ?? null,
    m.fromAgent,
    m.toAgent ?? null,
    m.messageType,
    m.tenantId,
    m.priority,
    m.constitutionalHash,
    m.createdAt,
    m.expiresAt ?? null,
    m.requiredCapabilities ?? null,
    m.headers ?? null,
    m.content,
    m.payload ?? null,
    m.metadata ?? null,
  ]);
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Keys JSON and V8 treat specially: array-index-like keys are enumerated first, in numeric order. */
const key = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('0', '1', '2', '10', '01', '-1', '1.5', '4294967294', '4294967295', '9007199254740993', '__proto__', 'constructor', 'toString', ''),
);

/** Values as a caller could hand them in: -0, NaN, undefined inside objects and arrays, lone surrogates. */
const { value: freeValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'binary', maxLength: 12 }),
    fc.double(),
    fc.constantFrom(-0, 0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 5e-324, Number.MAX_SAFE_INTEGER + 2),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('value'), { maxLength: 4 }),
    tie('object'),
  ),
  object: fc.dictionary(key, tie('value'), { maxKeys: 5 }),
}));
const freeObject = fc.dictionary(key, freeValue, { maxKeys: 6 }) as fc.Arbitrary<Record<string, unknown>>;

const id = fc.oneof(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }));
const epochMs = fc.integer({ min: 0, max: 2 ** 45 });

const messageArb: fc.Arbitrary<AgentMessage> = fc.record({
  messageId: id,
  conversationId: id,
  correlationId: fc.option(id, { nil: undefined }),
  fromAgent: id,
  toAgent: fc.option(id, { nil: undefined }),
  messageType: fc.constantFrom(...MESSAGE_TYPES),
  content: freeObject,
  payload: fc.option(freeObject, { nil: undefined }),
  headers: fc.option(fc.dictionary(key, fc.string({ unit: 'binary', maxLength: 16 }), { maxKeys: 4 }), { nil: undefined }),
  tenantId: id,
  priority: fc.constantFrom(0, 1, 2, 3),
  constitutionalHash: fc.string({ minLength: 1, maxLength: 64 }),
  createdAt: epochMs,
  expiresAt: fc.option(epochMs, { nil: undefined }),
  requiredCapabilities: fc.option(fc.array(id, { maxLength: 4 }), { nil: undefined }),
  metadata: fc.option(freeObject, { nil: undefined }),
});

const FIELDS = [
  'messageId',
  'conversationId',
  'correlationId',
  'fromAgent',
  'toAgent',
  'messageType',
  'content',
  'payload',
  'headers',
  'tenantId',
  'priority',
  'constitutionalHash',
  'createdAt',
  'expiresAt',
  'requiredCapabilities',
  'metadata',
] as const satisfies ReadonlyArray<keyof AgentMessage>;

function sample(overrides: Partial<AgentMessage> = {}): AgentMessage {
  return {
    messageId: 'msg-1',
    conversationId: 'conv-1',
    correlationId: undefined,
    fromAgent: 'planner',
    toAgent: 'executor',
    messageType: 'command',
    content: { action: 'read', resource: 'doc-1' },
    payload: undefined,
    headers: undefined,
    tenantId: 'acme',
    priority: 1,
    constitutionalHash: 'cdd01ef066bc6cf2',
    createdAt: 1_764_245_000_000,
    expiresAt: undefined,
    requiredCapabilities: undefined,
    metadata: undefined,
    ...overrides,
  };
}

describe('messageDigest', () => {
  it('is the SHA-256 of the documented array, for any message', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const reference = referenceText(m);
        assert.equal(messageDigestText(m), reference);
        assert.equal(messageDigest(m), sha256(reference));
      }),
      { numRuns: 500 },
    );
  });

  it('is stable across a JSON round trip and a structured clone', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const digest = messageDigest(m);
        const parsed = JSON.parse(JSON.stringify(m)) as AgentMessage;
        assert.equal(messageDigest(parsed), digest);
        assert.equal(messageDigest(JSON.parse(JSON.stringify(parsed)) as AgentMessage), digest);
        assert.equal(messageDigest(structuredClone(m)), digest);
      }),
      { numRuns: 500 },
    );
  });

  it('the special cases of a round trip: integer-like keys, -0, undefined inside objects and arrays', () => {
    const m = sample({ content: { b: 1, 10: 'ten', a: -0, 2: [undefined, -0, Number.NaN], gone: undefined, '01': 'not an index' } });
    const parsed = JSON.parse(JSON.stringify(m)) as AgentMessage;
    assert.deepEqual(Object.keys(parsed.content), ['2', '10', 'b', 'a', '01']);
    assert.equal(messageDigest(parsed), messageDigest(m));
    assert.equal(messageDigest(sample({ content: { x: -0 } })), messageDigest(sample({ content: { x: 0 } })), 'JSON has no -0');
    assert.equal(messageDigest(sample({ payload: { x: undefined } })), messageDigest(sample({ payload: {} })), 'an undefined value is an absent key');
  });

  it('changes when any field changes', () => {
    const fieldValue: Record<(typeof FIELDS)[number], fc.Arbitrary<unknown>> = {
      messageId: id,
      conversationId: id,
      correlationId: fc.option(id, { nil: undefined }),
      fromAgent: id,
      toAgent: fc.option(id, { nil: undefined }),
      messageType: fc.constantFrom(...MESSAGE_TYPES),
      content: freeObject,
      payload: fc.option(freeObject, { nil: undefined }),
      headers: fc.option(fc.dictionary(key, fc.string({ maxLength: 8 }), { maxKeys: 3 }), { nil: undefined }),
      tenantId: id,
      priority: fc.constantFrom(0, 1, 2, 3),
      constitutionalHash: fc.string({ minLength: 1, maxLength: 64 }),
      createdAt: epochMs,
      expiresAt: fc.option(epochMs, { nil: undefined }),
      requiredCapabilities: fc.option(fc.array(id, { maxLength: 3 }), { nil: undefined }),
      metadata: fc.option(freeObject, { nil: undefined }),
    };
    const change = fc.constantFrom(...FIELDS).chain((field) => fc.tuple(fc.constant(field), fieldValue[field]));
    fc.assert(
      fc.property(messageArb, change, (m, [field, value]) => {
        const changed = { ...m, [field]: value } as AgentMessage;
        // Only a change JSON can see is a change: e.g. {x: undefined} and {} are the same message.
        const same = JSON.stringify(m[field] ?? null) === JSON.stringify(changed[field] ?? null);
        assert.equal(messageDigest(changed) === messageDigest(m), same, `${field}: ${JSON.stringify(m[field])} -> ${JSON.stringify(value)}`);
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps absent, null-like and empty values of optional fields apart', () => {
    const base = messageDigest(sample());
    const variants = [
      sample({ correlationId: 'null' }),
      sample({ toAgent: undefined }),
      sample({ toAgent: '' }),
      sample({ payload: {} }),
      sample({ headers: {} }),
      sample({ requiredCapabilities: [] }),
      sample({ metadata: {} }),
      sample({ expiresAt: 0 }),
      sample({ content: { resource: 'doc-1', action: 'read' } }),
    ];
    const digests = new Set([base, ...variants.map(messageDigest)]);
    assert.equal(digests.size, variants.length + 1);
  });

  it('binds to the key order the message was built with (a JSON round trip keeps it)', () => {
    assert.notEqual(messageDigest(sample({ content: { a: 1, b: 2 } })), messageDigest(sample({ content: { b: 2, a: 1 } })));
  });

  it('has a fixed value for a fixed message (the definition must not drift)', () => {
    const m = sample({ headers: { trace: 'abc' }, requiredCapabilities: ['read'], expiresAt: 1_764_245_060_000 });
    assert.equal(
      messageDigestText(m),
      '["AgentMessage/2","msg-1","conv-1",null,"planner","executor","command","acme",1,"cdd01ef066bc6cf2",1764245000000,1764245060000,["read"],{"trace":"abc"},{"action":"read","resource":"doc-1"},null,null]',
    );
    assert.equal(messageDigest(m), sha256(messageDigestText(m)));
    assert.match(messageDigest(m), /^[0-9a-f]{64}$/);
  });

  it('throws on values JSON cannot hold', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    assert.throws(() => messageDigest(sample({ content: cyclic })), /circular/i);
    assert.throws(() => messageDigest(sample({ content: { n: 1n } })), /BigInt/);
  });
});
