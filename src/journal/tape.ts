import { numberText } from '../message/content.js';
import { MESSAGE_DIGEST_TAG } from '../message/digest.js';
import { sha256 } from './hash.js';
import { digestInput, recordLine } from './record.js';
import type { JournalEntry } from './types.js';

/*
 * The journal's hand-off from the appending thread to the seal worker.
 *
 * A record line is `JSON.stringify` of the record's fields, and the message digest the SHA-256 of
 * `messageDigestText(message)`. V8's JSON.stringify (Node 20) costs about 2 ns per character of
 * output on the project machine, and a bus record needs two of them. Instead the appending thread
 * writes the JSON text itself, in one pass, as bytes: strings are copied character by character
 * while they are printable ASCII without `"` or `\` (checked on the way; any other string is
 * written as JSON.stringify writes it), numbers digit by digit. The seal worker then only
 * assembles each line — `{"seq":N`, the field runs, the fields it shares with the digest
 * pre-image, the digest — and hashes the pre-image where it lies and the line.
 *
 * The walk writes exactly what JSON.stringify writes for plain data: strings, finite and
 * non-finite numbers, booleans, null, arrays (undefined items as null) and plain objects
 * (Object.keys order, undefined properties left out). Anything else — a toJSON method, a class
 * instance, a boxed primitive, a BigInt, a function or symbol, a cycle or very deep nesting, a
 * getter that throws — makes that entry fall back to JSON.stringify on this thread (recordLine and
 * messageDigestText, with their error handling): same record, carried as text in the same piece.
 *
 * Bytes of one record, with a digest to compute (tape: REC preLen s1 e1 s4 e4 s5 e5 s7 e7 s9 e9
 * s10 e10, then one slot per field in line order, RECORD_PARTS):
 *   pre-image   `["AgentMessage/2",...]`, exactly messageDigestText's text (preLen bytes)
 *   fields      type, at, tenantId, messageId, fromAgent, toAgent, recipients, code, reason,
 *               constitutionalHash, details, message: the value's JSON text only (the slot holds
 *               its length), or nothing (ABSENT: the field is left out). The worker writes the
 *               keys (`,"type":`), so this thread copies none. A shared field (tenantId,
 *               messageId, fromAgent, toAgent, constitutionalHash; at, the message's createdAt)
 *               equal to the message's string (number) is not written either (REF: the worker
 *               copies the pre-image element, bytes s..e of the record).
 * The worker writes `{"seq":N`, each present field as `,"<key>":` and its text, `,"digest":"<hex>"}`.
 * Any other record (tape: LINE bodyLen preLen): `{"seq":N` then the body (the line's fields, no
 * closing brace), then `,"digest":"<sha256 of the preLen bytes after the body>"}`, or `}` when
 * preLen is -1 (no digest to compute: no message, or the caller gave the digest).
 */
const REC = -20;
const LINE = -21;
const ABSENT = -1;
const REF = -2;

/** Pre-image elements a record field may share (messageId, fromAgent, toAgent, tenantId, constitutionalHash, createdAt: elements 1, 4, 5, 7, 9, 10), in the order their offsets are kept. */
const SLOT_MESSAGE_ID = 0;
const SLOT_FROM_AGENT = 1;
const SLOT_TO_AGENT = 2;
const SLOT_TENANT_ID = 3;
const SLOT_CONSTITUTIONAL_HASH = 4;
const SLOT_CREATED_AT = 5;

/** Deeper values fall back to JSON.stringify (which also detects cycles). */
const MAX_DEPTH = 64;
/** Any character JSON.stringify escapes or that is not ASCII (its UTF-8 is not its code unit). */
const NEEDS_ESCAPE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
/**
 * Strings longer than this are checked with NEEDS_ESCAPE and copied natively; shorter ones
 * character by character (in place, in the journal's appends, the loop wins up to about this
 * length: a UUID copied by the loop saves ~70 ns).
 */
