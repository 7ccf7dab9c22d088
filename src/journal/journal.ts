import { BusError, ErrorCode } from '../errors.js';
import { FileSink, FILE_SINK_DEFAULTS } from './file-sink.js';
import { checkSeal, GENESIS_HASH, parseLine } from './format.js';
import { createSealBackend, InlineSealBackend, Sealing, type SealBackend } from './seal-backend.js';
import { SealChain, type EncodedRecords, type HashedBatch, type SealedJob, type SealJob } from './sealer.js';
import type { JournalSink, SealedBatch } from './sink.js';
import { TapeEncoder } from './tape.js';
import { FsyncPolicy, type ChainHead, type JournalEntry, type JournalRecord, type JournalStats, type OpenReport, type Seal } from './types.js';

export interface JournalOptions {
  /** Directory of the default file sink. Required unless `sink` is given. */
  dir?: string;
  /** Another sink (e.g. MemorySink in tests); then dir / fsync / rotation options do not apply. */
  sink?: JournalSink;
  /** Seal a batch at this many records. Default 1024. */
  maxBatchRecords?: number;
  /**
   * Under backlog (the seal worker already has MAX_SEALS_IN_FLIGHT batches), batches that waited
   * are sealed together, up to this many records — and up to maxPendingRecords / 8, so that the
   * batches at the worker never hold more than half the buffer. Default 16 384 (at least
   * maxBatchRecords).
   */
  maxBatchRecordsUnderLoad?: number;
  /** ... or this long after its first record. Default 10 ms. */
  maxBatchDelayMs?: number;
  /** Entries accepted but not yet written; append() refuses beyond it. Default 65 536. */
  maxPendingRecords?: number;
  /** Store the whole message in each record, not only its digest. Default false. */
  includeContent?: boolean;
  /**
   * Where batches are hashed: 'worker' (default) on a worker thread shared by the process's
   * journals, so the appending thread only encodes records and links seals; 'inline' on this thread.
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
  maxBatchRecordsUnderLoad: 16_384,
  maxBatchDelayMs: 10,
  maxPendingRecords: 65_536,
  includeContent: false,
  sealing: Sealing.WORKER,
  ...FILE_SINK_DEFAULTS,
} as const;

/**
 * Batches handed to the seal backend and not yet back. More keep the worker busy while the
 * appending thread is (its answers are only read between the appender's turns); beyond this the
 * batches that wait are sealed together, which is how the batch size grows under backlog.
 */
export const MAX_SEALS_IN_FLIGHT = 4;

interface JournalConfig {
  maxBatchRecords: number;
  maxBatchRecordsUnderLoad: number;
  maxBatchDelayMs: number;
  maxPendingRecords: number;
  includeContent: boolean;
  sealing: Sealing;
  now: () => number;
  onError: ((error: Error) => void) | undefined;
}

type IntegerOption = 'maxBatchRecords' | 'maxBatchRecordsUnderLoad' | 'maxPendingRecords' | 'maxFileBytes' | 'fsyncIntervalMs' | 'maxBatchDelayMs';

function positiveInteger(options: JournalOptions, name: IntegerOption, fallback: number, min: number): number {
  const value = options[name];
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) throw new BusError(ErrorCode.INVALID_OPTIONS, `journal option ${name} must be an integer >= ${min}`);
  return value;
}

const SINK_METHODS = ['open', 'write', 'sync', 'close', 'readTail', 'stats'] as const;

function isSink(value: unknown): value is JournalSink {
  return typeof value === 'object' && value !== null && SINK_METHODS.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}

function optionType(options: JournalOptions, name: 'includeContent' | 'now' | 'onError', type: 'boolean' | 'function'): void {
  const value = options[name];
  if (value !== undefined && typeof value !== type) throw new BusError(ErrorCode.INVALID_OPTIONS, `journal option ${name} must be a ${type}`);
}

