import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { FileSink, MAX_SEALS_IN_FLIGHT, openJournal, verifyJournal, type JournalEntry, type JournalSink, type SealedBatch, type SinkRecovery } from '../../src/journal/index.js';
import { InlineSealBackend, WorkerSealBackend } from '../../src/journal/seal-backend.js';
import type { HashedBatch, SealJob } from '../../src/journal/sealer.js';
import { entry, tempDir } from './helpers.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function until(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** A file sink whose calls wait while `held`; records every call's batches. */
class GatedFileSink implements JournalSink {
  readonly calls: SealedBatch[][] = [];
  private held = false;
  private gate: Array<() => void> = [];
  constructor(private readonly inner: FileSink) {}
  hold(): void {
    this.held = true;
  }
  release(): void {
    this.held = false;
    for (const go of this.gate.splice(0)) go();
  }
  get waiting(): number {
    return this.gate.length;
  }
  open(): Promise<SinkRecovery> {
    return this.inner.open();
  }
  async write(chunk: Uint8Array, batch: SealedBatch): Promise<void> {
    return this.writeBatches([chunk], [batch]);
  }
  async writeBatches(chunks: readonly Uint8Array[], batches: readonly SealedBatch[]): Promise<void> {
    this.calls.push([...batches]);
    if (this.held) await new Promise<void>((resolve) => this.gate.push(resolve));
    await this.inner.writeBatches(chunks, batches);
  }
  sync(): Promise<void> {
    return this.inner.sync();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  readTail(n: number): Promise<string[]> {
    return this.inner.readTail(n);
  }
  stats() {
    return this.inner.stats();
  }
}

/** Holds the seal worker's answers until released; records the batches handed to it, and those the journal's thread hashed itself. */
function gateSealWorker(): { submitted: SealJob[]; helped: SealJob[]; release: () => void; restore: () => void } {
  const original = WorkerSealBackend.prototype.seal;
  const inline = InlineSealBackend.prototype.seal;
  const submitted: SealJob[] = [];
  const helped: SealJob[] = [];
  InlineSealBackend.prototype.seal = function (this: InlineSealBackend, job: SealJob): HashedBatch {
    helped.push(job);
    return inline.call(this, job);
  };
  let open: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => (open = resolve));
  WorkerSealBackend.prototype.seal = function (this: WorkerSealBackend, job: SealJob): Promise<HashedBatch> {
    submitted.push(job);
    const sealed = original.call(this, job);
    return gate.then(() => sealed);
  };
  return {
    submitted,
    helped,
    release: () => {
      open();
      gate = Promise.resolve();
    },
    restore: () => {
      WorkerSealBackend.prototype.seal = original;
      InlineSealBackend.prototype.seal = inline;
    },
  };
}

function seqsOf(batches: readonly SealedBatch[]): number[] {
  return batches.flatMap((b) => Array.from({ length: b.records }, (_, i) => b.firstSeq + i));
}