const LONG_STRING = 48;

/**
 * Encoded records of consecutive entries: the first `tapeLength` slots of `tape` and `bytesLength`
 * bytes of `bytes`. Both buffers are transferred to the seal worker, and back with its answer
 * (HashedBatch.spent) to be written again: TapeEncoder.recycle.
 */
export interface TapePiece {
  tape: Int32Array;
  tapeLength: number;
  bytes: Uint8Array;
  bytesLength: number;
  count: number;
}

const TAPE_SLOTS = 1 << 15;
const BYTES = 1 << 18;
/** Buffers larger than this (an unusually large piece) are not kept for reuse. */
const MAX_KEPT_BYTES = 8 << 20;
/** Pieces kept for reuse: the ones at the worker and the next one need no new buffers. */
const MAX_SPARE_PIECES = 8;

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const NEWLINE = 10;

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));
const key = (name: string): Uint8Array => ascii(`,"${name}":`);
const NULL_TEXT = ascii('null');
const TRUE_TEXT = ascii('true');
const FALSE_TEXT = ascii('false');
const PRE_START = ascii('[' + JSON.stringify(MESSAGE_DIGEST_TAG));
const TYPE = key('type');
const AT = key('at');
const TENANT_ID = key('tenantId');
const MESSAGE_ID = key('messageId');
const FROM_AGENT = key('fromAgent');
const TO_AGENT = key('toAgent');
const RECIPIENTS = key('recipients');
const CODE = key('code');
const REASON = key('reason');
const CONSTITUTIONAL_HASH = key('constitutionalHash');
const DETAILS = key('details');
const MESSAGE = key('message');
const DIGEST = key('digest');
/** A record's fields in line order, each with its key and, for one a pre-image element may hold, that element's slot. */
const RECORD_PARTS: ReadonlyArray<{ key: Uint8Array; element?: number }> = [
  { key: TYPE },
  { key: AT, element: SLOT_CREATED_AT },
  { key: TENANT_ID, element: SLOT_TENANT_ID },
  { key: MESSAGE_ID, element: SLOT_MESSAGE_ID },
  { key: FROM_AGENT, element: SLOT_FROM_AGENT },
  { key: TO_AGENT, element: SLOT_TO_AGENT },
  { key: RECIPIENTS },
  { key: CODE },
  { key: REASON },
  { key: CONSTITUTIONAL_HASH, element: SLOT_CONSTITUTIONAL_HASH },
  { key: DETAILS },
  { key: MESSAGE },
];
/** Tape slots of a REC record: kind, preLen, 6 × (start, end) of shared pre-image elements, one per field. */
const FIRST_PART_SLOT = 14;
const RECORD_SLOTS = FIRST_PART_SLOT + RECORD_PARTS.length;

type RawJson = (value: unknown) => boolean;
// JSON.rawJSON objects (behind a flag in Node 20) have a null prototype and serialize as their text.
const isRawJson = (JSON as { isRawJSON?: RawJson }).isRawJSON;

/** Thrown (and caught by encode) when a value is not plain data: the entry falls back to JSON.stringify. */
class NotPlain extends Error {}
const NOT_PLAIN = new NotPlain('not plain data');

/** `{"seq":0` — how a record line encoded with seq 0 by recordLine starts. */
const LINE_PREFIX_LENGTH = '{"seq":0'.length;

/**
 * Encodes entries on the appending thread (see above). Never throws on bad input: an entry the
 * walk does not take is encoded as text by the same code that encoded every record before.
 */
