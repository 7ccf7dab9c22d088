import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FileSink, openJournal, verifyJournal, type JournalEntry, type JournalSink, type SealedBatch } from '../../src/journal/index.js';
import { BatchEncoder } from '../../src/journal/record.js';
import { RecordHasher, type HashedBatch } from '../../src/journal/sealer.js';
import { TapeEncoder } from '../../src/journal/tape.js';
import { messageDigest } from '../../src/message/digest.js';
import type { AgentMessage } from '../../src/message/schema.js';
import { entry, message, readLines, tempDir } from './helpers.js';

/** Both encodings of the same entries, sealed by the same hasher. */
function sealBoth(entries: readonly JournalEntry[], includeContent: boolean, first = 1): { before: HashedBatch; now: HashedBatch } {
  const hasher = new RecordHasher();
  const before = hasher.hash({ records: [new BatchEncoder(includeContent).encode(entries, 0, entries.length, first)], first, count: entries.length, at: 1 });
  const tape = new TapeEncoder(includeContent);
  // Several pieces per job, as the journal joins them under load.
  const half = entries.length >> 1;
  const pieces = half > 0 ? [tape.encode(entries, 0, half), tape.encode(entries, half, entries.length)] : [tape.encode(entries, 0, entries.length)];
  const now = new RecordHasher().hash({ records: pieces, first, count: entries.length, at: 1 });
  return { before, now };
}

function text(batch: HashedBatch): string {
  return Buffer.from(batch.chunk.buffer, batch.chunk.byteOffset, batch.length).toString('utf8');
}

function assertSameRecords(entries: readonly JournalEntry[], includeContent = false): string[] {
  const { before, now } = sealBoth(entries, includeContent);
  assert.equal(text(now), text(before));
  assert.deepEqual(Buffer.from(now.chunk.subarray(0, now.length)), Buffer.from(before.chunk.subarray(0, before.length)), 'same bytes (not only the same text)');
  assert.equal(now.root, before.root);
  assert.equal(now.leaves, before.leaves);
  return text(now).split('\n').slice(0, -1);
}

/** What a record line is by definition: JSON.stringify of its fields, the digest last. */
function definedLine(e: JournalEntry, seq: number, includeContent = false): string {
  const m = e.message;
  const line = JSON.stringify({
    seq,
    type: e.type,
    at: e.at,
    tenantId: e.tenantId ?? m?.tenantId,
    messageId: e.messageId ?? m?.messageId,
    fromAgent: e.fromAgent ?? m?.fromAgent,
    toAgent: e.toAgent ?? m?.toAgent,
    recipients: e.recipients,
    code: e.code,
    reason: e.reason,
    constitutionalHash: e.constitutionalHash ?? m?.constitutionalHash,
    details: e.details,
    message: includeContent ? m : undefined,
    digest: e.digest,
  });
  return m !== undefined && e.digest === undefined ? line.slice(0, -1) + ',"digest":"' + messageDigest(m) + '"}' : line;
}

/** An object with exactly these own enumerable properties, `__proto__` included, in this order. */
function objectOf(props: ReadonlyArray<readonly [string, unknown]>, nullProto = false): Record<string, unknown> {
  const out: Record<string, unknown> = nullProto ? (Object.create(null) as Record<string, unknown>) : {};
  for (const [name, value] of props) Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  return out;
}

// Any UTF-16 code unit: lone surrogates, control characters, quotes, backslashes, U+2028.
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));
const hostileText = fc.oneof(
  fc.string({ unit: codeUnit, maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: fc.constantFrom('a', '"', '\\', '\n', '\u0000', '\u007f', '\u2028', 'é', '\ud800', '\udc00', '😀', '/'), maxLength: 40 }),
  fc.string({ maxLength: 60 }),
);
const keyText = fc.oneof(hostileText, fc.constantFrom('__proto__', 'constructor', 'toJSON', '0', '10', '2', '-1', '01', 'digest', 'seq'));
const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, 1e21, 1e-7, 5e-324, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, 99_999_999, 100_000_000, 1_764_245_000_003),
  fc.nat(),
);
const { value: plainValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileText,
    number,
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.oneof(tie('value'), fc.constant(undefined)), { maxLength: 4 }),
    fc
      .tuple(fc.array(fc.tuple(keyText, fc.oneof(tie('value'), fc.constant(undefined))), { maxLength: 4 }), fc.boolean())
      .map(([props, nullProto]) => objectOf(props, nullProto)),
  ),
}));
const optional = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(arb, { nil: undefined });

