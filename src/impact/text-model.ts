/**
 * A text model answers one question: how likely is this message text to be high impact?
 * `predict` returns a probability in [0, 1]. Fast in-process models (fastText, keywords) answer
 * synchronously; a slow backend (a transformer, a remote service) must return a promise and run
 * off the event loop - wrap it in `OffThreadModel`.
 */
export interface TextModel {
  /** Shown in every impact annotation, e.g. "fasttext:impact-model.bin" or "keyword". */
  readonly name: string;
  predict(text: string): number | PromiseLike<number>;
}

/**
 * The semantic factor is the model's probability, clamped; NaN and non-numbers count as 0.
 * No extra curve: with the original's semantic boost (semantic > 0.8 → score ≥ 0.8) this means
 * "hold when the model is more than 80 % sure", the analogue of three keyword hits.
 */
export function semanticFromProbability(probability: number): number {
  if (!(probability > 0)) return 0;
  return probability >= 1 ? 1 : probability;
}