export class TapeEncoder {
  private tape: Int32Array = new Int32Array(TAPE_SLOTS);
  private bytes: Uint8Array = new Uint8Array(BYTES);
  private buffer: Buffer = Buffer.from(this.bytes.buffer);
  /** bytes.length, as a plain field: checked before every write. */
  private cap = BYTES;
  /** Buffers of pieces the sealer is done with. */
  private readonly spare: Array<{ tape: Int32Array; bytes: Uint8Array }> = [];
  private t = 0;
  private b = 0;
  private n = 0;
  private readonly includeContent: boolean;
  /** The text of deeply frozen values met in details (shared, immutable: the bus's policy details). */
  private readonly frozenText = new WeakMap<object, Uint8Array>();

  constructor(includeContent: boolean) {
    this.includeContent = includeContent;
  }

  /** Encodes entries[start, end) into a piece that owns its buffers (until recycled); records add() left open come first. */
  encode(entries: readonly JournalEntry[], start: number, end: number): TapePiece {
    for (let i = start; i < end; i++) this.add(entries[i]!);
    return this.take();
  }

  /** Records encoded by add() since the last take(). */
  get count(): number {
    return this.n;
  }

  /** Encodes one entry at the end of the open piece. */
  add(entry: JournalEntry): void {
    const t = this.t;
    const b = this.b;
    try {
      this.record(entry);
    } catch {
      // Not plain data, or a getter or proxy threw: the fallback meets it again and records what it can read.
      this.t = t;
      this.b = b;
      this.line(entry);
    }
    this.n++;
  }

  /** The records added since the last take(), as a piece that owns its buffers (until recycled). */
  take(): TapePiece {
    const piece: TapePiece = { tape: this.tape, tapeLength: this.t, bytes: this.bytes, bytesLength: this.b, count: this.n };
    // The next piece gets buffers back from the sealer, else new ones the size of this one's.
    const spare = this.spare.pop();
    this.tape = spare?.tape ?? new Int32Array(Math.max(TAPE_SLOTS, this.t + (this.t >> 2)));
    this.setBytes(spare?.bytes ?? new Uint8Array(Math.max(BYTES, this.b + (this.b >> 2))));
    this.t = 0;
    this.b = 0;
    this.n = 0;
    return piece;
  }

  /** Takes back a piece's buffers once the sealer is done with it. */
  recycle(piece: TapePiece): void {
    const { tape, bytes } = piece;
    if (this.spare.length >= MAX_SPARE_PIECES || bytes.byteLength === 0 || bytes.length > MAX_KEPT_BYTES || tape.length > MAX_KEPT_BYTES / 4) return;
    this.spare.push({ tape, bytes });
  }

  private record(entry: JournalEntry): void {
    const message = entry.message;
    if (message === undefined || entry.digest !== undefined) {
      this.plainRecord(entry);
      return;
    }
    this.tapeRoom(RECORD_SLOTS);
    const t = this.t;
    this.tape[t] = REC;
    this.t = t + RECORD_SLOTS;
    const recordStart = this.b;
    // Each message field is read once, for its pre-image element and its record field.
    const messageId = message.messageId;
    const fromAgent = message.fromAgent;
    const toAgent = message.toAgent;
    const tenantId = message.tenantId;
    const constitutionalHash = message.constitutionalHash;
    const createdAt = message.createdAt;
    // messageDigestText's array, written here.
    this.copy(PRE_START);
    this.element(messageId, t + 2, recordStart);
    const conversationId = message.conversationId;
    if (conversationId === messageId && typeof conversationId === 'string') {
      // The bus's default conversation is the message itself: the same text again.
      this.byte(COMMA);
      this.copyOwn(recordStart + this.tape[t + 2]!, recordStart + this.tape[t + 3]!);
    } else {
      this.element(conversationId, -1, 0);
    }
    this.element(message.correlationId ?? null, -1, 0);
    this.element(fromAgent, t + 4, recordStart);
    this.element(toAgent ?? null, t + 6, recordStart);
    this.element(message.messageType, -1, 0);
    this.element(tenantId, t + 8, recordStart);
    this.element(message.priority, -1, 0);
    this.element(constitutionalHash, t + 10, recordStart);
    this.element(createdAt, t + 12, recordStart);
    this.element(message.expiresAt ?? null, -1, 0);
    this.element(message.requiredCapabilities ?? null, -1, 0);
    this.element(message.headers ?? null, -1, 0);
    this.element(message.content, -1, 0);
    this.element(message.payload ?? null, -1, 0);
    this.element(message.metadata ?? null, -1, 0);
    this.byte(CLOSE_ARRAY);
    this.slot(t + 1, this.b - recordStart);
    // The fields in RECORD_PARTS order.
    const f = t + FIRST_PART_SLOT;
    this.slot(f, this.part(entry.type));
    this.slot(f + 1, this.shared(entry.at, createdAt));
    this.slot(f + 2, this.shared(entry.tenantId ?? tenantId, tenantId));
    this.slot(f + 3, this.shared(entry.messageId ?? messageId, messageId));
    this.slot(f + 4, this.shared(entry.fromAgent ?? fromAgent, fromAgent));
    this.slot(f + 5, this.shared(entry.toAgent ?? toAgent, toAgent));
    this.slot(f + 6, this.part(entry.recipients));
    this.slot(f + 7, this.part(entry.code));
    this.slot(f + 8, this.part(entry.reason));
    this.slot(f + 9, this.shared(entry.constitutionalHash ?? constitutionalHash, constitutionalHash));
    this.slot(f + 10, this.detailsPart(entry.details));
    this.slot(f + 11, this.includeContent ? this.part(message) : ABSENT);
  }

