import { encodeLeafPrefixes, linkSeal } from './format.js';
import { sha256 } from './hash.js';
import { merkleRoot } from './merkle.js';
import { DIGEST_MARK, digestTail } from './record.js';
import type { Seal } from './types.js';

/** One batch to seal, as BatchEncoder encoded it: per record its line (+ DIGEST_MARK + pre-image) and a newline. */
export interface SealJob {
  /** One buffer, or consecutive pieces of the batch (joined by the sealer, off the appending thread). */
  bytes: Uint8Array | readonly Uint8Array[];
  /** Seq of the first record, and the number of records in `bytes`. */
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
}

export interface SealHead {
  seal: number;
  hash: string;
}

const SCRATCH_BYTES = 1 << 20;
/** A scratch buffer grown by an unusually large batch is given back after it. */
const MAX_KEPT_SCRATCH_BYTES = 8 << 20;
/** Room for a seal line apart from its leaves list (about 330 bytes with a recovery field). */
const SEAL_LINE_BYTES = 1024;
const DIGEST_TAIL_BYTES = 80;
const NEWLINE = 10;

/**
 * The heavy, order-free part of sealing a batch: hashes each message digest pre-image into its
 * record and each record line (a Merkle leaf), computes the Merkle root. Pure computation on a
 * reusable scratch buffer: runs on the seal worker (./seal-worker.ts) or on the journal's thread
 * with the same result. Chaining (SealChain) is cheap and happens on the journal's thread, in order.
 */
export class RecordHasher {
  /** Records are written here, hashed in place, then copied out once. */
  private scratch: Buffer = Buffer.allocUnsafe(SCRATCH_BYTES);

  hash(job: SealJob): HashedBatch {
    const { count } = job;
    const { bytes } = job;
    const input = bytes instanceof Uint8Array ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length) : Buffer.concat(bytes);
    // A digest tail (77 bytes) replaces a longer pre-image, so records never outgrow their input;
    // DIGEST_TAIL_BYTES per record is a margin that does not rely on it.
    const room = input.length + count * DIGEST_TAIL_BYTES;
    if (room > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(room, this.scratch.length * 2));
    const out = this.scratch;
    const leaves = new Array<string>(count);
    let offset = 0;
    let pos = 0;
    let mark = input.indexOf(DIGEST_MARK);
    for (let i = 0; i < count; i++) {
      const end = input.indexOf(NEWLINE, pos);
      if (end === -1) throw new Error(`seal job holds fewer than ${count} records`);
      const start = offset;
      // Plain views and TypedArray set: Buffer's subarray and copy add argument handling per call.
      if (mark !== -1 && mark < end) {
        // `{...}` MARK pre-image: the line becomes `{...,"digest":"<hex>"}`.
        out.set(new Uint8Array(input.buffer, input.byteOffset + pos, mark - 1 - pos), offset);
        offset += mark - 1 - pos;
        offset += out.write(digestTail(sha256(new Uint8Array(input.buffer, input.byteOffset + mark + 1, end - mark - 1))), offset, 'latin1');
        mark = input.indexOf(DIGEST_MARK, end);
      } else {
        out.set(new Uint8Array(input.buffer, input.byteOffset + pos, end - pos), offset);
        offset += end - pos;
      }
      leaves[i] = sha256(new Uint8Array(out.buffer, out.byteOffset + start, offset - start));
      out[offset++] = NEWLINE;
      pos = end + 1;
    }
    if (pos !== input.length) throw new Error(`seal job holds more than ${count} records`);

    const encodedLeaves = encodeLeafPrefixes(leaves);
    const chunk = new Uint8Array(offset + SEAL_LINE_BYTES + encodedLeaves.length);
    chunk.set(new Uint8Array(out.buffer, out.byteOffset, offset));
    if (this.scratch.length > MAX_KEPT_SCRATCH_BYTES) this.scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
    return { chunk, length: offset, first: job.first, count, at: job.at, recovery: job.recovery, root: merkleRoot(leaves), leaves: encodedLeaves };
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
