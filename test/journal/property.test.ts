import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { openJournal, readJournalTail, verifyJournal, type JournalEntry } from '../../src/journal/index.js';
import { tempDir } from './helpers.js';

const text = fc.string({ unit: 'binary', maxLength: 40 });
const jsonValue = fc.jsonValue({ maxDepth: 3 });

const entryArb: fc.Arbitrary<JournalEntry> = fc.record(
  {
    type: fc.constantFrom('message.delivered', 'message.rejected', 'message.held', 'policy.decision', 'policy.fail_open', 'deliberation.approved'),
    at: fc.integer({ min: 0, max: 2 ** 45 }),
    tenantId: text,
    messageId: text,
    fromAgent: text,
    toAgent: text,
    recipients: fc.array(text, { maxLength: 4 }),
    code: text,
    reason: text,
    constitutionalHash: text,
    details: fc.dictionary(text, jsonValue, { maxKeys: 4 }),
  },
  { requiredKeys: ['type', 'at'] },
);

/** The record a journal entry should read back as (JSON semantics: -0 becomes 0). */
function expected(entry: JournalEntry, seq: number): Record<string, unknown> {
  return JSON.parse(JSON.stringify({ seq, ...entry })) as Record<string, unknown>;
}

describe('journal properties', () => {
  it('any sequence of entries round-trips, verifies, and reopens at the same head', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 8 }), async (entries, batch) => {
        const { dir, cleanup } = await tempDir();
        try {
          const journal = await openJournal({ dir, maxBatchRecords: batch, fsync: 'never' });
          for (const entry of entries) assert.equal(journal.append(entry), true);
          await journal.close();
          const records = await readJournalTail(dir, entries.length);
          assert.equal(records.length, entries.length);
          records.forEach((record, i) => {
            const { seq, ...rest } = record;
            assert.deepEqual({ seq, ...rest }, expected(entries[i]!, i + 1));
          });
          const report = await verifyJournal(dir);
          assert.equal(report.ok, true, JSON.stringify(report.issues));
          assert.equal(report.seals, Math.ceil(entries.length / batch));
          const reopened = await openJournal({ dir, fsync: 'never' });
          assert.deepEqual(reopened.openReport.head, journal.stats().head);
          await reopened.close();
        } finally {
          await cleanup();
        }
      }),
      { numRuns: 40 },
    );
  });

  it('any single-byte change anywhere in the journal is detected', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const journal = await openJournal({ dir, maxBatchRecords: 5, fsync: 'never' });
      const sample = fc.sample(entryArb, { numRuns: 23, seed: 42 });
      for (const entry of sample) journal.append(entry);
      await journal.close();
      const file = path.join(dir, 'journal-000001.jsonl');
      const original = await readFile(file);
      assert.equal((await verifyJournal(dir)).ok, true);
      await fc.assert(
        fc.asyncProperty(fc.nat({ max: original.length - 1 }), fc.integer({ min: 1, max: 255 }), async (position, delta) => {
          const changed = Buffer.from(original);
          changed[position] = (changed[position]! + delta) & 0xff;
          await writeFile(file, changed);
          try {
            const report = await verifyJournal(dir);
            assert.equal(report.ok, false, `byte ${position} changed by ${delta} went unnoticed`);
            assert.ok(report.issues.length > 0);
          } finally {
            await writeFile(file, original);
          }
        }),
        { numRuns: 300 },
      );
    } finally {
      await cleanup();
    }
  });
});