const messageArb: fc.Arbitrary<AgentMessage> = fc
  .record({
    i: fc.nat({ max: 1_000_000 }),
    messageId: hostileText,
    fromAgent: hostileText,
    toAgent: optional(hostileText),
    tenantId: hostileText,
    content: plainValue,
    headers: optional(plainValue),
    payload: optional(plainValue),
    metadata: optional(plainValue),
    requiredCapabilities: optional(fc.array(hostileText, { maxLength: 3 })),
    priority: number,
    createdAt: number,
    expiresAt: optional(number),
    correlationId: optional(fc.oneof(hostileText, fc.constant(null))),
    // The bus's default conversation is the message itself.
    sameConversation: fc.boolean(),
  })
  .map(({ i, sameConversation, ...rest }) => {
    const m = message(i, rest as Partial<AgentMessage>);
    return sameConversation ? { ...m, conversationId: m.messageId } : m;
  });

const entryArb: fc.Arbitrary<JournalEntry> = fc.record(
  {
    type: hostileText,
    // Often the message's createdAt (the bus's shape: a message sent without one), sometimes another number.
    at: fc.oneof(fc.constant('same'), number),
    message: messageArb,
    // Often the message's own values (the bus's shape), sometimes others.
    tenantId: fc.oneof(fc.constant('same'), hostileText),
    messageId: fc.oneof(fc.constant('same'), hostileText),
    fromAgent: fc.oneof(fc.constant('same'), hostileText),
    toAgent: fc.oneof(fc.constant('same'), hostileText),
    recipients: fc.array(hostileText, { maxLength: 3 }),
    code: hostileText,
    reason: hostileText,
    constitutionalHash: fc.oneof(fc.constant('same'), hostileText),
    details: plainValue,
    digest: hostileText,
  },
  { requiredKeys: ['type', 'at'] },
).map((e) => {
  const out = { ...e } as Record<string, unknown>;
  const m = e.message as unknown as Record<string, unknown> | undefined;
  for (const name of ['tenantId', 'messageId', 'fromAgent', 'toAgent', 'constitutionalHash']) if (out[name] === 'same') out[name] = m?.[name];
  if (out['at'] === 'same') out['at'] = m?.['createdAt'] ?? 0;
  return out as unknown as JournalEntry;
});

class Shape {
  constructor(readonly label: string) {}
}

