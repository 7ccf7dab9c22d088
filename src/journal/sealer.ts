import { encodeLeafPrefixes, linkSeal } from './format.js';
import { sha256 } from './hash.js';
import { merkleRoot } from './merkle.js';
import { DIGEST_MARK, digestTail } from './record.js';
import { renderBuffer, TapeRenderer, type ByteWriter, type TapePiece } from './tape.js';
import type { Seal } from './types.js';

/**
 * Records as a journal hands them to the sealer: a TapePiece (TapeEncoder, the appending
 * thread's usual encoding), or bytes — per record its line (+ DIGEST_MARK + the digest pre-image)
 * and a newline (BatchEncoder, and the record lines that crash recovery seals again).
 */
export type EncodedRecords = Uint8Array | TapePiece;

/** One batch to seal: consecutive pieces of records, in order. */
export interface SealJob {
  records: readonly EncodedRecords[];
  /** Seq of the first record, and the number of records in `records`. */
  first: number;
  count: number;
  /** Seal timestamp (taken on the journal's thread, from its clock). */
  at: number;
  recovery?: Seal['recovery'];
}

/** A sealed batch: the bytes to write (records then seal, each newline-terminated) and the seal. */
export interface SealedJob {
  chunk: Uint8Array;
  seal: Seal;
}

/**
 * A batch whose records are final (digests filled in) and hashed, not yet chained: `chunk` holds
 * the records' `length` bytes, followed by room for the seal line.
 */
export interface HashedBatch {
  chunk: Uint8Array;
  length: number;
  first: number;
  count: number;
  at: number;
  recovery?: Seal['recovery'];
  /** Merkle root over the record lines, and the base64 leaf prefixes, as the seal holds them. */
  root: string;
  leaves: string;
  /** The job's tape pieces, done with: their buffers go back to the encoder (TapeEncoder.recycle). */
  spent: TapePiece[];
}

export interface SealHead {
  seal: number;
  hash: string;
}

const SCRATCH_BYTES = 1 << 20;
/** A scratch buffer grown by an unusually large batch is given back after it. */
const MAX_KEPT_SCRATCH_BYTES = 32 << 20;
/** Room for a seal line apart from its leaves list (about 330 bytes with a recovery field). */
const SEAL_LINE_BYTES = 1024;
const NEWLINE = 10;

/**
 * The heavy, order-free part of sealing a batch: renders the records (TapeRenderer), hashes each
 * message digest pre-image into its record and each record line (a Merkle leaf), computes the
 * Merkle root. Pure computation on a reusable scratch buffer: runs on the seal worker
 * (./seal-worker.ts) or on the journal's thread with the same result. Chaining (SealChain) is
 * cheap and happens on the journal's thread, in order.
 */
export class RecordHasher {
  /** Records are written here, hashed in place, then copied out once. */
  private out = renderBuffer(SCRATCH_BYTES);
  private readonly renderer = new TapeRenderer();

  hash(job: SealJob): HashedBatch {
    const { count } = job;
    const out = this.out;
    out.pos = out.base;
    const leaves = new Array<string>(count);
    const spent: TapePiece[] = [];
    let index = 0;
    for (const part of job.records) {
      if (part instanceof Uint8Array) {
        index = this.lines(part, out, leaves, index);
        continue;
      }
      if (part.count > count - index) throw new Error(`seal job holds more than ${count} records`);
      index = this.renderer.render(part, job.first + index, out, leaves, index);
      spent.push(part);
    }
    if (index < count) throw new Error(`seal job holds fewer than ${count} records`);

    const encodedLeaves = encodeLeafPrefixes(leaves);
    const length = out.pos - out.base;
    const chunk = new Uint8Array(length + SEAL_LINE_BYTES + encodedLeaves.length);
    chunk.set(out.view(out.base, out.pos));
    if (out.buf.length > MAX_KEPT_SCRATCH_BYTES) this.out = renderBuffer(SCRATCH_BYTES);
    return { chunk, length, first: job.first, count, at: job.at, recovery: job.recovery, root: merkleRoot(leaves), leaves: encodedLeaves, spent };
  }

  /** Byte-encoded records: each line as it is, or with its digest computed from the pre-image after DIGEST_MARK. */
  private lines(bytes: Uint8Array, out: ByteWriter, leaves: string[], index: number): number {
    const count = leaves.length;
    const input = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    let pos = 0;
    let mark = input.indexOf(DIGEST_MARK);
    while (pos < input.length) {
      if (index >= count) throw new Error(`seal job holds more than ${count} records`);
      const end = input.indexOf(NEWLINE, pos);
      if (end === -1) throw new Error(`seal job holds fewer than ${count} records`);
      const start = out.pos;
      if (mark !== -1 && mark < end) {
        // `{...}` MARK pre-image: the line becomes `{...,"digest":"<hex>"}`.
        out.copy(input, pos, mark - 1);
        out.ascii(digestTail(sha256(new Uint8Array(input.buffer, input.byteOffset + mark + 1, end - mark - 1))));
        mark = input.indexOf(DIGEST_MARK, end);
      } else {
        out.copy(input, pos, end);
      }
      leaves[index++] = sha256(out.view(start, out.pos));
      out.byte(NEWLINE);
      pos = end + 1;
    }
    return index;
  }
}

/** Continues a journal's chain: each hashed batch, in order, gets its seal line after its records. */
export class SealChain {
  private head: SealHead;

  constructor(head: SealHead) {
    this.head = { ...head };
  }

  link(batch: HashedBatch): SealedJob {
    const { seal, line } = linkSeal({ seal: this.head.seal + 1, first: batch.first, count: batch.count, root: batch.root, leaves: batch.leaves, prev: this.head.hash, at: batch.at, recovery: batch.recovery });
    let chunk = batch.chunk;
    const end = batch.length + line.length + 1;
    if (end > chunk.length) {
      // Not expected (the hasher leaves room for the longest seal line); kept correct regardless.
      chunk = new Uint8Array(end);
      chunk.set(batch.chunk.subarray(0, batch.length));
    }
    Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).write(line, batch.length, 'latin1');
    chunk[end - 1] = NEWLINE;
    this.head = { seal: seal.seal, hash: seal.hash };
    return { chunk: chunk.subarray(0, end), seal };
  }
}