describe('journal pipeline: coalesced writes, batches in flight, adaptive batch size', () => {
  it('writes every batch sealed while the sink was busy in one call, in order, and the journal verifies', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const sink = new GatedFileSink(new FileSink({ dir, fsync: 'never' }));
      const journal = await openJournal({ sink, maxBatchRecords: 4, sealing: 'inline' });
      sink.hold();
      for (let i = 1; i <= 4; i++) journal.append(entry(i));
      await until(() => sink.waiting === 1);
      for (let i = 5; i <= 40; i++) journal.append(entry(i));
      await until(() => journal.stats().head.seq === 40);
      assert.equal(journal.stats().recordsWritten, 0, 'sealed while the first write is held');
      sink.release();
      await journal.flush();
      await journal.close();

      assert.deepEqual(sink.calls.map((call) => call.length), [1, 9], 'the nine batches sealed meanwhile go out in one call');
      assert.deepEqual(seqsOf(sink.calls.flat()), Array.from({ length: 40 }, (_, i) => i + 1));
      assert.equal(journal.stats().recordsWritten, 40);
      const report = await verifyJournal(dir, { expectHead: journal.stats().head });
      assert.equal(report.ok, true, JSON.stringify(report.issues));
      assert.equal(report.seals, 10);
    } finally {
      await cleanup();
    }
  });

  it('a coalesced write that crosses maxFileBytes rotates between batches, never inside one', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const sink = new GatedFileSink(new FileSink({ dir, fsync: 'never', maxFileBytes: 4000 }));
      const journal = await openJournal({ sink, maxBatchRecords: 4, sealing: 'inline' });
      sink.hold();
      journal.append(entry(1));
      await until(() => sink.waiting === 1);
      for (let i = 2; i <= 60; i++) journal.append(entry(i));
      await until(() => journal.stats().head.seq === 60);
      sink.release();
      await journal.close();
      assert.ok(sink.calls.some((call) => call.length > 3), 'batches were coalesced');
      const report = await verifyJournal(dir, { expectHead: journal.stats().head });
      assert.equal(report.ok, true, JSON.stringify(report.issues));
      assert.ok(report.files.length >= 3, `rotated into ${report.files.length} files`);
      assert.equal(report.records, 60);
    } finally {
      await cleanup();
    }
  });

  it(`keeps up to ${MAX_SEALS_IN_FLIGHT} batches at the seal worker, then seals the batches that waited together (up to maxBatchRecordsUnderLoad)`, async () => {
    const { dir, cleanup } = await tempDir();
    const worker = gateSealWorker();
    try {
      const journal = await openJournal({ dir, maxBatchRecords: 8, maxBatchRecordsUnderLoad: 32, fsync: 'never' });
      let seq = 0;
      // Waves of 8 with a turn between: each turn hands one full batch to the worker.
      for (let wave = 0; wave < MAX_SEALS_IN_FLIGHT + 6; wave++) {
        for (let k = 0; k < 8; k++) assert.equal(journal.append(entry(++seq)), true);
        await turn();
      }
      assert.equal(worker.submitted.length, MAX_SEALS_IN_FLIGHT, 'no more than the limit at the worker');
      assert.deepEqual(worker.submitted.map((job) => job.count), Array(MAX_SEALS_IN_FLIGHT).fill(8));
      assert.equal(journal.stats().lastSeq, seq, 'the waiting batches are already encoded');
      worker.release();
      await journal.flush();
      const counts = worker.submitted.map((job) => job.count);
      assert.equal(counts.reduce((a, b) => a + b, 0), seq);
      assert.ok(counts.slice(MAX_SEALS_IN_FLIGHT).some((count) => count > 8), `batches grew under backlog: ${counts.join(',')}`);
      assert.ok(counts.every((count) => count <= 32), `capped at maxBatchRecordsUnderLoad: ${counts.join(',')}`);

      // Once the pipeline is empty, batches are back to maxBatchRecords.
      for (let k = 0; k < 16; k++) journal.append(entry(++seq));
      await journal.flush();
      assert.deepEqual(worker.submitted.slice(-2).map((job) => job.count), [8, 8]);
      await journal.close();
      const report = await verifyJournal(dir, { expectHead: journal.stats().head });
      assert.equal(report.ok, true, JSON.stringify(report.issues));
      assert.equal(report.records, seq);
      assert.equal(report.seals, worker.submitted.length);
    } finally {
      worker.restore();
      await cleanup();
    }
  });

  it('batches grown under load hold at most maxPendingRecords / 8 records', async () => {
    const worker = gateSealWorker();
    const { dir, cleanup } = await tempDir();
    try {
      const journal = await openJournal({ dir, maxBatchRecords: 4, maxBatchRecordsUnderLoad: 1024, maxPendingRecords: 64, fsync: 'never' });
      let seq = 0;
      for (let wave = 0; wave < 16; wave++) {
        for (let k = 0; k < 4; k++) assert.equal(journal.append(entry(++seq)), true);
        await turn();
      }
      assert.equal(journal.writable, false, 'the buffer is full');
      worker.release();
      await journal.flush();
      const counts = [...worker.submitted, ...worker.helped].map((job) => job.count);
      assert.equal(counts.reduce((a, b) => a + b, 0), 64);
      assert.equal(Math.max(...counts), 8, `grown to 64 / 8 and no further: ${counts.join(',')}`);
      await journal.close();
      assert.equal((await verifyJournal(dir, { expectHead: journal.stats().head })).ok, true);
    } finally {
      worker.restore();
      await cleanup();
    }
  });

  it('any interleaving of waves, flushes, slow sink calls and a small buffer keeps order, the chain and the counts', async () => {
    const waveArb = fc.record({ size: fc.integer({ min: 1, max: 40 }), flush: fc.boolean(), sinkDelay: fc.integer({ min: 0, max: 3 }) });
    await fc.assert(
      fc.asyncProperty(
        fc.array(waveArb, { minLength: 1, maxLength: 12 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 8, max: 120 }),
        fc.constantFrom<'worker' | 'inline'>('worker', 'inline'),
        async (waves, maxBatchRecords, maxPendingRecords, sealing) => {
          const { dir, cleanup } = await tempDir();
          try {
            let delay = 0;
            const inner = new FileSink({ dir, fsync: 'never' });
            // Each sink call takes `delay` event-loop turns: batches pile up behind it.
            const sink: JournalSink = {
              open: () => inner.open(),
              write: (chunk, batch) => inner.write(chunk, batch),
              writeBatches: async (chunks, batches) => {
                for (let i = 0; i < delay; i++) await turn();
                await inner.writeBatches(chunks, batches);
              },
              sync: () => inner.sync(),
              close: () => inner.close(),
              readTail: (n) => inner.readTail(n),
              stats: () => inner.stats(),
            };
            const journal = await openJournal({ sink, maxBatchRecords, maxPendingRecords, sealing, maxBatchDelayMs: 1 });
            let accepted = 0;
            let refused = 0;
            for (const wave of waves) {
              delay = wave.sinkDelay;
              for (let k = 0; k < wave.size; k++) {
                if (journal.append(entry(accepted + 1))) accepted++;
                else refused++;
              }
              if (wave.flush) {
                const upTo = journal.stats().lastSeq;
                await journal.flush();
                assert.ok(journal.stats().recordsWritten >= upTo, 'flush waits for everything appended before it');
              } else {
                await turn();
              }
            }
            await journal.close();
            const stats = journal.stats();
            assert.deepEqual({ appended: stats.appended, refused: stats.refused, written: stats.recordsWritten, pending: stats.pending, lost: stats.lost }, { appended: accepted, refused, written: accepted, pending: 0, lost: 0 });
            const report = await verifyJournal(dir, { expectHead: stats.head });
            assert.equal(report.ok, true, JSON.stringify(report.issues.slice(0, 3)));
            assert.equal(report.records, accepted);
            assert.deepEqual((await journal.tail(accepted)).map((r) => r['messageId']), Array.from({ length: accepted }, (_, i) => `msg-${i + 1}`), 'records in append order');
          } finally {
            await cleanup();
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('when the worker is behind and the buffer half full, the journal thread hashes a batch itself each turn; the chain stays in order', async () => {
    const worker = gateSealWorker();
    const { dir, cleanup } = await tempDir();
    try {
      const journal = await openJournal({ dir, maxBatchRecords: 4, maxPendingRecords: 64, fsync: 'never' });
      let seq = 0;
      for (let wave = 0; wave < 6; wave++) {
        for (let k = 0; k < 4; k++) journal.append(entry(++seq));
        await turn();
      }
      assert.equal(worker.submitted.length, MAX_SEALS_IN_FLIGHT);
      assert.equal(worker.helped.length, 0, 'below half of the buffer the worker is left to catch up');
      for (let wave = 0; wave < 6; wave++) {
        for (let k = 0; k < 4; k++) journal.append(entry(++seq));
        await turn();
      }
      assert.ok(worker.helped.length >= 2, `hashed on the journal's thread: ${worker.helped.length}`);
      assert.equal(journal.stats().helpedBatches, worker.helped.length);
      assert.equal(journal.stats().recordsWritten, 0, 'helped batches wait for the earlier ones: the chain is linked in order');
      worker.release();
      await journal.close();
      assert.equal(journal.stats().recordsWritten, seq);
      const report = await verifyJournal(dir, { expectHead: journal.stats().head });
      assert.equal(report.ok, true, JSON.stringify(report.issues));
      assert.equal(report.records, seq);
    } finally {
      worker.restore();
      await cleanup();
    }
  });

  it('rejects maxBatchRecordsUnderLoad below maxBatchRecords', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await assert.rejects(openJournal({ dir, maxBatchRecords: 64, maxBatchRecordsUnderLoad: 32 }), /maxBatchRecordsUnderLoad/);
    } finally {
      await cleanup();
    }
  });

  it('sustained load: 200 000 appends in waves of 1 000 (a turn between waves, plus work of its own) are all accepted, written and verified', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const journal = await openJournal({ dir });
      const entries: JournalEntry[] = Array.from({ length: 1000 }, (_, i) => entry(i));
      let refused = 0;
      for (let wave = 0; wave < 200; wave++) {
        for (let k = 0; k < 1000; k++) if (!journal.append(entries[k]!)) refused++;
        // The appender's own work between appends (the bus validates, routes, delivers): ~1 ms a wave.
        const busy = performance.now() + 1;
        while (performance.now() < busy);
        await turn();
      }
      await journal.flush();
      const stats = journal.stats();
      await journal.close();
      assert.equal(refused, 0, `refused ${refused} appends`);
      assert.equal(stats.recordsWritten, 200_000);
      assert.equal(stats.lost, 0);
      const report = await verifyJournal(dir, { expectHead: stats.head });
      assert.equal(report.ok, true, JSON.stringify(report.issues.slice(0, 3)));
      assert.equal(report.records, 200_000);
    } finally {
      await cleanup();
    }
  });
});