function resolveConfig(options: JournalOptions): JournalConfig {
  if (typeof options !== 'object' || options === null) throw new BusError(ErrorCode.INVALID_OPTIONS, 'journal options must be an object with a dir (or a sink)');
  if (options.sink !== undefined && !isSink(options.sink)) {
    throw new BusError(ErrorCode.INVALID_OPTIONS, `journal option sink must be a JournalSink (${SINK_METHODS.join(', ')})`);
  }
  optionType(options, 'includeContent', 'boolean');
  optionType(options, 'now', 'function');
  optionType(options, 'onError', 'function');
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
  const maxBatchRecordsUnderLoad = positiveInteger(options, 'maxBatchRecordsUnderLoad', Math.max(maxBatchRecords, JOURNAL_DEFAULTS.maxBatchRecordsUnderLoad), maxBatchRecords);
  const maxPendingRecords = positiveInteger(options, 'maxPendingRecords', JOURNAL_DEFAULTS.maxPendingRecords, 1);
  // Records are freed a whole batch at a time: batches as big as the buffer would stall appends
  // while the worker is merely busy.
  const underLoad = Math.max(maxBatchRecords, Math.min(maxBatchRecordsUnderLoad, Math.floor(maxPendingRecords / (2 * MAX_SEALS_IN_FLIGHT))));
  positiveInteger(options, 'maxFileBytes', JOURNAL_DEFAULTS.maxFileBytes, 1);
  positiveInteger(options, 'fsyncIntervalMs', JOURNAL_DEFAULTS.fsyncIntervalMs, 1);
  return {
    maxBatchRecords,
    maxBatchRecordsUnderLoad: underLoad,
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

/** Records encoded on the appending thread, not yet handed to the seal backend. */
interface Piece {
  records: EncodedRecords;
  first: number;
  count: number;
  recovery?: Seal['recovery'];
}

/** A batch at the seal backend; `hashed` is set when it comes back (batches are linked in order). */
interface InFlightSeal {
  count: number;
  hashed: HashedBatch | null;
}

/** Someone waiting (flush, close) until every record up to `seq` is written or lost. */
interface Waiter {
  seq: number;
  resolve: () => void;
}

/**
 * Append-only, hash-chained journal of governance decisions, as a three-stage pipeline:
 * `append` only queues; the appending thread encodes the queued entries (on the next turn once a
 * batch is full or the pipeline is busy, else on one timer); the seal backend (a worker thread by
 * default) hashes up to MAX_SEALS_IN_FLIGHT batches at a time, and this thread links them into
 * the chain in order (helping with the hashing when the worker falls behind); every batch that is
 * sealed when the sink becomes free goes out in one sink call (writev for the file sink).
 */
export class Journal {
  private readonly sink: JournalSink;
  private readonly config: JournalConfig;
  private readonly sealer: SealBackend;
  /** Links hashed batches into the chain, in order, on this thread. */
  private readonly chain: SealChain;
  /** Hashes a batch on this thread when the seal worker is behind (worker sealing only). */
  private helper: InlineSealBackend | null = null;
  private helpedBatches = 0;
  /** Encodes each entry when it is appended (while its message is still in the CPU's caches); its open piece holds the records not yet handed on. */
  private readonly encoder: TapeEncoder;
  /** True while append() encodes an entry; appends made meanwhile wait in `deferred`. */
  private adding = false;
  private deferred: JournalEntry[] = [];
  /** Encoded records waiting for the seal backend (in order). */
  private pieces: Piece[] = [];
  /** Batches at the seal backend (in order). */
  private sealing: InFlightSeal[] = [];
  /** Sealed batches waiting for the sink (in order). */
  private toWrite: SealedJob[] = [];
  /** Records in the sink call in progress (at most one call at a time); -1 when none. */
  private writingRecords = -1;
  /** Encoded records whose write has not completed: in pieces, sealing, ready or being written. */
  private unwritten = 0;
  /** Seq given to the newest encoded record; the head reaches it once its batch is sealed. */
  private lastSeq: number;
  /** Every record up to this seq is written (or lost, once the journal failed). */
  private settledSeq: number;
  /** Records per batch handed to the sealer: maxBatchRecords, doubled under backlog up to maxBatchRecordsUnderLoad. */
  private batchTarget: number;
  private waiters: Waiter[] = [];
  private pumping = false;
  private head: ChainHead;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
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
    this.settledSeq = head.seq;
    this.batchTarget = config.maxBatchRecords;
    this.report = report;
    this.encoder = new TapeEncoder(config.includeContent);
    this.sealer = createSealBackend(config.sealing);
    this.chain = new SealChain({ seal: head.seal, hash: head.hash });
    if (reseal !== undefined && reseal.lines.length > 0) {
      // Lines read back from the file are complete records (parseLine accepted them as JSON, so
      // they hold no digest marks): sealed again as they are, as a batch of their own.
      const count = reseal.lines.length;
      this.pieces.push({ records: Buffer.from(reseal.lines.join('\n') + '\n', 'utf8'), first: this.lastSeq + 1, count, recovery: reseal.recovery });
      this.lastSeq += count;
      this.unwritten += count;
      this.pumpSeals(true);
    }
  }

  /**
   * Resolves once the seal backend takes batches without a start-up delay (the worker thread has
   * loaded); openJournal waits for it, so a new journal does not refuse appends while it starts.
   */
  ready(): Promise<void> {
    return this.sealer.ready();
  }

  /** What opening found and repaired (torn tail, unsealed records, stale lock). */
  get openReport(): OpenReport {
    return this.report;
  }

  /** False when append() would refuse now (buffer full, closing, or the sink failed). */
  get writable(): boolean {
    return this.failure === null && this.closing === null && this.encoder.count + this.unwritten < this.config.maxPendingRecords;
  }

  /**
   * Encodes one entry (what it holds now is what is recorded) and queues it for sealing. Never
   * throws. Returns false, and counts it as refused, when the journal cannot take it: the caller
   * must then refuse the decision's message (BACKPRESSURE) rather than act on it without a record.
   */
  append(entry: JournalEntry): boolean {
    if (this.failure !== null || this.closing !== null || entry === null || typeof entry !== 'object' || this.encoder.count + this.unwritten + this.deferred.length >= this.config.maxPendingRecords) {
      this.refused++;
      return false;
    }
    if (this.adding) {
      // An append from inside the encoding of another (a getter or proxy in an entry that calls
      // back into the bus) would write into the middle of that record: it is encoded right after.
      this.deferred.push(entry);
      return true;
    }
    this.adding = true;
    try {
      let next: JournalEntry | undefined = entry;
      while (next !== undefined) {
        this.encoder.add(next);
        this.appended++;
        if (this.encoder.count >= this.config.maxBatchRecords) this.cutPiece();
        next = this.deferred.shift();
      }
    } catch (error) {
      // Only a programming error gets here (encoding never throws on bad input).
      this.refused += 1 + this.deferred.length;
      this.deferred = [];
      this.fail(asError(error));
      return false;
    } finally {
      this.adding = false;
    }
    if (this.unwritten > 0) {
      // A full piece, or a busy pipeline (more records are coming): no reason to wait for the timer.
      this.immediate ??= setImmediate(this.sealDue);
    } else if (this.timer === null) {
      this.timer = setTimeout(this.sealDue, this.config.maxBatchDelayMs);
    }
    return true;
  }

  /** Seals everything appended so far and waits until the sink has written it. */
  async flush(): Promise<void> {
    this.sealNow(true);
    await this.settled(this.lastSeq);
    if (this.failure !== null) throw this.failure;
  }

  /** Flushes, then closes the sink. Idempotent: every call returns the same promise. */
  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  private async closeNow(): Promise<void> {
    this.sealNow(true);
    await this.settled(this.lastSeq);
    this.sealer.release();
    await this.sink.close();
    if (this.failure !== null) throw this.failure;
  }

  stats(): JournalStats {
    const sink = this.sink.stats();
    return {
      appended: this.appended,
      refused: this.refused,
      pending: this.encoder.count + this.unwritten,
      sealedBatches: this.sealedBatches,
      helpedBatches: this.helpedBatches,
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
    this.sealNow(false);
  };

  /**
   * Hands the encoded records to the seal backend. `force` (flush, close) hands them all over at
   * once, whatever is in flight.
   */
  private sealNow(force: boolean): void {
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    if (this.failure !== null) return;
    if (this.encoder.count > 0) this.cutPiece();
    this.pumpSeals(force);
  }

  /** The open piece's records become a piece waiting for the seal backend; their seqs are given here. */
  private cutPiece(): void {
    const records = this.encoder.take();
    this.pieces.push({ records, first: this.lastSeq + 1, count: records.count });
    this.lastSeq += records.count;
    this.unwritten += records.count;
  }

  /** Hands waiting pieces to the seal backend while it has room (all of them when forced). */
  private pumpSeals(force: boolean): void {
    // An inline backend answers within submit(), which pumps again: the outer loop goes on instead.
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.pieces.length > 0 && this.failure === null) {
        if (!force && this.sealing.length >= MAX_SEALS_IN_FLIGHT) {
          // Backlog: what waits now is sealed in bigger batches (fewer round trips and seal lines).
          this.batchTarget = Math.min(this.batchTarget * 2, this.config.maxBatchRecordsUnderLoad);
          if (this.config.sealing === Sealing.WORKER && this.encoder.count + this.unwritten >= this.config.maxPendingRecords / 2) {
            // The worker is behind and the buffer is half full: this thread hashes one batch
            // itself (per turn) rather than let appends be refused while it has time to spare.
            this.helper ??= new InlineSealBackend();
            this.helpedBatches++;
            this.submit(this.takeJob(), this.helper);
          }
          return;
        }
        this.submit(this.takeJob(), this.sealer);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The next batch: the first waiting piece, joined by those after it up to batchTarget records. */
  private takeJob(): SealJob {
    const first = this.pieces.shift()!;
    const at = this.config.now();
    if (first.recovery !== undefined) return { records: [first.records], first: first.first, count: first.count, at, recovery: first.recovery };
    let count = first.count;
    const records = [first.records];
    while (this.pieces.length > 0 && this.pieces[0]!.recovery === undefined && count + this.pieces[0]!.count <= this.batchTarget) {
      const next = this.pieces.shift()!;
      records.push(next.records);
      count += next.count;
    }
    return { records, first: first.first, count, at };
  }

  private submit(job: SealJob, backend: SealBackend): void {
    const slot: InFlightSeal = { count: job.count, hashed: null };
    this.sealing.push(slot);
    let hashed: HashedBatch | Promise<HashedBatch>;
    try {
      hashed = backend.seal(job);
    } catch (error) {
      this.fail(asError(error));
      return;
    }
    if (hashed instanceof Promise) {
      hashed.then(
        (result) => {
          slot.hashed = result;
          this.recycle(result);
          this.takeSealed();
        },
        (error: unknown) => this.fail(asError(error)),
      );
    } else {
      slot.hashed = hashed;
      this.recycle(hashed);
      this.takeSealed();
    }
  }

  private recycle(batch: HashedBatch): void {
    for (const piece of batch.spent) this.encoder.recycle(piece);
  }

  /** Links the batches that came back, in order, and moves them to the write queue; the head moves with them. */
  private takeSealed(): void {
    if (this.failure !== null) return;
    while (this.sealing.length > 0 && this.sealing[0]!.hashed !== null) {
      const sealed = this.chain.link(this.sealing.shift()!.hashed!);
      const { seal } = sealed;
      this.head = { seal: seal.seal, seq: seal.last, hash: seal.hash };
      this.sealedBatches++;
      this.toWrite.push(sealed);
    }
    this.pumpWrite();
    this.pumpSeals(false);
  }

  /**
   * Starts a sink call when none is in progress: every ready batch at once when the sink takes
   * several (writeBatches), else the oldest one.
   */
  private pumpWrite(): void {
    if (this.writingRecords !== -1 || this.failure !== null || this.toWrite.length === 0) return;
    const jobs = this.sink.writeBatches === undefined ? [this.toWrite.shift()!] : this.toWrite.splice(0);
    const chunks = new Array<Uint8Array>(jobs.length);
    const batches = new Array<SealedBatch>(jobs.length);
    let records = 0;
    for (let i = 0; i < jobs.length; i++) {
      const { chunk, seal } = jobs[i]!;
      chunks[i] = chunk;
      batches[i] = { firstSeq: seal.first, lastSeq: seal.last, records: seal.count, sealHash: seal.hash };
      records += seal.count;
    }
    const lastSeq = batches[jobs.length - 1]!.lastSeq;
    this.writingRecords = records;
    let written: Promise<void>;
    try {
      written = this.sink.writeBatches === undefined ? this.sink.write(chunks[0]!, batches[0]!) : this.sink.writeBatches(chunks, batches);
    } catch (error) {
      written = Promise.reject(asError(error));
    }
    written.then(
      () => this.written(records, lastSeq),
      (error: unknown) => this.writeFailed(records, asError(error)),
    );
  }

  private written(records: number, lastSeq: number): void {
    this.writingRecords = -1;
    this.recordsWritten += records;
    this.unwritten -= records;
    if (this.unwritten === 0) this.batchTarget = this.config.maxBatchRecords;
    this.settle(lastSeq);
    this.pumpWrite();
  }

  private writeFailed(records: number, error: Error): void {
    this.writingRecords = -1;
    this.lost += records;
    this.unwritten -= records;
    this.fail(error);
    // Already failed (a seal failed while this call was in progress): settle the waiters now.
    this.settle(this.settledSeq);
  }

  /** Resolves once every record up to `seq` is written, or lost because the journal failed. */
  private settled(seq: number): Promise<void> {
    if (this.settledSeq >= seq) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.waiters.push({ seq, resolve });
      if (this.failure !== null) this.settle(this.settledSeq);
    });
  }

  private settle(seq: number): void {
    // After a failure, nothing more is written: everything is settled once the sink call in progress ends.
    if (this.failure !== null && this.writingRecords === -1) seq = this.lastSeq;
    if (seq > this.settledSeq) this.settledSeq = seq;
    let done = 0;
    while (done < this.waiters.length && this.waiters[done]!.seq <= this.settledSeq) this.waiters[done++]!.resolve();
    if (done > 0) this.waiters.splice(0, done);
  }

  private fail(error: Error): void {
    if (this.failure !== null) return;
    this.failure = error;
    // Accepted but never written: counted, and the onError callback tells the owner. A sink call
    // in progress settles on its own.
    const inSink = this.writingRecords === -1 ? 0 : this.writingRecords;
    this.lost += this.encoder.count + this.unwritten - inSink;
    this.unwritten = inSink;
    if (this.encoder.count > 0) this.encoder.take();
    this.pieces = [];
    this.sealing = [];
    this.toWrite = [];
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.timer = null;
    this.immediate = null;
    this.config.onError?.(error);
    this.settle(this.settledSeq);
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
    await journal.ready();
    await journal.flush();
  } catch (error) {
    await journal.close().catch(() => undefined);
    throw error;
  }
  report.head = journal.stats().head;
  return journal;
}
