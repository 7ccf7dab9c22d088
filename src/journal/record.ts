import { errorText } from '../errors.js';
import { messageDigestText } from '../message/digest.js';
import type { AgentMessage } from '../message/schema.js';
import type { JournalEntry } from './types.js';

/**
 * Byte between a record and its message digest pre-image in an encoded batch. JSON text never
 * holds a raw control character, so neither it nor a newline (10) occurs anywhere else.
 */
export const DIGEST_MARK = 1;
const NEWLINE = 10;

/** The `,"digest":"<hex>"}` that replaces the closing brace of a record whose digest the sealer computes. */
export function digestTail(digest: string): string {
  return ',"digest":"' + digest + '"}';
}

/**
 * A field whose getter (or proxy trap) threw: recorded as `{"unserializable":"<reason>"}`, as a
 * value JSON.stringify refuses is, so that the entry is still recorded with what could be read.
 */
class Unreadable {
  readonly unserializable: string;

  constructor(error: unknown) {
    this.unserializable = errorText(error);
  }
}

function read<T>(get: () => T): T | Unreadable {
  try {
    return get();
  } catch (error) {
    return new Unreadable(error);
  }
}

type MessageDefault = 'tenantId' | 'messageId' | 'fromAgent' | 'toAgent' | 'constitutionalHash';

/** The entry's own field, else the message's (when the message could be read). */
function withDefault(entry: JournalEntry, message: AgentMessage | null | undefined, key: MessageDefault): string | Unreadable | undefined {
  const own = read(() => entry[key]);
  return own ?? (message === undefined || message === null ? undefined : read(() => message[key]));
}

/** The record's fields in line order; undefined ones are left out of the line. Never throws: a field that cannot be read is recorded as such. */
function recordObject(seq: number, entry: JournalEntry, includeContent: boolean, digestError: string | undefined) {
  let message: AgentMessage | undefined;
  let content: AgentMessage | Unreadable | undefined;
  try {
    message = entry.message;
    content = message;
  } catch (error) {
    content = new Unreadable(error);
  }
  return {
    seq,
    type: read(() => entry.type),
    at: read(() => entry.at),
    tenantId: withDefault(entry, message, 'tenantId'),
    messageId: withDefault(entry, message, 'messageId'),
    fromAgent: withDefault(entry, message, 'fromAgent'),
    toAgent: withDefault(entry, message, 'toAgent'),
    recipients: read(() => entry.recipients),
    code: read(() => entry.code),
    reason: read(() => entry.reason),
    constitutionalHash: withDefault(entry, message, 'constitutionalHash'),
    details: read(() => entry.details),
    message: includeContent ? content : undefined,
    digest: read(() => entry.digest),
    digestError,
  };
}

/** The record line. Never throws: what JSON.stringify refuses (a cycle, a BigInt, a getter that throws) is recorded as such. */
export function recordLine(seq: number, entry: JournalEntry, includeContent: boolean, digestError: string | undefined): string {
  const record = recordObject(seq, entry, includeContent, digestError);
  try {
    return JSON.stringify(record);
  } catch {
    let line = '{"seq":' + seq;
    for (const [key, value] of Object.entries(record)) {
      if (key !== 'seq' && value !== undefined) line += ',' + JSON.stringify(key) + ':' + guardedJson(value);
    }
    return line + '}';
  }
}

function guardedJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (error) {
    return JSON.stringify({ unserializable: errorText(error) });
  }
}


/**
 * The message digest pre-image the journal hashes for an entry — when the entry carries a message
 * and no digest — or why it has none (a value JSON cannot hold, a field that cannot be read).
 */
export function digestInput(entry: JournalEntry): { preimage: string | undefined; digestError: string | undefined } {
  try {
    if (entry.digest !== undefined || entry.message === undefined) return { preimage: undefined, digestError: undefined };
    return { preimage: messageDigestText(entry.message), digestError: undefined };
  } catch (error) {
    return { preimage: undefined, digestError: errorText(error) };
  }
}

const SCRATCH_BYTES = 1 << 20;
/** A scratch buffer grown by an unusually large batch is given back after it. */
const MAX_KEPT_SCRATCH_BYTES = 8 << 20;

/**
 * The reference encoding of records: per record its JSON line (JSON.stringify of the record's
 * fields), then — when the journal must compute the message digest — DIGEST_MARK and the digest
 * pre-image (messageDigestText), then a newline. RecordHasher takes these bytes too: it hashes the
 * pre-image and ends the line with `,"digest":"<hex>"}`, so the digest is the line's last field.
 *
 * The journal encodes with TapeEncoder (./tape.ts), which writes the same records without calling
 * JSON.stringify; its output is tested byte for byte against this encoder (test/journal/tape.test.ts),
 * and it falls back to recordLine and messageDigestText above for values it does not take.
 */
export class BatchEncoder {
  private scratch: Buffer = Buffer.allocUnsafe(SCRATCH_BYTES);
  private readonly includeContent: boolean;

  constructor(includeContent: boolean) {
    this.includeContent = includeContent;
  }

  encode(entries: readonly JournalEntry[], start: number, end: number, firstSeq: number): Uint8Array {
    let offset = 0;
    let seq = firstSeq;
    for (let i = start; i < end; i++) {
      const entry = entries[i]!;
      const { preimage, digestError } = digestInput(entry);
      const line = recordLine(seq++, entry, this.includeContent, digestError);
      // UTF-8 worst case: 3 bytes per UTF-16 unit.
      const room = (line.length + (preimage === undefined ? 0 : preimage.length)) * 3 + 2;
      if (offset + room > this.scratch.length) this.grow(offset, offset + room);
      offset += this.scratch.write(line, offset);
      if (preimage !== undefined) {
        this.scratch[offset++] = DIGEST_MARK;
        offset += this.scratch.write(preimage, offset);
      }
      this.scratch[offset++] = NEWLINE;
    }
    const bytes = new Uint8Array(offset);
    bytes.set(this.scratch.subarray(0, offset));
    if (this.scratch.length > MAX_KEPT_SCRATCH_BYTES) this.scratch = Buffer.allocUnsafe(SCRATCH_BYTES);
    return bytes;
  }

  private grow(used: number, needed: number): void {
    const next = Buffer.allocUnsafe(Math.max(needed, this.scratch.length * 2));
    this.scratch.copy(next, 0, 0, used);
    this.scratch = next;
  }
}