  /** Slots reserved at the record's start: written through this (the tape is not replaced within a record). */
  private slot(at: number, value: number): void {
    this.tape[at] = value;
  }

  /** A record with no digest to compute: its fields as one body. */
  private plainRecord(entry: JournalEntry): void {
    const message = entry.message;
    this.tapeRoom(3);
    const t = this.t;
    this.tape[t] = LINE;
    this.tape[t + 2] = -1;
    this.t = t + 3;
    const start = this.b;
    this.field(TYPE, entry.type);
    this.field(AT, entry.at);
    this.field(TENANT_ID, entry.tenantId ?? message?.tenantId);
    this.field(MESSAGE_ID, entry.messageId ?? message?.messageId);
    this.field(FROM_AGENT, entry.fromAgent ?? message?.fromAgent);
    this.field(TO_AGENT, entry.toAgent ?? message?.toAgent);
    this.field(RECIPIENTS, entry.recipients);
    this.field(CODE, entry.code);
    this.field(REASON, entry.reason);
    this.field(CONSTITUTIONAL_HASH, entry.constitutionalHash ?? message?.constitutionalHash);
    this.details(entry.details);
    if (this.includeContent) this.field(MESSAGE, message);
    this.field(DIGEST, entry.digest);
    this.slot(t + 1, this.b - start);
  }

  /** A pre-image element (after a comma); `slot` >= 0 keeps where its text lies, for a field that shares it. */
  private element(value: unknown, slot: number, recordStart: number): void {
    this.byte(COMMA);
    if (slot >= 0) this.slot(slot, this.b - recordStart);
    // An array item: undefined (and only undefined, of what the walk takes) is written as null.
    if (value === undefined) this.copy(NULL_TEXT);
    else this.value(value, 0);
    if (slot >= 0) this.slot(slot + 1, this.b - recordStart);
  }

  /** `,"<key>":<value>`, or nothing when the value is undefined (JSON.stringify leaves such a property out). */
  private field(name: Uint8Array, value: unknown): void {
    if (value === undefined) return;
    this.copy(name);
    this.value(value, 0);
  }

  /** A field's value text, without its key (the worker writes that); its length, or ABSENT when undefined (left out). */
  private part(value: unknown): number {
    if (value === undefined) return ABSENT;
    const start = this.b;
    this.value(value, 0);
    return this.b - start;
  }

