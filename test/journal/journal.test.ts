import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BusError } from '../../src/errors.js';
import {
  FsyncPolicy,
  GENESIS_HASH,
  MemorySink,
  openJournal,
  readJournalTail,
  Sealing,
  verifyJournal,
  type JournalEntry,
  type JournalSink,
  type SealedBatch,
  type SinkRecovery,
} from '../../src/journal/index.js';
import { messageDigest } from '../../src/message/digest.js';
import { entry, message, readLines, sealIndexes, tempDir, writeJournal } from './helpers.js';

/** A sink whose writes do not complete until released: the sink "cannot keep up". */
class StallingSink implements JournalSink {
  readonly inner = new MemorySink();
  private releases: Array<() => void> = [];
  async open(): Promise<SinkRecovery> {
    return this.inner.open();
  }
  async write(chunk: Uint8Array, batch: SealedBatch): Promise<void> {
    await new Promise<void>((resolve) => this.releases.push(resolve));
    await this.inner.write(chunk, batch);
  }
  release(): void {
    for (const release of this.releases.splice(0)) release();
  }
  get waiting(): number {
    return this.releases.length;
  }
  async sync(): Promise<void> {}
  async close(): Promise<void> {}
  readTail(n: number): Promise<string[]> {
    return this.inner.readTail(n);
  }
  stats() {
    return this.inner.stats();
  }
}

class FailingSink extends MemorySink {
  override async write(): Promise<void> {
    throw new Error('disk full');
  }
}

