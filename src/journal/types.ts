import type { AgentMessage } from '../message/schema.js';

/** One governance decision, as the bus hands it to the journal. */
export interface JournalEntry {
  /** e.g. 'message.delivered' | 'message.rejected' | 'message.held' | 'policy.decision' | 'policy.fail_open' | 'deliberation.approved'. */
  type: string;
  /** Epoch milliseconds of the decision. */
  at: number;
  tenantId?: string;
  messageId?: string;
  fromAgent?: string;
  toAgent?: string;
  recipients?: readonly string[];
  /** Rejection code (src/errors.ts) when the decision is a refusal. */
  code?: string;
  reason?: string;
  constitutionalHash?: string;
  details?: Readonly<Record<string, unknown>>;
  /**
   * The message the decision is about. The journal stores `messageDigest(message)`, computed when
   * the batch is sealed, and the content only when the journal was opened with `includeContent`.
   * tenantId / messageId / fromAgent / toAgent default to the message's when not given.
   */
  message?: AgentMessage;
  /** A `messageDigest` the caller already computed; the journal then skips computing it again. */
  digest?: string;
}

export const FsyncPolicy = {
  ALWAYS: 'always',
  INTERVAL: 'interval',
  NEVER: 'never',
} as const;
export type FsyncPolicy = (typeof FsyncPolicy)[keyof typeof FsyncPolicy];

/** What a seal line holds (see docs/journal.md). Keys are written in canonical (sorted) order. */
export interface Seal {
  /** Format version. */
  v: number;
  /** Batch number, 1-based, +1 per seal. */
  seal: number;
  /** First and last record seq of the batch; count = last - first + 1. */
  first: number;
  last: number;
  count: number;
  /** Merkle root (hex) over the SHA-256 of each record line. */
  root: string;
  /** Base64 of the first 8 bytes of each leaf hash, in order: lets verify say which record changed. */
  leaves: string;
  /** Hash of the previous seal (GENESIS_HASH for the first). */
  prev: string;
  /** Epoch ms when the batch was sealed. */
  at: number;
  /** Present on a seal written by recovery for records found complete but unsealed after a crash. */
  recovery?: { reason: string; tornBytes: number; discarded: number };
  /** SHA-256 (hex) of the canonical JSON of every other field. */
  hash: string;
}

/** The chain head: where the next batch continues. */
export interface ChainHead {
  seal: number;
  seq: number;
  hash: string;
}

/** What openJournal found and repaired. */
export interface OpenReport {
  /** True when the journal directory held no journal yet. */
  created: boolean;
  head: ChainHead;
  /** An incomplete last line (no newline) that was cut off, if any. */
  tornTail: { file: string; bytes: number } | null;
  /** Complete record lines found after the last seal. */
  unsealed: { resealed: number; discarded: number; firstSeq: number | null; lastSeq: number | null };
  /** Where the bytes cut from the tail were preserved for inspection (not part of the chain). */
  savedTo: string | null;
  /** A lock left by a process that no longer runs was taken over. */
  staleLock: boolean;
}

export interface JournalStats {
  /** Entries accepted by append(). */
  appended: number;
  /** Entries refused by append() (buffer full, closed or failed). */
  refused: number;
  /** Entries accepted but not yet written (waiting for a seal or for the sink). */
  pending: number;
  sealedBatches: number;
  /** Batches the appending thread hashed itself because the seal worker was behind and the buffer half full. */
  helpedBatches: number;
  recordsWritten: number;
  bytesWritten: number;
  fsyncs: number;
  /** Entries accepted but never written because the sink failed. */
  lost: number;
  /** The newest sealed batch. With worker sealing it moves once the worker answered (flush() waits for it). */
  head: ChainHead;
  /** Seq given to the newest record handed to the sealer; `head.seq` reaches it once that batch is sealed. */
  lastSeq: number;
  currentFile: string | null;
  writable: boolean;
  error: string | null;
}

/** A record read back from the journal. */
export interface JournalRecord {
  seq: number;
  type: string;
  at: number;
  [field: string]: unknown;
}

export const IssueKind = {
  MODIFIED: 'modified',
  DELETED: 'deleted',
  REORDERED: 'reordered',
  INSERTED: 'inserted',
  TRUNCATED: 'truncated',
  TORN_TAIL: 'torn_tail',
  BAD_SEAL: 'bad_seal',
  CHAIN_BREAK: 'chain_break',
} as const;
export type IssueKind = (typeof IssueKind)[keyof typeof IssueKind];

export interface VerifyIssue {
  kind: IssueKind;
  /** What the issue is about. */
  target: 'record' | 'seal' | 'file' | 'batch';
  file: string;
  /** 1-based line number in `file`, when the issue is on (or just before) a line. */
  line?: number;
  seq?: number;
  batch?: number;
  detail: string;
}

export interface VerifyReport {
  ok: boolean;
  dir: string;
  /** False when the directory or a file could not be read (CLI exit code 2). */
  readable: boolean;
  error?: string;
  files: Array<{ name: string; records: number; seals: number; bytes: number }>;
  records: number;
  seals: number;
  head: ChainHead | null;
  /** Seals written by crash recovery (not failures; listed so an auditor sees them). */
  recoverySeals: Array<{ file: string; line: number; batch: number; resealed: number; discarded: number; tornBytes: number }>;
  issues: VerifyIssue[];
  /** Issues found beyond the reporting limit. */
  issuesOmitted: number;
}