  /** A field that may equal the message's string or number: REF when it does (same JSON text as the pre-image element). */
  private shared(value: unknown, messageValue: unknown): number {
    if ((typeof value === 'string' || typeof value === 'number') && value === messageValue) return REF;
    return this.part(value);
  }

  private value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.string(value);
        return;
      case 'number':
        this.room(24);
        this.b = writeNumber(value, this.bytes, this.b);
        return;
      case 'boolean':
        this.copy(value ? TRUE_TEXT : FALSE_TEXT);
        return;
      case 'object':
        if (value === null) this.copy(NULL_TEXT);
        else if (depth >= MAX_DEPTH) throw NOT_PLAIN;
        else if (Array.isArray(value)) this.array(value, depth + 1);
        else this.object(value as Record<string, unknown>, depth + 1);
        return;
      default:
        // undefined here is a caller's bug; bigint (JSON.stringify throws), function and symbol
        // (left out, or null in arrays): JSON.stringify decides.
        throw NOT_PLAIN;
    }
  }

  private array(value: readonly unknown[], depth: number): void {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') throw NOT_PLAIN;
    this.byte(OPEN_ARRAY);
    const n = value.length;
    for (let i = 0; i < n; i++) {
      if (i > 0) this.byte(COMMA);
      const item = value[i];
      if (item === undefined) this.copy(NULL_TEXT);
      else this.value(item, depth);
    }
    this.byte(CLOSE_ARRAY);
  }

  /**
   * `,"details":…`. Deeply frozen values, the details itself or its members, are encoded once and
   * their text copied afterwards: the bus passes the same frozen policy details for every message
   * a cached decision allowed.
   */
  private details(details: Readonly<Record<string, unknown>> | undefined): void {
    if (details === undefined) return;
    this.copy(DETAILS);
    this.detailsPart(details);
  }

  /** The details' value text (see details()); its length, or ABSENT. */
  private detailsPart(details: Readonly<Record<string, unknown>> | undefined): number {
    if (details === undefined) return ABSENT;
    const start = this.b;
    if (this.knownText(details)) return this.b - start;
    if (typeof details === 'object' && details !== null && !Object.isFrozen(details) && !Array.isArray(details)) this.object(details, 1, true);
    else this.frozenValue(details, 0);
    return this.b - start;
  }

  /** Copies the kept text of a deeply frozen value met before; false when there is none. */
  private knownText(value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const text = this.frozenText.get(value);
    if (text === undefined) return false;
    this.copy(text);
    return true;
  }

  private frozenValue(value: unknown, depth: number): void {
    if (this.knownText(value)) return;
    if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) {
      this.value(value, depth);
      return;
    }
    const start = this.b;
    this.value(value, depth);
    if (isDeeplyFrozenData(value, 0)) this.frozenText.set(value, this.bytes.slice(start, this.b));
  }

  private object(value: Record<string, unknown>, depth: number, frozenMembers = false): void {
    if (typeof value.toJSON === 'function') throw NOT_PLAIN;
    // Plain objects only: JSON.stringify unboxes Number/String/Boolean objects, and another
    // realm's objects cannot be told apart from those cheaply.
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && (proto !== null || (isRawJson !== undefined && isRawJson(value)))) throw NOT_PLAIN;
    this.byte(OPEN_OBJECT);
    // Object.keys is JSON.stringify's order (EnumerableOwnProperties), inherited keys excluded.
    const keys = Object.keys(value);
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      const name = keys[i]!;
      const item = value[name];
      if (item === undefined) continue;
      if (!first) this.byte(COMMA);
      first = false;
      this.string(name);
      this.byte(COLON);
      if (frozenMembers) this.frozenValue(item, depth);
      else this.value(item, depth);
    }
    this.byte(CLOSE_OBJECT);
  }

  /** A string's JSON text: its characters in quotes when they need no escaping; else JSON.stringify's. */
  private string(value: string): void {
    const n = value.length;
    this.room(n + 2);
    const bytes = this.bytes;
    const b = this.b;
    bytes[b] = QUOTE;
    if (n > LONG_STRING) {
      // One regular-expression scan and one native copy beat the loop below on long strings (ids, text).
      if (NEEDS_ESCAPE.test(value)) {
        this.text(JSON.stringify(value));
        return;
      }
      this.buffer.write(value, b + 1, n, 'latin1');
    } else {
      for (let i = 0; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) {
          this.text(JSON.stringify(value));
          return;
        }
        bytes[b + 1 + i] = c;
      }
    }
    bytes[b + n + 1] = QUOTE;
    this.b = b + n + 2;
  }

  /** UTF-8 of `text` at the byte cursor; its length. */
  private text(text: string): number {
    this.room(text.length * 3);
    const written = this.buffer.write(text, this.b, 'utf8');
    this.b += written;
    return written;
  }

  private copy(src: Uint8Array): void {
    const n = src.length;
    this.room(n);
    const bytes = this.bytes;
    const b = this.b;
    for (let i = 0; i < n; i++) bytes[b + i] = src[i]!;
    this.b = b + n;
  }

  /** Bytes start..end written before, again at the cursor. */
  private copyOwn(start: number, end: number): void {
    const n = end - start;
    this.room(n);
    const bytes = this.bytes;
    const b = this.b;
    for (let i = 0; i < n; i++) bytes[b + i] = bytes[start + i]!;
    this.b = b + n;
  }

  private byte(c: number): void {
    if (this.b >= this.cap) this.grow(1);
    this.bytes[this.b++] = c;
  }

  /** The entry encoded by JSON.stringify, as before this encoding existed: its line and its pre-image as text. */
  private line(entry: JournalEntry): void {
    const { preimage, digestError } = digestInput(entry);
    // The worker writes `{"seq":N` and the closing brace (or the digest).
    const line = recordLine(0, entry, this.includeContent, digestError);
    this.tapeRoom(3);
    const t = this.t;
    this.tape[t] = LINE;
    this.t = t + 3;
    this.slot(t + 1, this.text(line.slice(LINE_PREFIX_LENGTH, -1)));
    this.slot(t + 2, preimage === undefined ? -1 : this.text(preimage));
  }

  /** Room for `bytes` more bytes (each record reserves its tape slots itself, see tapeRoom). */
  private room(bytes: number): void {
    if (this.b + bytes > this.cap) this.grow(bytes);
  }

  private grow(bytes: number): void {
    const next = new Uint8Array(Math.max(this.cap * 2, this.b + bytes));
    next.set(this.bytes.subarray(0, this.b));
    this.setBytes(next);
  }

  private tapeRoom(slots: number): void {
    if (this.t + slots > this.tape.length) {
      const next = new Int32Array(Math.max(this.tape.length * 2, this.t + slots));
      next.set(this.tape.subarray(0, this.t));
      this.tape = next;
    }
  }

  private setBytes(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.cap = bytes.length;
    this.buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  }
}

