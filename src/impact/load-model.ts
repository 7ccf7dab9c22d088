import { fileURLToPath } from 'node:url';
import { FastTextModel } from './fasttext-model.js';
import { KeywordModel } from './keyword-model.js';
import type { TextModel } from './text-model.js';

/**
 * The shipped model, resolved from this module's location: src/impact/ under tsx and
 * dist/impact/ after the build are both two levels below the package root.
 */
export const DEFAULT_MODEL_URL = new URL('../../data/impact/impact-model.bin', import.meta.url);

export interface LoadedTextModel {
  readonly model: TextModel;
  /** True when the fastText model could not be loaded and the keyword model stands in. */
  readonly fallback: boolean;
  /** Why the fallback happened; undefined when the fastText model loaded. */
  readonly reason: string | undefined;
  /** Where the model was looked for. */
  readonly path: string;
}

export interface LoadTextModelOptions {
  /** Model file; default the shipped data/impact/impact-model.bin. */
  path?: string | URL;
  /**
   * Told the reason when the keyword model stands in. Default: a process warning
   * (`ImpactModelFallback`), so the fallback is never silent.
   */
  onFallback?: (reason: string) => void;
}

/** Loads the fastText impact model once (at bus start); falls back to the keyword model with a reason. */
export async function loadDefaultTextModel(options: LoadTextModelOptions = {}): Promise<LoadedTextModel> {
  const location = options.path ?? DEFAULT_MODEL_URL;
  const path = location instanceof URL ? fileURLToPath(location) : location;
  try {
    const model = await FastTextModel.fromFile(path, { name: 'fasttext' });
    return { model, fallback: false, reason: undefined, path };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const reason = `impact text model not loaded from ${path} (${detail}); using the keyword model`;
    if (options.onFallback !== undefined) options.onFallback(reason);
    else process.emitWarning(reason, 'ImpactModelFallback');
    return { model: new KeywordModel(), fallback: true, reason, path };
  }
}
