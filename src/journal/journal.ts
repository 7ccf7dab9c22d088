import { BusError, ErrorCode } from '../errors.js';
import { FileSink, FILE_SINK_DEFAULTS } from './file-sink.js';
import { checkSeal, GENESIS_HASH, parseLine } from './format.js';
import { BatchEncoder } from './record.js';
import { createSealBackend, Sealing, type SealBackend } from './seal-backend.js';
import type { SealedJob, SealJob } from './sealer.js';
import type { JournalSink } from './sink.js';
import { FsyncPolicy, type ChainHead, type JournalEntry, type JournalRecord, type JournalStats, type OpenReport, type Seal } from './types.js';

export interface JournalOptions {
  /** Directory of the default file sink. Required unless `sink` is given. */
  dir?: string;
  /** Another sink (e.g. MemorySink in tests); then dir / fsync / rotation options do not apply. */
  sink?: JournalSink;
  /** Seal a batch at this many records. Default 1024. */
  maxBatchRecords?: number;
  /** ... or this long after its first record. Default 10 ms. */
  maxBatchDelayMs?: number;
  /** Entries accepted but not yet written; append() refuses beyond it. Default 65 536. */
  maxPendingRecords?: number;
  /** Store the whole message in each record, not only its digest. Default false. */
  includeContent?: boolean;
  /**
   * Where batches are hashed and sealed: 'worker' (default) on a worker thread shared by the
   * process's journals, so the appending thread only encodes records; 'inline' on this thread.
   */
  sealing?: Sealing;
  fsync?: FsyncPolicy;
  fsyncIntervalMs?: number;
  maxFileBytes?: number;
  /** Clock for seal timestamps. Default Date.now. */
  now?: () => number;
  /** Called once if the sink fails; the journal then refuses every append. */
  onError?: (error: Error) => void;
}

export const JOURNAL_DEFAULTS = {
  maxBatchRecords: 1024,
  maxBatchDelayMs: 10,
  maxPendingRecords: 65_536,
  includeContent: false,
  sealing: Sealing.WORKER,
  ...FILE_SINK_DEFAULTS,
} as const;

interface JournalConfig {
  maxBatchRecords: number;
  maxBatchDelayMs: number;
  maxPendingRecords: number;
  includeContent: boolean;
  sealing: Sealing;
  now: () => number;
  onError: ((error: Error) => void) | undefined;
}

function positiveInteger(options: JournalOptions, name: 'maxBatchRecords' | 'maxPendingRecords' | 'maxFileBytes' | 'fsyncIntervalMs' | 'maxBatchDelayMs', fallback: number, min: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new BusError(ErrorCode.INVALID_OPTIONS, `journal option ${name} must be an integer >= ${min}`);
  return value;
}

