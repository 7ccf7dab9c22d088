/** What a sink found when it opened storage that already held a journal. */
export interface SinkRecovery {
  /** True when the storage held no journal yet. */
  created: boolean;
  /** The last complete seal line (raw text), or null when there is none yet. */
  headSealLine: string | null;
  /**
   * Complete lines found after the last seal, oldest first. The sink has already removed them
   * from storage; the journal decides which to seal again (see recovery in docs/journal.md).
   */
  unsealedLines: string[];
  /** Bytes of an incomplete last line (no newline) that were removed. */
  tornBytes: number;
  /** Where the removal happened (file name), when anything was removed. */
  tornFile: string | null;
  /** Where the removed bytes were preserved, when anything was removed. */
  savedTo: string | null;
  /** A lock left by a process that no longer runs was taken over. */
  staleLock: boolean;
}

/** Describes a chunk handed to the sink: a batch's record lines then its seal line, each ending in a newline. */
export interface SealedBatch {
  firstSeq: number;
  lastSeq: number;
  records: number;
  sealHash: string;
}

export interface SinkStats {
  bytesWritten: number;
  fsyncs: number;
  /** File (or stream, key...) the next batch goes to. */
  location: string | null;
}

/**
 * Where a journal's lines go. The journal calls `write` (or `writeBatches`) one call at a time
 * (never concurrently) and considers a batch durable once the promise resolves, subject to the
 * sink's fsync policy.
 * A file sink exists now; Redis or JetStream sinks implement the same calls.
 */
export interface JournalSink {
  open(): Promise<SinkRecovery>;
  /** `chunk` is the batch's UTF-8 bytes; the sink may keep it (the journal does not reuse it). */
  write(chunk: Uint8Array, batch: SealedBatch): Promise<void>;
  /**
   * Optional: several consecutive batches in one call (chunks[i] is batches[i]), e.g. one writev.
   * The journal then hands over every batch sealed while the previous call was in progress,
   * instead of one `write` per batch. Same guarantees as `write` for each batch.
   */
  writeBatches?(chunks: readonly Uint8Array[], batches: readonly SealedBatch[]): Promise<void>;
  /** Makes everything written so far durable (fsync or equivalent). */
  sync(): Promise<void>;
  /** Syncs (unless the policy is 'never') and releases the storage. Idempotent. */
  close(): Promise<void>;
  /** The last `n` record lines (raw text), oldest first. */
  readTail(n: number): Promise<string[]>;
  stats(): SinkStats;
}