describe('journal: append, seal, reopen', () => {
  it('writes records and seals, continues the chain after reopen, and verifies', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const first = await writeJournal(dir, 10);
      const head1 = first.stats().head;
      assert.deepEqual({ seal: head1.seal, seq: head1.seq }, { seal: 3, seq: 10 });
      assert.equal(first.stats().recordsWritten, 10);
      assert.equal(first.stats().pending, 0);

      const second = await openJournal({ dir, maxBatchRecords: 4 });
      assert.equal(second.openReport.created, false);
      assert.deepEqual(second.openReport.head, head1);
      assert.equal(second.openReport.tornTail, null);
      for (let i = 11; i <= 15; i++) assert.equal(second.append(entry(i)), true);
      await second.close();
      assert.equal(second.stats().head.seq, 15);

      const lines = await readLines(path.join(dir, 'journal-000001.jsonl'));
      const seals = sealIndexes(lines).map((i) => JSON.parse(lines[i]!) as { prev: string; hash: string; seal: number; first: number; last: number });
      assert.deepEqual(seals.map((s) => s.seal), [1, 2, 3, 4, 5]);
      assert.equal(seals[0]!.prev, GENESIS_HASH);
      for (let i = 1; i < seals.length; i++) assert.equal(seals[i]!.prev, seals[i - 1]!.hash, 'each seal links to the previous one');
      assert.equal(seals[3]!.first, 11, 'the reopened journal continues the seq');
      const records = lines.filter((_, i) => !sealIndexes(lines).includes(i)).map((line) => JSON.parse(line) as { seq: number });
      assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 15 }, (_, i) => i + 1));

      const report = await verifyJournal(dir);
      assert.equal(report.ok, true, JSON.stringify(report.issues));
      assert.equal(report.records, 15);
      assert.equal(report.head?.hash, second.stats().head.hash);
    } finally {
      await cleanup();
    }
  });

  it('an append made from inside the encoding of another (a getter calling back) is journaled right after it; both records intact', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const journal = await openJournal({ dir, maxBatchRecords: 2 });
      let inner: boolean | undefined;
      const details = {
        get note(): string {
          inner = journal.append({ type: 'reentrant', at: 1 });
          return 'outer';
        },
      };
      assert.equal(journal.append({ type: 'outer', at: 2, details }), true);
      assert.equal(inner, true, 'accepted: a decision the bus acted on must not go unrecorded');
      journal.append({ type: 'after', at: 3 });
      await journal.flush();
      const records = await journal.tail(10);
      assert.deepEqual(records.map((r) => r['type']), ['outer', 'reentrant', 'after']);
      assert.deepEqual(records.map((r) => r['seq']), [1, 2, 3].map((n) => n + (records[0]!['seq'] as number) - 1));
      assert.deepEqual(records[0]!['details'], { note: 'outer' });
      assert.equal(journal.stats().refused, 0);
      assert.equal(journal.stats().appended, 3);
      await journal.close();
      assert.equal((await verifyJournal(dir)).ok, true);
    } finally {
      await cleanup();
    }
  });

  it('stores the message digest, not the content, unless includeContent', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const m = message(7, { content: { secret: 'do not store' } });
      const journal = await openJournal({ dir });
      journal.append({ type: 'message.held', at: 5, message: m, reason: 'impact 0.91', details: { impact: 0.91 } });
      journal.append({ type: 'message.delivered', at: 6, messageId: 'pre', digest: 'f'.repeat(64) });
      await journal.flush();
      const [held, delivered] = await journal.tail(2);
      assert.equal(held!['digest'], messageDigest(m));
      assert.equal(held!['messageId'], 'msg-7', 'ids default to the message');
      assert.equal(held!['tenantId'], 'acme');
      assert.deepEqual(held!['details'], { impact: 0.91 });
      assert.equal(held!['message'], undefined);
      assert.equal(delivered!['digest'], 'f'.repeat(64), 'a digest supplied by the caller is kept');
      await journal.close();
      assert.ok(!(await readFile(path.join(dir, 'journal-000001.jsonl'), 'utf8')).includes('do not store'));

      const withContent = await openJournal({ dir, includeContent: true });
      withContent.append({ type: 'message.delivered', at: 7, message: m });
      await withContent.close();
      const [last] = await readJournalTail(dir, 1);
      assert.deepEqual((last!['message'] as { content: unknown }).content, { secret: 'do not store' });
      assert.equal(last!['digest'], messageDigest(m));
      assert.equal((await verifyJournal(dir)).ok, true);
    } finally {
      await cleanup();
    }
  });

  it('never throws on entries it cannot serialise, and records why', async () => {
    const sink = new MemorySink();
    const journal = await openJournal({ sink });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    assert.equal(journal.append({ type: 'policy.decision', at: Number.NaN, details: cyclic }), true);
    assert.equal(journal.append({ type: 'message.rejected', at: 1, message: message(1, { content: { bad: 1n } }) }), true);
    assert.equal(journal.append(null as never), false);
    await journal.close();
    const [a, b] = sink.lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(a!['at'], null);
    assert.match(String((a!['details'] as { unserializable: string }).unserializable), /circular/i);
    assert.match(String(b!['digestError']), /BigInt/);
    assert.equal(journal.stats().refused, 1);
  });

  /** Entries whose fields cannot even be read (a getter or proxy trap throws); each must be recorded, not fail the journal. */
  const throwingProxy = <T extends object>(target: T, trap: 'get' | 'ownKeys'): T =>
    new Proxy(target, {
      [trap]: () => {
        throw new Error(`${trap} trap failed`);
      },
    });
  const unreadableEntries: Array<{ name: string; entry: () => JournalEntry; includeContent?: boolean; check: (record: Record<string, unknown>) => void }> = [
    {
      name: 'a getter on details that throws',
      entry: () => ({
        type: 't',
        at: 1,
        get details(): Record<string, unknown> {
          throw new Error('g');
        },
      }),
      check: (record) => {
        assert.equal(record['type'], 't');
        assert.deepEqual(record['details'], { unserializable: 'g' });
      },
    },
    {
      name: 'getters on type and at that throw',
      entry: () => ({
        get type(): string {
          throw new Error('no type');
        },
        get at(): number {
          throw new Error('no time');
        },
        reason: 'kept',
      }),
      check: (record) => {
        assert.deepEqual(record['type'], { unserializable: 'no type' });
        assert.deepEqual(record['at'], { unserializable: 'no time' });
        assert.equal(record['reason'], 'kept');
      },
    },
    {
      name: 'a message that is a proxy whose get throws',
      entry: () => ({ type: 'message.delivered', at: 3, messageId: 'own-id', message: throwingProxy(message(3), 'get') }),
      check: (record) => {
        assert.equal(record['messageId'], 'own-id', "the entry's own field is kept");
        assert.deepEqual(record['tenantId'], { unserializable: 'get trap failed' }, "the message's cannot be read");
        assert.equal(record['digestError'], 'get trap failed');
        assert.equal(record['digest'], undefined);
      },
    },
    {
      name: 'the same message with includeContent',
      includeContent: true,
      entry: () => ({ type: 'message.delivered', at: 4, message: throwingProxy(message(4), 'get') }),
      check: (record) => {
        assert.deepEqual(record['message'], { unserializable: 'get trap failed' });
        assert.equal(record['digestError'], 'get trap failed');
      },
    },
    {
      name: 'details that are a proxy whose ownKeys throws',
      entry: () => ({ type: 'policy.decision', at: 5, details: throwingProxy({ a: 1 }, 'ownKeys') }),
      check: (record) => {
        assert.equal(record['type'], 'policy.decision');
        assert.deepEqual(record['details'], { unserializable: 'ownKeys trap failed' });
      },
    },
    {
      name: 'an entry that is itself a proxy whose get throws something that is not an Error (and cannot be printed)',
      entry: () =>
        new Proxy({ type: 'x', at: 6 }, {
          get: () => {
            throw Object.create(null) as unknown;
          },
        }),
      check: (record) => {
        assert.deepEqual(record['type'], { unserializable: 'unreadable error' });
        assert.deepEqual(record['details'], { unserializable: 'unreadable error' });
      },
    },
  ];
  for (const sealing of Object.values(Sealing)) {
    for (const { name, entry: unreadable, includeContent, check } of unreadableEntries) {
      it(`records an entry with ${name} as what could be read, and keeps working (${sealing} sealing)`, async () => {
        const { dir, cleanup } = await tempDir();
        try {
          const journal = await openJournal({ dir, sealing, includeContent });
          assert.equal(journal.append({ type: 'before', at: 1 }), true);
          assert.equal(journal.append(unreadable()), true);
          assert.equal(journal.append({ type: 'after', at: 2 }), true);
          await journal.flush();
          assert.equal(journal.append(entry(7)), true, 'still taking entries after a flush');
          await journal.close();
          const stats = journal.stats();
          assert.deepEqual({ appended: stats.appended, refused: stats.refused, lost: stats.lost, recordsWritten: stats.recordsWritten, error: stats.error }, { appended: 4, refused: 0, lost: 0, recordsWritten: 4, error: null });
          const records = (await readJournalTail(dir, 10)) as Array<Record<string, unknown>>;
          assert.deepEqual(records.map((r) => r['seq']), [1, 2, 3, 4]);
          assert.equal(records[0]!['type'], 'before', 'the record accepted before is not lost');
          assert.equal(records[2]!['type'], 'after');
          check(records[1]!);
          const report = await verifyJournal(dir);
          assert.equal(report.ok, true, JSON.stringify(report.issues));
          assert.equal(report.records, 4);
        } finally {
          await cleanup();
        }
      });
    }
  }

  /** Waits (a bounded number of event-loop turns) until `done`; sealing on a worker takes a few turns. */
  async function until(done: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  for (const sealing of Object.values(Sealing)) {
    it(`seals on the batch delay without flush, and on the batch size (${sealing} sealing)`, async () => {
      const timed = new MemorySink();
      const first = await openJournal({ sink: timed, maxBatchRecords: 3, maxBatchDelayMs: 5, sealing });
      first.append(entry(1));
      await until(() => timed.batches.length > 0);
      assert.deepEqual(timed.batches.map((b) => b.records), [1], 'sealed by the delay timer');
      await first.close();

      const sized = new MemorySink();
      const second = await openJournal({ sink: sized, maxBatchRecords: 3, maxBatchDelayMs: 60_000, sealing });
      for (let i = 1; i <= 6; i++) second.append(entry(i));
      await until(() => sized.batches.length >= 2);
      assert.deepEqual(sized.batches.map((b) => b.records), [3, 3], 'full batches seal without waiting for the timer');
      second.append(entry(7));
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(second.stats().pending, 1, 'a record of a batch that is not full waits for its timer');
      await second.close();
      assert.deepEqual(sized.batches.map((b) => b.records), [3, 3, 1]);
    });
  }

  it('rotates files by size; the first seal of a file links to the last seal of the previous one', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const journal = await openJournal({ dir, maxBatchRecords: 4, maxFileBytes: 3000 });
      for (let i = 1; i <= 40; i++) {
        journal.append(entry(i));
        if (i % 4 === 0) await journal.flush();
      }
      await journal.close();
      const files = (await readdir(dir)).filter((name) => name.endsWith('.jsonl')).sort();
      assert.ok(files.length >= 3, `expected several files, got ${files.join(',')}`);
      const lastOfFirst = (await readLines(path.join(dir, files[0]!))).at(-1)!;
      const firstLines = await readLines(path.join(dir, files[1]!));
      const firstSealOfSecond = firstLines[sealIndexes(firstLines)[0]!]!;
      assert.equal((JSON.parse(firstSealOfSecond) as { prev: string }).prev, (JSON.parse(lastOfFirst) as { hash: string }).hash);
      assert.equal(journal.stats().currentFile, path.join(dir, files.at(-1)!));
      const report = await verifyJournal(dir);
      assert.equal(report.ok, true, JSON.stringify(report.issues));
      assert.equal(report.files.length, files.length);
      assert.deepEqual((await readJournalTail(dir, 6)).map((r) => r.seq), [35, 36, 37, 38, 39, 40], 'tail reads across files');

      const reopened = await openJournal({ dir, maxBatchRecords: 4, maxFileBytes: 3000 });
      assert.equal(reopened.openReport.head.seq, 40);
      reopened.append(entry(41));
      await reopened.close();
      assert.equal((await verifyJournal(dir)).ok, true);
    } finally {
      await cleanup();
    }
  });

  for (const fsync of Object.values(FsyncPolicy)) {
    it(`accepts fsync policy '${fsync}'`, async () => {
      const { dir, cleanup } = await tempDir();
      try {
        const journal = await openJournal({ dir, fsync, fsyncIntervalMs: 5, maxBatchRecords: 2 });
        for (let i = 1; i <= 6; i++) journal.append(entry(i));
        await journal.flush();
        await new Promise((resolve) => setTimeout(resolve, 30));
        const { fsyncs } = journal.stats();
        await journal.close();
        // One fsync of the directory when the file is created, then the policy's own.
        if (fsync === FsyncPolicy.ALWAYS) assert.ok(fsyncs >= 4, `each of the 3 batches is synced (got ${fsyncs})`);
        if (fsync === FsyncPolicy.INTERVAL) assert.ok(fsyncs >= 2, `the interval timer synced (got ${fsyncs})`);
        if (fsync === FsyncPolicy.NEVER) assert.equal(fsyncs, 0);
        assert.equal((await verifyJournal(dir)).ok, true);
      } finally {
        await cleanup();
      }
    });
  }

  it('rejects invalid options', async () => {
    await assert.rejects(openJournal({}), (error: unknown) => error instanceof BusError && error.code === 'INVALID_OPTIONS');
    await assert.rejects(openJournal({ sink: new MemorySink(), maxBatchRecords: 0 }), /maxBatchRecords/);
    await assert.rejects(openJournal({ dir: '/tmp/x', fsync: 'sometimes' as never }), /fsync/);
  });

  it('rejects options that are not an object, or lack a dir and a sink, with INVALID_OPTIONS (not a TypeError)', async () => {
    const invalid: unknown[] = [
      null,
      undefined,
      42,
      'dir',
      {},
      { dir: 5 },
      { dir: '' },
      { sink: null },
      { sink: {} },
      { sink: 'memory' },
      { sink: new MemorySink(), includeContent: 'yes' },
      { sink: new MemorySink(), now: 1 },
      { sink: new MemorySink(), onError: 'log' },
    ];
    for (const options of invalid) {
      await assert.rejects(
        openJournal(options as never),
        (error: unknown) => error instanceof BusError && error.code === 'INVALID_OPTIONS',
        `${JSON.stringify(options) ?? String(options)} is refused with INVALID_OPTIONS`,
      );
    }
  });

  it('refuses a second writer on the same directory', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const journal = await openJournal({ dir });
      await assert.rejects(openJournal({ dir }), (error: unknown) => error instanceof BusError && error.code === 'CONFLICT');
      await journal.close();
      const again = await openJournal({ dir });
      assert.equal(again.openReport.staleLock, false);
      await again.close();
    } finally {
      await cleanup();
    }
  });
});