/** Frozen all the way down, with data properties only (a getter could answer differently each time). */
function isDeeplyFrozenData(value: object, depth: number): boolean {
  if (depth >= MAX_DEPTH || !Object.isFrozen(value)) return false;
  const descriptors = Object.getOwnPropertyDescriptors(value);
  for (const name of Reflect.ownKeys(descriptors)) {
    const descriptor = descriptors[name as string]!;
    if (!('value' in descriptor)) return false;
    const item: unknown = descriptor.value;
    if (typeof item === 'object' && item !== null && !isDeeplyFrozenData(item, depth + 1)) return false;
  }
  return true;
}

/** A number's JSON text (as String() writes it; `null` when not finite); returns the end. `buf` needs 24 bytes of room. */
export function writeNumber(x: number, buf: Uint8Array, pos: number): number {
  if (x >= 0 && x <= Number.MAX_SAFE_INTEGER && Math.floor(x) === x) {
    // Non-negative integers (and -0, written "0") digit by digit in small-integer arithmetic:
    // timestamps, seqs, priorities.
    if (x < 1e8) return writeSmall(x | 0, buf, pos);
    const high = Math.floor(x / 1e8);
    pos = writeSmall(high, buf, pos);
    let low = (x - high * 1e8) | 0;
    for (let i = pos + 7; i >= pos; i--) {
      buf[i] = 0x30 + (low % 10);
      low = (low / 10) | 0;
    }
    return pos + 8;
  }
  const text = numberText(x);
  for (let i = 0; i < text.length; i++) buf[pos++] = text.charCodeAt(i);
  return pos;
}