/** Entries the encoder must hand to JSON.stringify (and those at the edge of what it takes itself). */
function hostileEntries(): JournalEntry[] {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  const throwing = {
    get boom(): unknown {
      throw new Error('getter failed');
    },
  };
  let deep: unknown = 'bottom';
  for (let i = 0; i < 100; i++) deep = { d: deep };
  let deepArray: unknown = [];
  for (let i = 0; i < 70; i++) deepArray = [deepArray];
  const sparse: unknown[] = [1];
  sparse[3] = 'x';
  const arrayWithToJson = Object.assign([1, 2], { toJSON: () => 'replaced' });
  const m = message(7);
  const details = [
    { when: new Date(0) },
    { shape: new Shape('class instance') },
    { boxed: [new String('s'), new Number(1), new Boolean(false)] },
    { big: 10n },
    cyclic,
    { throwing },
    { fn: () => 1, sym: Symbol('s') },
    [() => 1, Symbol('s')],
    { toJSON: () => ({ replaced: true }) },
    { toJSON: 'not a function' },
    { nested: { toJSON: (key: string) => `key ${key}` } },
    { map: new Map([[1, 2]]), typed: new Uint8Array([1, 2]) },
    deep,
    deepArray,
    { sparse },
    { arrayWithToJson },
    objectOf([['__proto__', { polluted: true }], ['10', 'ten'], ['2', 'two'], ['b', 1], ['a', 2]]),
    objectOf([['x', undefined], ['y', null]], true),
    { numbers: [-0, NaN, Infinity, -Infinity, 1e21, 1e-7, 5e-324, 2 ** 53, 2 ** 53 + 2, 0.1 + 0.2, 99_999_999, 100_000_000, -5] },
    { text: 'quote " backslash \\ newline \n nul \u0000 del \u007f line-sep \u2028 é ✓ 😀 lone \ud800 \udfff end', long: 'x'.repeat(30) + '"' + 'y'.repeat(30) },
  ];
  const out: JournalEntry[] = details.map((d, i) => ({ type: 'policy.decision', at: 1_764_245_000_000 + i, tenantId: 'acme', details: d as Record<string, unknown>, message: i % 2 === 0 ? m : undefined }));
  out.push(
    { type: 'message.held', at: 1, message: message(8, { content: { big: 1n } as unknown as Record<string, unknown> }) },
    { type: 'message.held', at: 2, message: message(9, { content: cyclic }) },
    { type: 'message.held', at: 3, message: message(10, { content: { when: new Date(5) } }) },
    { type: 'message.held', at: 4, message: message(11, { metadata: { throwing } as unknown as Record<string, unknown> }) },
    { type: 'message.held', at: NaN, message: null as unknown as AgentMessage },
    { type: 'message.held', at: -0, message: 'not a message' as unknown as AgentMessage },
    { type: 'message.delivered', at: 5, message: m, digest: 'supplied' },
    { type: 'message.delivered', at: 6, message: m, tenantId: 'other', messageId: m.messageId, fromAgent: null as unknown as string, toAgent: undefined },
    { type: 'message.delivered', at: 7, message: message(12, { toAgent: undefined }) },
    { type: 'delivery.failed', at: 8, code: 'X', reason: 'r', toAgent: 'a' },
    { type: (() => 1) as unknown as string, at: 9 },
    { type: 'x', at: 10n as unknown as number },
    { type: 'x'.repeat(300), at: 11, reason: 'é'.repeat(40) },
    // Fields that cannot even be read: recorded as {"unserializable": …}, the entry is not lost.
    {
      get type(): string {
        throw new Error('type getter failed');
      },
      at: 12,
      get details(): Record<string, unknown> {
        throw new Error('details getter failed');
      },
    },
    { type: 'message.held', at: 13, message: new Proxy(message(13), { get: () => { throw new Error('get trap failed'); } }) },
  );
  return out;
}

