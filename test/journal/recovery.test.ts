import assert from 'node:assert/strict';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BusError } from '../../src/errors.js';
import { openJournal, verifyJournal } from '../../src/journal/index.js';
import { entry, readLines, tempDir, writeJournal, writeLines } from './helpers.js';

const FILE = 'journal-000001.jsonl';

describe('journal: recovery on open', () => {
  it('reseals complete unsealed records, discards what does not continue the chain, keeps the cut bytes', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeJournal(dir, 8);
      const file = path.join(dir, FILE);
      const lines = await readLines(file);
      // Records 9 and 10 as a crashed writer would have left them (no seal), then a stray line
      // that does not continue the chain, then half a line.
      const r9 = lines[0]!.replace('"seq":1,', '"seq":9,');
      const r10 = lines[1]!.replace('"seq":2,', '"seq":10,');
      const stray = lines[2]!.replace('"seq":3,', '"seq":42,');
      await appendFile(file, `${r9}\n${r10}\n${stray}\n{"seq":11,"ty`);

      const journal = await openJournal({ dir });
      const report = journal.openReport;
      assert.deepEqual(report.unsealed, { resealed: 2, discarded: 1, firstSeq: 9, lastSeq: 10 });
      assert.deepEqual(report.tornTail, { file: FILE, bytes: 13 });
      assert.ok(report.savedTo !== null);
      const saved = await readFile(path.join(dir, report.savedTo), 'utf8');
      assert.equal(saved, `${r9}\n${r10}\n${stray}\n{"seq":11,"ty`, 'every cut byte is preserved');
      await journal.close();

      const verified = await verifyJournal(dir);
      assert.equal(verified.ok, true, JSON.stringify(verified.issues));
      assert.deepEqual(verified.recoverySeals.map((s) => [s.resealed, s.discarded, s.tornBytes]), [[2, 1, 13]]);
      const after = await readLines(file);
      // ..., r9, r10, recovery seal, journal.recovered record, its seal
      assert.deepEqual(after.slice(-5, -3), [r9, r10], 'resealed records keep their exact bytes');
      assert.match(after.at(-3)!, /"recovery":\{"discarded":1,"reason":"unsealed_tail","tornBytes":13\}/);
      assert.match(after.at(-2)!, /"type":"journal.recovered"/);
    } finally {
      await cleanup();
    }
  });

  it('continues from the previous file when the newest file is empty (crash right after rotation)', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const first = await writeJournal(dir, 12, { maxFileBytes: 2000 });
      const files = (await readdir(dir)).filter((name) => name.endsWith('.jsonl')).sort();
      const next = `journal-${String(files.length + 1).padStart(6, '0')}.jsonl`;
      await writeFile(path.join(dir, next), '');
      const journal = await openJournal({ dir, maxFileBytes: 2000 });
      assert.deepEqual(journal.openReport.head, first.stats().head);
      assert.equal(journal.openReport.savedTo, null);
      journal.append(entry(13));
      await journal.close();
      const report = await verifyJournal(dir);
      assert.equal(report.ok, true, JSON.stringify(report.issues));
      assert.equal(report.head?.seq, 13);
    } finally {
      await cleanup();
    }
  });

  it('refuses to continue a chain whose head seal is corrupt', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await writeJournal(dir, 8);
      const file = path.join(dir, FILE);
      const lines = await readLines(file);
      lines[lines.length - 1] = lines.at(-1)!.replace('"count":4', '"count":3');
      await writeLines(file, lines);
      await assert.rejects(openJournal({ dir }), (error: unknown) => error instanceof BusError && error.code === 'CONFLICT' && /head seal is invalid/.test(error.message));
      // The failed open released the lock.
      await assert.rejects(openJournal({ dir }), /head seal is invalid/);
    } finally {
      await cleanup();
    }
  });
});