describe('journal: back-pressure and failure', () => {
  it('append returns false when the buffer is full because the sink stalls, and recovers when it catches up', async () => {
    const sink = new StallingSink();
    const journal = await openJournal({ sink, maxBatchRecords: 4, maxPendingRecords: 10 });
    let accepted = 0;
    for (let i = 1; i <= 10; i++) if (journal.append(entry(i))) accepted++;
    assert.equal(accepted, 10);
    assert.equal(journal.writable, false);
    assert.equal(journal.append(entry(11)), false);
    assert.equal(journal.append(entry(12)), false);
    const stats = journal.stats();
    assert.equal(stats.refused, 2);
    assert.equal(stats.pending, 10);

    const flushed = journal.flush();
    while (sink.waiting === 0) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(journal.append(entry(11)), false, 'sealed but unwritten records still count');
    while (journal.stats().recordsWritten < 10) {
      sink.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await flushed;
    assert.equal(journal.writable, true);
    assert.equal(journal.append(entry(11)), true);
    const closing = journal.close();
    while (journal.stats().pending > 0) {
      sink.release();
      await new Promise((resolve) => setImmediate(resolve));
    }
    await closing;
    assert.equal(journal.append(entry(12)), false, 'closed journals refuse');
    assert.deepEqual(sink.inner.lines().filter((l) => l.startsWith('{"seq"')).length, 11);
  });

  it('a failing sink makes the journal refuse, counts what was lost and reports once', async () => {
    const errors: Error[] = [];
    const journal = await openJournal({ sink: new FailingSink(), onError: (error) => errors.push(error) });
    journal.append(entry(1));
    journal.append(entry(2));
    await assert.rejects(journal.flush(), /disk full/);
    assert.equal(errors.length, 1);
    assert.equal(journal.writable, false);
    assert.equal(journal.append(entry(3)), false);
    const stats = journal.stats();
    assert.equal(stats.lost, 2);
    assert.equal(stats.error, 'disk full');
    const closing = journal.close();
    assert.equal(journal.close(), closing, 'close is idempotent');
    await assert.rejects(closing, /disk full/);
  });

  it('flush and close are idempotent', async () => {
    const sink = new MemorySink();
    const journal = await openJournal({ sink });
    journal.append(entry(1));
    await journal.flush();
    await journal.flush();
    await Promise.all([journal.close(), journal.close()]);
    assert.equal(sink.batches.length, 1);
  });
});