describe('journal tape encoding (appending thread → seal worker)', () => {
  it('writes the bus entries byte for byte as JSON.stringify did, digests included', () => {
    const entries: JournalEntry[] = [];
    for (let i = 0; i < 300; i++) {
      const m = message(i, { content: { action: 'summarise', document: `report ${i}`, detail: 'short' } });
      entries.push(
        i % 10 === 0
          ? { type: 'message.rejected', at: m.createdAt, messageId: m.messageId, tenantId: m.tenantId, fromAgent: m.fromAgent, toAgent: m.toAgent, code: 'POLICY_DENIED', reason: 'denied by policy', constitutionalHash: m.constitutionalHash, details: { policy: { allow: false, policyIds: ['limits'] } }, message: m }
          : { type: 'message.delivered', at: m.createdAt, messageId: m.messageId, tenantId: m.tenantId, fromAgent: m.fromAgent, toAgent: m.toAgent, recipients: [m.toAgent!], constitutionalHash: m.constitutionalHash, details: { policy: { allow: true, policyIds: ['baseline-permit'], bundleHash: 'cdd01ef066bc6cf2', cached: i % 3 === 0, failOpen: undefined } }, message: m },
        entry(i),
      );
    }
    const lines = assertSameRecords(entries);
    assert.deepEqual(lines, entries.map((e, i) => definedLine(e, i + 1)));
  });

  it('hostile values: exact where the walk takes them, JSON.stringify (and its error handling) where it does not', () => {
    const entries = hostileEntries();
    const lines = assertSameRecords(entries);
    assert.equal(lines.length, entries.length);
    assert.deepEqual(assertSameRecords(entries, true).length, entries.length);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(parsed[3]!['details'], { unserializable: 'Do not know how to serialize a BigInt' });
    assert.match(String(parsed[20]!['digestError']), /BigInt/);
    assert.equal(Object.keys(parsed[16]!['details'] as object)[0], '2', 'integer-like keys first, as JSON.stringify writes them');
    assert.ok(lines[16]!.includes('"__proto__":{"polluted":true}'));
    assert.equal(lines[21]!.includes('digestError'), true, 'a cyclic content is a digest error, as before');
    assert.ok(lines[15]!.includes('"arrayWithToJson":"replaced"'));
    assert.deepEqual(parsed.at(-2), { seq: entries.length - 1, type: { unserializable: 'type getter failed' }, at: 12, details: { unserializable: 'details getter failed' } });
    const proxied = parsed.at(-1)!;
    assert.deepEqual([proxied['tenantId'], proxied['digestError']], [{ unserializable: 'get trap failed' }, 'get trap failed']);
  });

  it('leaves out an enumerable property added to Object.prototype, as JSON.stringify does', () => {
    const proto = Object.prototype as Record<string, unknown>;
    try {
      proto['polluted'] = 'inherited, not own';
      const lines = assertSameRecords(Array.from({ length: 5 }, (_, i) => entry(i)));
      assert.ok(!lines.some((line) => line.includes('polluted')));
    } finally {
      delete proto['polluted'];
    }
  });

  it('any entry (random text, numbers, nesting, __proto__ keys, null prototypes): same bytes as JSON.stringify', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 12 }), fc.boolean(), (entries, includeContent) => {
        const lines = assertSameRecords(entries, includeContent);
        assert.deepEqual(lines, entries.map((e, i) => definedLine(e, i + 1, includeContent)));
      }),
      { numRuns: 300 },
    );
  });

  it('frozen details (shared by the bus for cached decisions) are encoded once, and only when frozen all the way down with data properties', () => {
    const view = Object.freeze({ allow: true, policyIds: Object.freeze(['baseline-permit']), bundleHash: 'cdd01ef066bc6cf2', cached: true });
    const shared = Object.freeze({ policy: view });
    const shallow = Object.freeze({ policy: { allow: true, policyIds: ['p-1'] } });
    const entries: JournalEntry[] = [];
    for (let i = 0; i < 6; i++) {
      entries.push({ ...entry(i), details: shared });
      entries.push({ ...entry(i), details: { policy: view, impact: { score: i / 10, lane: 'fast' } } });
      entries.push({ ...entry(i), details: shallow });
    }
    const before = assertSameRecords(entries);
    // Mutating what was not deeply frozen shows up in the next records: its text was not kept.
    (shallow.policy.policyIds as string[]).push('p-2');
    const after = assertSameRecords(entries);
    assert.ok(before[2]!.includes('"policyIds":["p-1"]'));
    assert.ok(after[2]!.includes('"policyIds":["p-1","p-2"]'));
    assert.deepEqual(after, entries.map((e, i) => definedLine(e, i + 1)));

    // A frozen object with a getter is read again for every record.
    let reads = 0;
    const withGetter = Object.freeze(Object.defineProperty({}, 'n', { enumerable: true, get: () => ++reads }));
    const encoder = new TapeEncoder(false);
    for (let i = 0; i < 3; i++) encoder.add({ ...entry(i), details: withGetter });
    const lines = text(new RecordHasher().hash({ records: [encoder.take()], first: 1, count: 3, at: 1 })).split('\n');
    assert.deepEqual([0, 1, 2].map((i) => /"details":\{"n":(\d+)\}/.exec(lines[i]!)?.[1]), ['1', '2', '3']);
  });

  it('add() encodes an entry when it is appended: later changes to it are not recorded', () => {
    const encoder = new TapeEncoder(false);
    const e = { ...entry(1), details: { note: 'as appended' } };
    const expected = definedLine(e, 1);
    encoder.add(e);
    (e.details as Record<string, unknown>).note = 'changed later';
    const piece = encoder.take();
    assert.equal(piece.count, 1);
    assert.equal(encoder.count, 0);
    const line = text(new RecordHasher().hash({ records: [piece], first: 1, count: 1, at: 1 })).split('\n')[0];
    assert.equal(line, expected);
  });

  it('reuses the buffers the sealer gives back, and a piece stays intact until then', () => {
    const encoder = new TapeEncoder(false);
    const entries = Array.from({ length: 50 }, (_, i) => entry(i));
    const first = encoder.encode(entries, 0, 25);
    const firstBytes = Buffer.from(first.bytes.subarray(0, first.bytesLength));
    const second = encoder.encode(entries, 25, 50);
    assert.notEqual(second.bytes.buffer, first.bytes.buffer, 'a piece not given back is not written again');
    assert.deepEqual(Buffer.from(first.bytes.subarray(0, first.bytesLength)), firstBytes);
    const hashed = new RecordHasher().hash({ records: [first], first: 1, count: 25, at: 1 });
    assert.deepEqual(hashed.spent, [first]);
    for (const piece of hashed.spent) encoder.recycle(piece);
    const third = encoder.encode(entries, 0, 25);
    assert.notEqual(third.bytes.buffer, second.bytes.buffer);
    const fourth = encoder.encode(entries, 0, 25);
    assert.equal(fourth.bytes.buffer, first.bytes.buffer, 'the recycled buffers are written again');
    assert.equal(text(new RecordHasher().hash({ records: [fourth], first: 1, count: 25, at: 1 })), text(sealBoth(entries.slice(0, 25), false).before));
  });

  it('a crash in the middle of a batch of tape-encoded and fallback records: recovery reseals and the journal verifies', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const entries = [...hostileEntries(), ...Array.from({ length: 40 }, (_, i) => entry(i))];
      // A sink that writes the third batch only partly (a crash mid-write), then fails.
      class TornSink implements JournalSink {
        private writes = 0;
        constructor(readonly inner: FileSink) {}
        open() {
          return this.inner.open();
        }
        async write(chunk: Uint8Array, batch: SealedBatch): Promise<void> {
          if (++this.writes === 3) {
            const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
            await this.inner.write(bytes.subarray(0, bytes.lastIndexOf(10, bytes.length >> 1) + 9), batch);
            throw new Error('crash');
          }
          return this.inner.write(chunk, batch);
        }
        sync() {
          return this.inner.sync();
        }
        close() {
          return this.inner.close();
        }
        readTail(n: number) {
          return this.inner.readTail(n);
        }
        stats() {
          return this.inner.stats();
        }
      }
      const journal = await openJournal({ sink: new TornSink(new FileSink({ dir })), maxBatchRecords: 16 });
      for (const e of entries) journal.append(e);
      await assert.rejects(journal.flush(), /crash/);
      await journal.close().catch(() => undefined);

      const before = await verifyJournal(dir);
      assert.equal(before.ok, false, 'the torn batch shows before recovery');
      const reopened = await openJournal({ dir });
      assert.ok(reopened.openReport.unsealed.resealed > 0, JSON.stringify(reopened.openReport));
      assert.ok(reopened.openReport.tornTail !== null);
      await reopened.close();
      const after = await verifyJournal(dir);
      assert.equal(after.ok, true, JSON.stringify(after.issues));
      // Every record kept is the one written: its line is the reference encoding of its entry.
      const { now } = sealBoth(entries, false);
      const expected = text(now).split('\n').slice(0, -1);
      const records = (await readLines(path.join(dir, 'journal-000001.jsonl'))).filter((line) => line.startsWith('{"seq":'));
      const kept = records.filter((line) => !line.includes('"type":"journal.recovered"'));
      assert.ok(kept.length > 32 && kept.length < entries.length, `kept ${kept.length}`);
      assert.deepEqual(kept, expected.slice(0, kept.length));
      assert.ok((await readFile(path.join(dir, reopened.openReport.savedTo!), 'utf8')).length > 0);
    } finally {
      await cleanup();
    }
  });
});
