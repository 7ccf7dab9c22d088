import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FileSink, MemorySink, openJournal, type JournalSink } from '../../src/journal/index.js';
import { entry, tempDir } from './helpers.js';

/** Every sink (file, memory, and later Redis / JetStream) must pass the same contract. */
const sinks: Array<{ name: string; make: () => Promise<{ sink: JournalSink; cleanup: () => Promise<void> }> }> = [
  { name: 'MemorySink', make: async () => ({ sink: new MemorySink(), cleanup: async () => undefined }) },
  {
    name: 'FileSink',
    make: async () => {
      const { dir, cleanup } = await tempDir();
      return { sink: new FileSink({ dir, fsync: 'never' }), cleanup };
    },
  },
];

for (const { name, make } of sinks) {
  describe(`JournalSink contract: ${name}`, () => {
    it('opens empty, takes batches in order, reads the tail back, counts bytes, closes idempotently', async () => {
      const { sink, cleanup } = await make();
      try {
        const journal = await openJournal({ sink, maxBatchRecords: 3 });
        assert.equal(journal.openReport.created, true);
        assert.equal(journal.openReport.head.seq, 0);
        for (let i = 1; i <= 7; i++) journal.append(entry(i));
        await journal.flush();
        const stats = journal.stats();
        assert.equal(stats.recordsWritten, 7);
        assert.equal(stats.sealedBatches, 3);
        assert.ok(stats.bytesWritten > 7 * 100, `bytes counted (${stats.bytesWritten})`);
        assert.ok(stats.currentFile !== null);
        assert.deepEqual((await journal.tail(4)).map((r) => r.seq), [4, 5, 6, 7]);
        assert.deepEqual((await journal.tail(100)).map((r) => r.seq), [1, 2, 3, 4, 5, 6, 7]);
        assert.deepEqual(await journal.tail(0), []);
        await journal.close();
        await journal.close();
        await sink.close();
      } finally {
        await cleanup();
      }
    });
  });
}
