import type { TextModel } from './text-model.js';

/** The original scorer's 28 keywords (substring match on lower-cased text). */
export const IMPACT_KEYWORDS: readonly string[] = Object.freeze([
  'critical', 'emergency', 'security', 'breach', 'violation', 'danger', 'risk', 'threat', 'attack', 'exploit',
  'vulnerability', 'compromise', 'governance', 'policy', 'regulation', 'compliance', 'legal', 'audit', 'financial',
  'transaction', 'payment', 'transfer', 'blockchain', 'consensus', 'unauthorized', 'abnormal', 'suspicious', 'alert',
]);

// min(0.9, 0.3 × hits) as exact decimals (0.3 * 3 is 0.8999999999999999 in floating point).
const KEYWORD_SCORES = [0, 0.3, 0.6, 0.9] as const;

/**
 * The original's keyword mode: 0.3 per distinct keyword present, at most 0.9. Used when no
 * trained model is available, and as the baseline in tests and benchmarks.
 */
export class KeywordModel implements TextModel {
  readonly name = 'keyword';
  private readonly keywords: readonly string[];

  constructor(keywords: readonly string[] = IMPACT_KEYWORDS) {
    this.keywords = keywords.map((k) => k.toLowerCase());
  }

  predict(text: string): number {
    if (text.length === 0) return 0;
    const lower = text.toLowerCase();
    let hits = 0;
    for (let i = 0; i < this.keywords.length; i++) {
      if (lower.includes(this.keywords[i]!)) hits++;
    }
    return KEYWORD_SCORES[hits > 3 ? 3 : hits]!;
  }
}