/** 0 <= n < 1e8, an int. */
function writeSmall(n: number, buf: Uint8Array, pos: number): number {
  let digits = 1;
  for (let y = n; y >= 10; y = (y / 10) | 0) digits++;
  const end = pos + digits;
  for (let i = end - 1; i >= pos; i--) {
    buf[i] = 0x30 + (n % 10);
    n = (n / 10) | 0;
  }
  return end;
}

/** A growable byte buffer (a plain Uint8Array) written from `base`. */
export class ByteWriter {
  /** A plain Uint8Array (not a Buffer): one kind of array in the render loops. */
  buf: Uint8Array;
  /** The same memory as a Buffer, for its native text writes. */
  buffer: Buffer;
  pos: number;

  constructor(bytes: number, readonly base = 0) {
    this.buf = new Uint8Array(bytes);
    this.buffer = Buffer.from(this.buf.buffer);
    this.pos = base;
  }

  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + extra));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.buffer = Buffer.from(next.buffer);
  }

  /** Bytes [start, end) of `src` (another buffer). */
  copy(src: Uint8Array, start: number, end: number): void {
    this.ensure(end - start);
    this.buf.set(src.subarray(start, end), this.pos);
    this.pos += end - start;
  }

  byte(c: number): void {
    this.ensure(1);
    this.buf[this.pos++] = c;
  }

  /** ASCII text. */
  ascii(text: string): void {
    this.ensure(text.length);
    const buf = this.buf;
    for (let i = 0; i < text.length; i++) buf[this.pos++] = text.charCodeAt(i);
  }

  view(start: number, end: number): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset + start, end - start);
  }
}

/** Constant texts the worker copies, kept at the start of its buffer (copies within one buffer need no view). */
const CONSTANTS = [ascii('{"seq":'), DIGEST, ...RECORD_PARTS.map((part) => part.key)];
const CONSTANT_AT: number[] = [];
/** Where the constants end: the records start there. */
export const RENDER_BASE = CONSTANTS.reduce((at, text) => {
  CONSTANT_AT.push(at);
  return at + text.length;
}, 0);
const SEQ_PREFIX_AT = CONSTANT_AT[0]!;
const SEQ_PREFIX_LENGTH = CONSTANTS[0]!.length;
const DIGEST_AT = CONSTANT_AT[1]!;
/** Per field slot of a REC record: where its key lies among the constants, its length, and the pre-image element it may share (-1: none). */
const PART_BY_SLOT: Array<{ keyAt: number; keyLength: number; element: number }> = [];
RECORD_PARTS.forEach((part, i) => {
  PART_BY_SLOT[FIRST_PART_SLOT + i] = { keyAt: CONSTANT_AT[2 + i]!, keyLength: part.key.length, element: part.element ?? -1 };
});

/** A buffer for TapeRenderer: the constants, then room for the records. */
export function renderBuffer(bytes: number): ByteWriter {
  const writer = new ByteWriter(Math.max(bytes, RENDER_BASE), RENDER_BASE);
  let at = 0;
  for (const text of CONSTANTS) {
    writer.buf.set(text, at);
    at += text.length;
  }
  return writer;
}

