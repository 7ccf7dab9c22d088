import { readFile } from 'node:fs/promises';
import { FastText, type FastTextCore } from 'fasttext.wasm';
import { normalizeForModel } from './text.js';
import type { TextModel } from './text-model.js';

export const HIGH_IMPACT_LABEL = '__label__high';
const MODEL_FS_PATH = '/impact-model.bin';
const HAS_WORD = /\S/;

export interface FastTextModelOptions {
  /** Name shown in annotations; default "fasttext". */
  name?: string;
  /** Label of the high-impact class; default "__label__high". */
  highLabel?: string;
  /**
   * Characters of text given to fastText; default 600 (about 90 words). Predict
   * cost grows by roughly half a microsecond per word, so this bounds the worst case on the hot
   * path; the request in an agent message is almost always in its first sentences.
   */
  maxChars?: number;
}

export const DEFAULT_FASTTEXT_MAX_CHARS = 600;

/**
 * A supervised fastText classifier (fasttext.wasm) trained by `npm run train:impact`.
 * Prediction is synchronous and costs a few microseconds; the model lives in its own wasm
 * instance. The bus's default backend is `FastTextJsModel` (same predictions, no wasm call);
 * this class is the 'wasm' backend, the training script's evaluator and the reference the
 * TypeScript inference is tested against.
 */
export class FastTextModel implements TextModel {
  readonly name: string;
  readonly labels: readonly string[];

  private constructor(
    private readonly core: FastTextCore,
    private readonly highLabel: string,
    private readonly maxChars: number,
    name: string,
    labels: readonly string[],
  ) {
    this.name = name;
    this.labels = labels;
  }

  /** Loads a model from bytes. Throws when the bytes are not a supervised model with `highLabel`. */
  static async fromBytes(bytes: Uint8Array, options: FastTextModelOptions = {}): Promise<FastTextModel> {
    const fastText = await FastText.create();
    const core = new fastText.core.FastText();
    fastText.fs.writeFile(MODEL_FS_PATH, bytes);
    try {
      core.loadModel(MODEL_FS_PATH);
    } catch (error) {
      // The wasm core throws bare exception pointers (numbers), not Errors.
      throw new Error(`not a loadable fastText model (${error instanceof Error ? error.message : `wasm exception ${String(error)}`})`, { cause: error });
    } finally {
      fastText.fs.unlink(MODEL_FS_PATH);
    }
    const labels = readLabels(core);
    const highLabel = options.highLabel ?? HIGH_IMPACT_LABEL;
    if (labels.length !== 2 || !labels.includes(highLabel)) {
      throw new Error(`fastText model must have two labels including ${highLabel}; it has [${labels.join(', ')}]`);
    }
    return new FastTextModel(core, highLabel, options.maxChars ?? DEFAULT_FASTTEXT_MAX_CHARS, options.name ?? 'fasttext', labels);
  }

  static async fromFile(path: string | URL, options: FastTextModelOptions = {}): Promise<FastTextModel> {
    const bytes = await readFile(path);
    return FastTextModel.fromBytes(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), options);
  }

  predict(text: string): number {
    const normalized = normalizeForModel(text.length > this.maxChars ? text.slice(0, this.maxChars) : text);
    return this.predictNormalized(normalized);
  }

  /** For text already passed through `normalizeForModel` (the training script's evaluation). */
  predictNormalized(normalized: string): number {
    // fastText still answers for an empty line (from its end-of-sentence token): no words, no signal.
    if (!HAS_WORD.test(normalized)) return 0;
    const top = this.core.predict(normalized, 1, 0);
    try {
      if (top.size() === 0) return 0;
      const [probability, label] = top.get(0);
      // Two classes: the probability of "high" is the top probability or its complement.
      const high = label === this.highLabel ? probability : 1 - probability;
      // float32 softmax can overshoot 1 by an ulp or two
      return high <= 0 ? 0 : high >= 1 ? 1 : high;
    } finally {
      top.delete();
    }
  }
}

function readLabels(core: FastTextCore): string[] {
  const [labels, counts] = core.getLabels();
  const out: string[] = [];
  for (let i = 0; i < labels.size(); i++) out.push(labels.get(i));
  labels.delete();
  counts.delete();
  return out;
}
