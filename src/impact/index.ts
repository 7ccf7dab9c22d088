export { ImpactScorer, type ImpactFactors, type ImpactInputContext, type ImpactScore, type ImpactScorerOptions, type ImpactScorerStats } from './scorer.js';
export {
  createImpactStage,
  DEFAULT_IMPACT_THRESHOLD,
  type ImpactAnnotation,
  type ImpactLane,
  type ImpactStage,
  type ImpactStageOptions,
} from './stage.js';
export { DEFAULT_WEIGHTS, FACTOR_NAMES, LARGE_AMOUNT, type ImpactWeights } from './factors.js';
export { semanticFromProbability, type TextModel } from './text-model.js';
export { KeywordModel, IMPACT_KEYWORDS } from './keyword-model.js';
export { FastTextModel, HIGH_IMPACT_LABEL, DEFAULT_FASTTEXT_MAX_CHARS, type FastTextModelOptions } from './fasttext-model.js';
export { OffThreadModel, type OffThreadModelOptions, type OffThreadModelStats } from './off-thread-model.js';
export { FastTextJsModel } from './fasttext-js-model.js';
export { readFastTextModel, type FastTextModelFile, type FastTextArgs, type FastTextEntry, type FastTextMatrix } from './fasttext-reader.js';
export {
  loadDefaultTextModel,
  DEFAULT_MODEL_URL,
  DEFAULT_FASTTEXT_BACKEND,
  FASTTEXT_BACKENDS,
  type FastTextBackend,
  type LoadedTextModel,
  type LoadTextModelOptions,
} from './load-model.js';
export { extractText, normalizeForModel, DEFAULT_MAX_TEXT_CHARS } from './text.js';
export { hourOfDayIn, localHourOfDay, type HourOfDay } from './clock.js';
export { DEFAULT_MAX_TRACKED_AGENTS, VOLUME_BUCKET_MS, VOLUME_BUCKETS } from './agent-state.js';
export { CachedTextModel, type CachedTextModelStats } from './cached-model.js';