/** Copies within one buffer: byte by byte when short (cheaper than a call), else copyWithin. */
function move(buf: Uint8Array, from: number, n: number, to: number): number {
  if (n > 16) buf.copyWithin(to, from, from + n);
  else for (let i = 0; i < n; i++) buf[to + i] = buf[from + i]!;
  return to + n;
}

/**
 * Finishes the records of TapePieces on the seal worker (or on the journal's thread with inline
 * sealing): each record line, with its digest, into a buffer made by renderBuffer, newline-terminated.
 */
export class TapeRenderer {
  /** Renders every record of `piece`; `leaves[index + i]` gets record i's leaf hash. Returns the next index. */
  render(piece: TapePiece, firstSeq: number, out: ByteWriter, leaves: string[], index: number): number {
    const { tape, tapeLength, bytesLength, count } = piece;
    // A line is at most its record's bytes, the pre-image elements it shares again, keys, seq and
    // digest: twice the input plus 400 bytes a record. The input goes after that room, in the
    // same buffer, so every copy is within one buffer.
    const input = out.pos + 2 * bytesLength + 400 * count;
    const pos0 = out.pos;
    out.pos = input;
    out.ensure(bytesLength);
    out.pos = pos0;
    const buf = out.buf;
    const buffer = out.buffer;
    buf.set(bytesLength === piece.bytes.length ? piece.bytes : piece.bytes.subarray(0, bytesLength), input);
    let pos = out.pos;
    let q = input;
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p >= tapeLength) throw new Error(`seal job holds fewer than ${leaves.length} records`);
      const start = pos;
      pos = move(buf, SEQ_PREFIX_AT, SEQ_PREFIX_LENGTH, pos);
      pos = writeNumber(firstSeq + i, buf, pos);
      const kind = tape[p]!;
      let digest: string | null = null;
      if (kind === LINE) {
        const body = tape[p + 1]!;
        const preLen = tape[p + 2]!;
        p += 3;
        pos = move(buf, q, body, pos);
        q += body;
        if (preLen >= 0) {
          digest = sha256(new Uint8Array(buf.buffer, buf.byteOffset + q, preLen));
          q += preLen;
        }
      } else if (kind === REC) {
        const record = q;
        const preLen = tape[p + 1]!;
        digest = sha256(new Uint8Array(buf.buffer, buf.byteOffset + record, preLen));
        q += preLen;
        for (let slot = FIRST_PART_SLOT; slot < RECORD_SLOTS; slot++) {
          const spec = tape[p + slot]!;
          if (spec === ABSENT) continue;
          // The key, then the value: the pre-image element's text (REF: its start and end are kept
          // in slots 2–13) or the next `spec` bytes of the input.
          const part = PART_BY_SLOT[slot]!;
          pos = move(buf, part.keyAt, part.keyLength, pos);
          if (spec === REF) {
            const s = tape[p + 2 + 2 * part.element]!;
            pos = move(buf, record + s, tape[p + 3 + 2 * part.element]! - s, pos);
          } else {
            pos = move(buf, q, spec, pos);
            q += spec;
          }
        }
        p += RECORD_SLOTS;
      } else {
        throw new Error('seal job is not a journal tape');
      }
      if (digest === null) {
        buf[pos++] = CLOSE_OBJECT;
      } else {
        pos = move(buf, DIGEST_AT, DIGEST.length, pos);
        buf[pos++] = QUOTE;
        pos += buffer.write(digest, pos, 64, 'latin1');
        buf[pos++] = QUOTE;
        buf[pos++] = CLOSE_OBJECT;
      }
      leaves[index + i] = sha256(new Uint8Array(buf.buffer, buf.byteOffset + start, pos - start));
      buf[pos++] = NEWLINE;
    }
    if (p !== tapeLength || q !== input + bytesLength) throw new Error('seal job holds more records than its count');
    out.pos = pos;
    return index + count;
  }
}
