/**
 * Reader for fastText's binary model format (`.bin`, format version 12), for the supervised,
 * softmax, non-quantized models that `npm run train:impact` writes. Layout (little-endian, as
 * fastText writes it on every platform it runs on):
 *
 *   int32 magic 793712314, int32 version 12
 *   Args: int32 dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn,
 *         lrUpdateRate; float64 t
 *   Dictionary: int32 size, nwords, nlabels; int64 ntokens, pruneidx_size;
 *               size × (NUL-terminated word, int64 count, int8 type); pruneidx_size × (int32, int32)
 *   bool quantized input; input matrix (int64 rows, int64 cols, rows × cols float32)
 *   bool quantized output; output matrix (same layout)
 *
 * The file is input: every count and offset is checked against the bytes that remain before
 * anything is allocated or looped over, and anything the inference path does not support is
 * refused with an Error that says what and why.
 */

export const FASTTEXT_MAGIC = 793712314;
export const FASTTEXT_VERSION = 12;

/** fastText's `loss_name` and `model_name` enums. */
export const LOSS_NAMES: Readonly<Record<number, string>> = { 1: 'hierarchical softmax', 2: 'negative sampling', 3: 'softmax', 4: 'one-vs-all' };
export const LOSS_SOFTMAX = 3;
export const MODEL_NAMES: Readonly<Record<number, string>> = { 1: 'cbow', 2: 'skipgram', 3: 'supervised' };
export const MODEL_SUPERVISED = 3;

export const ENTRY_WORD = 0;
export const ENTRY_LABEL = 1;

/** Bounds beyond which a file is refused: far above any real model, low enough to keep loops and allocations bounded. */
const MAX_DIM = 4_096;
const MAX_NGRAM_CHARS = 64;
const MAX_WORD_NGRAMS = 64;
/** Weights are this small in any trained model; the bound keeps every sum and dot product finite. */
const MAX_ABS_WEIGHT = 1e6;

export interface FastTextArgs {
  readonly dim: number;
  readonly ws: number;
  readonly epoch: number;
  readonly minCount: number;
  readonly neg: number;
  readonly wordNgrams: number;
  readonly loss: number;
  readonly model: number;
  readonly bucket: number;
  readonly minn: number;
  readonly maxn: number;
  readonly lrUpdateRate: number;
  readonly t: number;
}

export interface FastTextEntry {
  /** The UTF-8 bytes of the word or label, as stored (fastText compares bytes, not strings). */
  readonly bytes: Uint8Array;
  /** The same, decoded (for labels and display). */
  readonly text: string;
  readonly count: number;
  /** ENTRY_WORD or ENTRY_LABEL. */
  readonly type: number;
}

export interface FastTextMatrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major, rows × cols. */
  readonly data: Float32Array;
}

export interface FastTextModelFile {
  readonly version: number;
  readonly args: FastTextArgs;
  readonly nwords: number;
  readonly nlabels: number;
  readonly ntokens: number;
  /** Words first (ids 0..nwords-1), then labels (ids nwords..nwords+nlabels-1), as fastText keeps them. */
  readonly entries: readonly FastTextEntry[];
  /** (nwords + bucket) × dim: word vectors, then the hashed subword and word n-gram buckets. */
  readonly input: FastTextMatrix;
  /** nlabels × dim. */
  readonly output: FastTextMatrix;
}

class Cursor {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  private need(n: number, what: string): void {
    if (this.remaining < n) throw refuse(`truncated: ${what} needs ${n} bytes at offset ${this.offset}, ${this.remaining} left`);
  }

  int8(what: string): number {
    this.need(1, what);
    return this.view.getInt8(this.offset++);
  }

  int32(what: string): number {
    this.need(4, what);
    const v = this.view.getInt32(this.offset, true);
    this.offset += 4;
    return v;
  }

  /** An int64 that must fit a JavaScript number exactly. */
  int64(what: string): number {
    this.need(8, what);
    const v = this.view.getBigInt64(this.offset, true);
    this.offset += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw refuse(`${what} ${v} is out of range`);
    return Number(v);
  }