function resolveConfig(options: JournalOptions): JournalConfig {
  if (options.sink === undefined && (typeof options.dir !== 'string' || options.dir.length === 0)) {
    throw new BusError(ErrorCode.INVALID_OPTIONS, 'journal needs a dir (or a sink)');
  }
  if (options.sealing !== undefined && !Object.values(Sealing).includes(options.sealing)) {
    throw new BusError(ErrorCode.INVALID_OPTIONS, `journal option sealing must be one of ${Object.values(Sealing).join(', ')}`);
  }
  if (options.fsync !== undefined && !Object.values(FsyncPolicy).includes(options.fsync)) {
    throw new BusError(ErrorCode.INVALID_OPTIONS, `journal option fsync must be one of ${Object.values(FsyncPolicy).join(', ')}`);
  }
  const maxBatchRecords = positiveInteger(options, 'maxBatchRecords', JOURNAL_DEFAULTS.maxBatchRecords, 1);
  const maxPendingRecords = positiveInteger(options, 'maxPendingRecords', JOURNAL_DEFAULTS.maxPendingRecords, 1);
  positiveInteger(options, 'maxFileBytes', JOURNAL_DEFAULTS.maxFileBytes, 1);
  positiveInteger(options, 'fsyncIntervalMs', JOURNAL_DEFAULTS.fsyncIntervalMs, 1);
  return {
    maxBatchRecords,
    maxBatchDelayMs: positiveInteger(options, 'maxBatchDelayMs', JOURNAL_DEFAULTS.maxBatchDelayMs, 0),
    maxPendingRecords,
    includeContent: options.includeContent ?? false,
    sealing: options.sealing ?? JOURNAL_DEFAULTS.sealing,
    now: options.now ?? Date.now,
    onError: options.onError,
  };
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Append-only, hash-chained journal of governance decisions. `append` only queues; batches are
 * encoded on one timer (or as soon as a batch is full), hashed and sealed by the seal backend
 * (a worker thread by default), and written one at a time by the sink.
 */
export class Journal {
  private readonly sink: JournalSink;
  private readonly config: JournalConfig;
  private readonly sealer: SealBackend;
  private readonly encoder: BatchEncoder;
  private batch: JournalEntry[] = [];
  /** Encoded records whose write has not completed (being sealed, or waiting for the sink). */
  private unwritten = 0;
  /** Seq given to the newest encoded record; the head reaches it once its batch is sealed. */
  private lastSeq: number;
  private head: ChainHead;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private writes: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private closing: Promise<void> | null = null;
  private appended = 0;
  private refused = 0;
  private sealedBatches = 0;
  private recordsWritten = 0;
  private lost = 0;
  private report: OpenReport;

  /** Use openJournal(). */
  constructor(sink: JournalSink, config: JournalConfig, head: ChainHead, report: OpenReport, reseal?: { lines: string[]; recovery: NonNullable<Seal['recovery']> }) {
    this.sink = sink;
    this.config = config;
    this.head = { ...head };
    this.lastSeq = head.seq;
    this.report = report;
    this.encoder = new BatchEncoder(config.includeContent);
    this.sealer = createSealBackend(config.sealing, { seal: head.seal, hash: head.hash });
    if (reseal !== undefined && reseal.lines.length > 0) {
      // Lines read back from the file are complete records (parseLine accepted them as JSON, so
      // they hold no digest marks): sealed again as they are.
      const count = reseal.lines.length;
      this.submit({ bytes: Buffer.from(reseal.lines.join('\n') + '\n', 'utf8'), first: this.lastSeq + 1, count, at: this.config.now(), recovery: reseal.recovery });
      this.lastSeq += count;
    }
  }

  /** What opening found and repaired (torn tail, unsealed records, stale lock). */
  get openReport(): OpenReport {
    return this.report;
  }

  /** False when append() would refuse now (buffer full, closing, or the sink failed). */
  get writable(): boolean {
    return this.failure === null && this.closing === null && this.batch.length + this.unwritten < this.config.maxPendingRecords;
  }

  /**
   * Queues one entry. O(1), never throws. Returns false, and counts it as refused, when the
   * journal cannot take it: the caller must then refuse the decision's message (BACKPRESSURE)
   * rather than act on it without a record.
   */
  append(entry: JournalEntry): boolean {
    if (this.failure !== null || this.closing !== null || entry === null || typeof entry !== 'object' || this.batch.length + this.unwritten >= this.config.maxPendingRecords) {
      this.refused++;
      return false;
    }
    this.batch.push(entry);
    this.appended++;
    if (this.batch.length >= this.config.maxBatchRecords) {
      this.immediate ??= setImmediate(this.sealDue);
    } else if (this.timer === null) {
      this.timer = setTimeout(this.sealDue, this.config.maxBatchDelayMs);
    }
    return true;
  }

  /** Seals everything appended so far and waits until the sink has written it. */
  async flush(): Promise<void> {
    this.sealDue();
    await this.writes;
    if (this.failure !== null) throw this.failure;
  }

  /** Flushes, then closes the sink. Idempotent: every call returns the same promise. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    this.sealDue();
    await this.writes;
    this.sealer.release();
    await this.sink.close();
    if (this.failure !== null) throw this.failure;
  }

  stats(): JournalStats {
    const sink = this.sink.stats();
    return {
      appended: this.appended,
      refused: this.refused,
      pending: this.batch.length + this.unwritten,
      sealedBatches: this.sealedBatches,
      recordsWritten: this.recordsWritten,
      bytesWritten: sink.bytesWritten,
      fsyncs: sink.fsyncs,
      lost: this.lost,
      head: { ...this.head },
      lastSeq: this.lastSeq,
      currentFile: sink.location,
      writable: this.writable,
      error: this.failure === null ? null : this.failure.message,
    };
  }

  /** The last `n` records written (records still waiting for their seal are not included). */
  async tail(n: number): Promise<JournalRecord[]> {
    const lines = await this.sink.readTail(n);
    return lines.map((line) => JSON.parse(line) as JournalRecord);
  }

  private readonly sealDue = (): void => {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    const entries = this.batch;
    if (entries.length === 0 || this.failure !== null) return;
    this.batch = [];
    try {
      for (let start = 0; start < entries.length; start += this.config.maxBatchRecords) {
        this.sealBatch(entries, start, Math.min(start + this.config.maxBatchRecords, entries.length));
      }
    } catch (error) {
      // Only a programming error gets here (encoding never throws on bad input).
      this.fail(asError(error), entries.length);
    }
  };

  /** Encodes entries[start, end) on this thread; hashing and sealing happen in the seal backend. */
  private sealBatch(entries: readonly JournalEntry[], start: number, end: number): void {
    const first = this.lastSeq + 1;
    const bytes = this.encoder.encode(entries, start, end, first);
    this.lastSeq += end - start;
    this.submit({ bytes, first, count: end - start, at: this.config.now() });
  }

  /** Hands a batch to the seal backend and queues its write behind the previous one. */
  private submit(job: SealJob): void {
    const records = job.count;
    this.unwritten += records;
    let sealed: SealedJob | Promise<SealedJob>;
    try {
      sealed = this.sealer.seal(job);
    } catch (error) {
      sealed = Promise.reject(asError(error));
    }
    // The head moves as soon as a batch is sealed, before it is written.
    const ready = sealed instanceof Promise ? sealed.then((s) => this.advance(s)) : Promise.resolve(this.advance(sealed));
    // A failure is handled in the write chain below; this only keeps it from being reported as unhandled.
    ready.catch(() => undefined);
    this.writes = this.writes.then(async () => {
      try {
        const { chunk, seal } = await ready;
        if (this.failure !== null) {
          this.lost += records;
          return;
        }
        await this.sink.write(chunk, { firstSeq: seal.first, lastSeq: seal.last, records, sealHash: seal.hash });
        this.recordsWritten += records;
      } catch (error) {
        this.lost += records;
        this.fail(asError(error), 0);
      } finally {
        this.unwritten -= records;
      }
    });
  }

  private advance(sealed: SealedJob): SealedJob {
    const { seal } = sealed;
    this.head = { seal: seal.seal, seq: seal.last, hash: seal.hash };
    this.sealedBatches++;
    return sealed;
  }

  private fail(error: Error, alsoLost: number): void {
    if (this.failure !== null) return;
    this.failure = error;
    // Accepted but never sealed: counted, and the onError callback tells the owner.
    this.lost += alsoLost + this.batch.length;
    this.batch = [];
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.config.onError?.(error);
  }
}

/**
 * Opens (or creates) a journal and continues its chain. A torn last line is cut off; complete
 * records after the last seal are sealed again by a recovery seal (see docs/journal.md), and a
 * 'journal.recovered' record saying what was found is journaled. Both are in `openReport`.
 */
export async function openJournal(options: JournalOptions): Promise<Journal> {
  const config = resolveConfig(options);
  const sink =
    options.sink ??
    new FileSink({ dir: options.dir!, maxFileBytes: options.maxFileBytes, fsync: options.fsync, fsyncIntervalMs: options.fsyncIntervalMs });
  const found = await sink.open();
  let head: ChainHead = { seal: 0, seq: 0, hash: GENESIS_HASH };
  if (found.headSealLine !== null) {
    const parsed = parseLine(found.headSealLine);
    const checked = parsed.kind === 'seal' ? checkSeal(found.headSealLine, parsed.value) : { problem: 'not a seal' };
    if ('problem' in checked) {
      await sink.close();
      throw new BusError(ErrorCode.CONFLICT, `journal head seal is invalid (${checked.problem}); run "agent-bus audit verify"`);
    }
    head = { seal: checked.seal.seal, seq: checked.seal.last, hash: checked.seal.hash };
  }

  // Keep the unbroken run of records that continue the chain; anything after a gap is discarded
  // (it stays in the saved .torn file).
  const kept: string[] = [];
  for (const line of found.unsealedLines) {
    const parsed = parseLine(line);
    if (parsed.kind !== 'record' || parsed.seq !== head.seq + kept.length + 1) break;
    kept.push(line);
  }
  const discarded = found.unsealedLines.length - kept.length;
  const report: OpenReport = {
    created: found.created,
    head,
    tornTail: found.tornFile === null || found.tornBytes === 0 ? null : { file: found.tornFile, bytes: found.tornBytes },
    unsealed: {
      resealed: kept.length,
      discarded,
      firstSeq: kept.length === 0 ? null : head.seq + 1,
      lastSeq: kept.length === 0 ? null : head.seq + kept.length,
    },
    savedTo: found.savedTo,
    staleLock: found.staleLock,
  };
  const journal = new Journal(sink, config, head, report, { lines: kept, recovery: { reason: 'unsealed_tail', tornBytes: found.tornBytes, discarded } });
  if (found.savedTo !== null || found.staleLock) {
    journal.append({
      type: 'journal.recovered',
      at: config.now(),
      details: { tornBytes: found.tornBytes, resealed: kept.length, discarded, savedTo: found.savedTo, staleLock: found.staleLock },
    });
  }
  try {
    await journal.flush();
  } catch (error) {
    await journal.close().catch(() => undefined);
    throw error;
  }
  report.head = journal.stats().head;
  return journal;
}
