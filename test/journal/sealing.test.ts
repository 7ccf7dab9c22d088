import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MemorySink, openJournal, Sealing, verifyJournal, type JournalEntry } from '../../src/journal/index.js';
import { BatchEncoder } from '../../src/journal/record.js';
import { WorkerSealBackend } from '../../src/journal/seal-backend.js';
import { messageDigest } from '../../src/message/digest.js';
import type { AgentMessage } from '../../src/message/schema.js';
import { entry, message, tempDir } from './helpers.js';

/** Entries of every shape the journal treats differently: with a message, a supplied digest, none, odd text. */
function mixedEntries(): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (let i = 1; i <= 40; i++) {
    if (i % 5 === 0) out.push({ type: 'policy.decision', at: i, tenantId: 'acme', details: { policy: `p-${i}`, score: i / 7 } });
    else if (i % 7 === 0) out.push({ type: 'message.delivered', at: i, messageId: `pre-${i}`, digest: 'a'.repeat(64) });
    else if (i % 3 === 0) out.push({ type: 'message.held', at: i, message: message(i, { content: { text: 'héllo wörld ✓ \u2028 "quoted" \\ \n', n: -0, deep: { list: [1, 'två', null] } } }), reason: 'impact 0.9' });
    else out.push(entry(i));
  }
  return out;
}

async function journalText(sealing: Sealing, entries: readonly JournalEntry[], includeContent = false): Promise<string> {
  const sink = new MemorySink();
  const journal = await openJournal({ sink, sealing, maxBatchRecords: 7, includeContent, now: () => 1_764_245_000_000 });
  for (const e of entries) assert.equal(journal.append(e), true);
  await journal.close();
  return sink.text();
}

const unicodeText = fc.string({ unit: 'binary', maxLength: 16 });
const messageArb: fc.Arbitrary<AgentMessage> = fc
  .record({
    i: fc.nat({ max: 1_000_000 }),
    content: fc.dictionary(unicodeText, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    metadata: fc.option(fc.dictionary(unicodeText, unicodeText, { maxKeys: 3 }), { nil: undefined }),
    toAgent: fc.option(unicodeText, { nil: undefined }),
  })
  .map(({ i, content, metadata, toAgent }) => message(i, { content, metadata, toAgent }));

describe('journal sealing: worker and inline', () => {
  it('write byte-identical journals for the same entries', async () => {
    const entries = mixedEntries();
    const inline = await journalText(Sealing.INLINE, entries);
    const worker = await journalText(Sealing.WORKER, entries);
    assert.equal(worker, inline);
    assert.equal(await journalText(Sealing.WORKER, entries, true), await journalText(Sealing.INLINE, entries, true));
    assert.ok(inline.includes('"digest":"' + 'a'.repeat(64) + '"}'), 'a supplied digest is kept');
  });

  it('the digest a record holds is messageDigest of its message, for any message', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(messageArb, { minLength: 1, maxLength: 12 }), fc.constantFrom(...Object.values(Sealing)), async (messages, sealing) => {
        const sink = new MemorySink();
        const journal = await openJournal({ sink, sealing, maxBatchRecords: 5 });
        for (const m of messages) journal.append({ type: 'message.delivered', at: m.createdAt, message: m });
        await journal.close();
        const records = sink.lines().filter((line) => line.startsWith('{"seq"')).map((line) => JSON.parse(line) as { digest: string; messageId: string });
        assert.deepEqual(records.map((r) => r.digest), messages.map(messageDigest));
        assert.deepEqual(records.map((r) => r.messageId), messages.map((m) => m.messageId));
      }),
      { numRuns: 60 },
    );
  });

  it('journals open at the same time share the worker and keep separate chains', async () => {
    const a = await tempDir();
    const b = await tempDir();
    try {
      const first = await openJournal({ dir: a.dir, maxBatchRecords: 3 });
      const second = await openJournal({ dir: b.dir, maxBatchRecords: 4 });
      for (let i = 1; i <= 20; i++) {
        first.append(entry(i));
        second.append(entry(100 + i));
        second.append(entry(200 + i));
      }
      await Promise.all([first.close(), second.close()]);
      assert.deepEqual({ seal: first.stats().head.seal, seq: first.stats().head.seq }, { seal: 7, seq: 20 });
      assert.deepEqual({ seal: second.stats().head.seal, seq: second.stats().head.seq }, { seal: 10, seq: 40 });
      for (const [dir, journal] of [[a.dir, first], [b.dir, second]] as const) {
        const report = await verifyJournal(dir, { expectHead: journal.stats().head });
        assert.equal(report.ok, true, JSON.stringify(report.issues));
      }
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  });

  it('a batch the worker cannot seal is refused with the reason', async () => {
    const backend = new WorkerSealBackend();
    try {
      const bytes = new BatchEncoder(false).encode([entry(1), entry(2)], 0, 2, 1);
      await assert.rejects(Promise.resolve(backend.seal({ records: [bytes], first: 1, count: 3, at: 1 })), /seal job holds fewer than 3 records/);
      const extra = new BatchEncoder(false).encode([entry(1), entry(2)], 0, 2, 1);
      await assert.rejects(Promise.resolve(backend.seal({ records: [extra], first: 1, count: 1, at: 1 })), /seal job holds more than 1 records/);
    } finally {
      backend.release();
    }
  });

  it('stats: lastSeq counts records handed to the sealer; the head reaches it once they are sealed', async () => {
    const errors: Error[] = [];
    const journal = await openJournal({ sink: new MemorySink(), onError: (error) => errors.push(error) });
    journal.append(entry(1));
    journal.append(entry(2));
    const flushed = journal.flush();
    assert.equal(journal.stats().lastSeq, 2, 'flush hands every appended record to the sealer at once');
    await flushed;
    assert.equal(journal.stats().lastSeq, 2);
    assert.equal(journal.stats().head.seq, 2, 'after flush the head has caught up with the records handed to the sealer');
    await journal.close();
    assert.deepEqual(errors, []);
  });

  it('rejects an unknown sealing option', async () => {
    await assert.rejects(openJournal({ sink: new MemorySink(), sealing: 'gpu' as never }), /sealing/);
  });
});