  float64(what: string): number {
    this.need(8, what);
    const v = this.view.getFloat64(this.offset, true);
    this.offset += 8;
    return v;
  }

  /** Bytes up to the next NUL (consumed, not returned). */
  cstring(what: string): Uint8Array {
    const end = this.bytes.indexOf(0, this.offset);
    if (end < 0) throw refuse(`truncated: ${what} at offset ${this.offset} has no terminating NUL`);
    const out = this.bytes.slice(this.offset, end);
    this.offset = end + 1;
    return out;
  }

  float32s(count: number, what: string): Float32Array {
    this.need(count * 4, what);
    const out = new Float32Array(count);
    if (LITTLE_ENDIAN) {
      new Uint8Array(out.buffer).set(this.bytes.subarray(this.offset, this.offset + count * 4));
    } else {
      for (let i = 0; i < count; i++) out[i] = this.view.getFloat32(this.offset + i * 4, true);
    }
    this.offset += count * 4;
    return out;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LABEL_DECODER = new TextDecoder('utf-8');

function refuse(reason: string): Error {
  return new Error(`not a supported fastText model: ${reason}`);
}

function checkRange(name: string, value: number, min: number, max: number): number {
  if (!(value >= min && value <= max)) throw refuse(`${name} ${value} is outside [${min}, ${max}]`);
  return value;
}

/**
 * Parses a fastText `.bin` model. Throws an Error (message starting "not a supported fastText
 * model:") for a wrong magic or version, truncated or inconsistent data, a quantized model, a
 * model that is not supervised, or a loss other than softmax.
 */
export function readFastTextModel(bytes: Uint8Array): FastTextModelFile {
  const in_ = new Cursor(bytes);
  const magic = in_.int32('magic number');
  if (magic !== FASTTEXT_MAGIC) throw refuse(`wrong magic number ${magic} (expected ${FASTTEXT_MAGIC})`);
  const version = in_.int32('version');
  if (version !== FASTTEXT_VERSION) throw refuse(`format version ${version} (only version ${FASTTEXT_VERSION}, fastText 0.9+, is read)`);

  const args = readArgs(in_);

  const size = in_.int32('dictionary size');
  const nwords = in_.int32('word count');
  const nlabels = in_.int32('label count');
  const ntokens = in_.int64('token count');
  const pruneidxSize = in_.int64('pruned index size');
  if (size < 0 || nwords < 0 || nlabels < 1 || nwords + nlabels !== size) {
    throw refuse(`dictionary counts size ${size}, words ${nwords}, labels ${nlabels} are inconsistent (a classifier needs at least one label)`);
  }
  if (ntokens < 0) throw refuse(`token count ${ntokens} is negative`);
  // Each entry takes at least 10 bytes (NUL, int64 count, int8 type).
  if (size > in_.remaining / 10) throw refuse(`truncated: ${size} dictionary entries cannot fit in the ${in_.remaining} bytes left`);
  const entries: FastTextEntry[] = [];
  for (let i = 0; i < size; i++) {
    const word = in_.cstring(`dictionary entry ${i}`);
    const count = in_.int64(`count of dictionary entry ${i}`);
    const type = in_.int8(`type of dictionary entry ${i}`);
    if (type !== ENTRY_WORD && type !== ENTRY_LABEL) throw refuse(`dictionary entry ${i} has type ${type} (0 word, 1 label)`);
    // fastText keeps words before labels (getLabel(i) is entry nwords + i).
    if ((i < nwords) !== (type === ENTRY_WORD)) throw refuse(`dictionary entry ${i} is a ${type === ENTRY_WORD ? 'word' : 'label'} among the ${i < nwords ? 'words' : 'labels'}`);
    if (count < 0) throw refuse(`dictionary entry ${i} has a negative count`);
    entries.push({ bytes: word, text: LABEL_DECODER.decode(word), count, type });
  }
  if (pruneidxSize < -1) throw refuse(`pruned index size ${pruneidxSize} is invalid`);
  if (pruneidxSize > in_.remaining / 8) throw refuse(`truncated: ${pruneidxSize} pruned index pairs cannot fit in the ${in_.remaining} bytes left`);
  for (let i = 0; i < pruneidxSize; i++) {
    in_.int32('pruned index key');
    in_.int32('pruned index value');
  }

  const quantInput = readBool(in_, 'input quantization flag');
  if (quantInput) throw refuse('the model is quantized (.ftz); quantized models are not supported, use the .bin model');
  // fastText itself refuses a pruned dictionary without quantization ("Invalid model file").
  if (pruneidxSize >= 0) throw refuse('a pruned dictionary in a model that is not quantized');
  const input = readMatrix(in_, 'input matrix', nwords + args.bucket, args.dim);
  // fastText reads this flag but only honours it for quantized models (its output is then dense).
  readBool(in_, 'output quantization flag');
  const output = readMatrix(in_, 'output matrix', nlabels, args.dim);
  if (in_.remaining !== 0) throw refuse(`${in_.remaining} unexpected bytes after the output matrix`);
  return { version, args, nwords, nlabels, ntokens, entries, input, output };
}

function readArgs(in_: Cursor): FastTextArgs {
  const dim = in_.int32('dim');
  const ws = in_.int32('ws');
  const epoch = in_.int32('epoch');
  const minCount = in_.int32('minCount');
  const neg = in_.int32('neg');
  const wordNgrams = in_.int32('wordNgrams');
  const loss = in_.int32('loss');
  const model = in_.int32('model');
  const bucket = in_.int32('bucket');
  const minn = in_.int32('minn');
  const maxn = in_.int32('maxn');
  const lrUpdateRate = in_.int32('lrUpdateRate');
  const t = in_.float64('t');
  if (model !== MODEL_SUPERVISED) throw refuse(`a ${MODEL_NAMES[model] ?? `model type ${model}`} model (only supervised classifiers are read)`);
  if (loss !== LOSS_SOFTMAX) throw refuse(`loss ${LOSS_NAMES[loss] ?? loss} (only softmax is supported; retrain with loss softmax or use the fasttext.wasm backend)`);
  checkRange('dim', dim, 1, MAX_DIM);
  checkRange('wordNgrams', wordNgrams, 1, MAX_WORD_NGRAMS);
  checkRange('bucket', bucket, 0, 0x7fffffff);
  checkRange('minn', minn, 0, MAX_NGRAM_CHARS);
  checkRange('maxn', maxn, 0, MAX_NGRAM_CHARS);
  const usesSubwords = maxn > 0 && maxn >= minn;
  if (bucket === 0 && (usesSubwords || wordNgrams > 1)) throw refuse('bucket 0 with character or word n-grams');
  return { dim, ws, epoch, minCount, neg, wordNgrams, loss, model, bucket, minn, maxn, lrUpdateRate, t };
}

function readBool(in_: Cursor, what: string): boolean {
  const v = in_.int8(what);
  if (v !== 0 && v !== 1) throw refuse(`${what} is ${v}, not a boolean`);
  return v === 1;
}

function readMatrix(in_: Cursor, what: string, rows: number, cols: number): FastTextMatrix {
  const m = in_.int64(`${what} rows`);
  const n = in_.int64(`${what} columns`);
  if (m !== rows || n !== cols) throw refuse(`${what} is ${m} × ${n}, expected ${rows} × ${cols}`);
  if (m * n * 4 > in_.remaining) throw refuse(`truncated: ${what} needs ${m * n * 4} bytes, ${in_.remaining} left`);
  const data = in_.float32s(m * n, what);
  for (let i = 0; i < data.length; i++) {
    const w = data[i]!;
    // also false for NaN
    if (!(w >= -MAX_ABS_WEIGHT && w <= MAX_ABS_WEIGHT)) throw refuse(`${what} has a weight ${w} (row ${Math.floor(i / n)}); weights must be finite and within ±${MAX_ABS_WEIGHT}`);
  }
  return { rows: m, cols: n, data };
}
