import { RejectionCode } from '../../errors.js';
import type { AgentMessage } from '../../message/schema.js';
import type { GovernanceStage } from '../stage.js';
import { PROCEED, reject, type Verdict } from '../verdict.js';

export interface ScreenPattern {
  readonly id: string;
  readonly group: 'prompt_injection' | 'script' | 'custom';
  readonly pattern: RegExp;
}

/** The original's seven prompt-injection patterns (case-insensitive). */
export const PROMPT_INJECTION_PATTERNS: readonly ScreenPattern[] = [
  { id: 'ignore_previous_instructions', group: 'prompt_injection', pattern: /ignore\s+(?:all\s+)?previous\s+instructions/i },
  { id: 'system_prompt_leak', group: 'prompt_injection', pattern: /system\s+prompt\s+(?:leak|override)/i },
  { id: 'do_anything_now', group: 'prompt_injection', pattern: /do\s+anything\s+now/i },
  { id: 'jailbreak', group: 'prompt_injection', pattern: /jailbreak/i },
  { id: 'persona_override', group: 'prompt_injection', pattern: /persona\s+(?:adoption|override)/i },
  { id: 'note_to_self', group: 'prompt_injection', pattern: /\(\s*note\s+to\s+self\s*:[^)]*\)/i },
  { id: 'inst_block', group: 'prompt_injection', pattern: /\[INST\][\s\S]*?\[\/INST\]/i },
];

/**
 * The original's seven script patterns. The inline event handler pattern only matches inside a
 * tag (`<img onerror=`), so prose such as "turn logging on=verbose" is not refused.
 */
export const SCRIPT_PATTERNS: readonly ScreenPattern[] = [
  { id: 'script_open', group: 'script', pattern: /<script\b/i },
  { id: 'script_close', group: 'script', pattern: /<\/script\s*>/i },
  { id: 'javascript_url', group: 'script', pattern: /javascript\s*:/i },
  { id: 'inline_event_handler', group: 'script', pattern: /<[^>]*\son[a-z]+\s*=/i },
  { id: 'eval_call', group: 'script', pattern: /\beval\s*\(/i },
  { id: 'document_cookie', group: 'script', pattern: /document\.cookie/i },
  { id: 'iframe', group: 'script', pattern: /<iframe\b/i },
];

export const DEFAULT_SCREEN_PATTERNS: readonly ScreenPattern[] = [...PROMPT_INJECTION_PATTERNS, ...SCRIPT_PATTERNS];

/**
 * Screens every string leaf (and every key) of content and payload. When every pattern is a plain
 * case-insensitive one (the defaults are), they are compiled into one alternation at
 * construction, so a clean string costs one regex scan and only a hit pays for finding which
 * pattern matched. Patterns with other flags or back-references are tested one by one.
 */
export class ScreenStage implements GovernanceStage {
  readonly name = 'screen';
  /** Off: every message passes unscreened (a constitution bundle's `screen: false`). */
  enabled = true;
  private readonly combined: RegExp | undefined;
  private readonly patterns: readonly ScreenPattern[];
  private readonly maxDepth: number;

  constructor(patterns: readonly ScreenPattern[] = DEFAULT_SCREEN_PATTERNS, maxDepth = 64) {
    if (!Array.isArray(patterns) || patterns.length === 0) throw new TypeError('patterns must be a non-empty array');
    this.patterns = patterns.map((p, i) => {
      if (typeof p !== 'object' || p === null || !(p.pattern instanceof RegExp) || typeof p.id !== 'string' || p.id === '') {
        throw new TypeError(`pattern ${i} must be { id: string, group, pattern: RegExp }`);
      }
      // A stateful (g/y) regex would alternate between match and miss on the same text.
      const flags = p.pattern.flags.replace(/[gy]/g, '');
      return { id: p.id, group: p.group ?? 'custom', pattern: flags === p.pattern.flags ? p.pattern : new RegExp(p.pattern.source, flags) };
    });
    const combinable = this.patterns.every((p) => p.pattern.flags === 'i' && !/\\[1-9]|\\k<|\(\?<[A-Za-z]/.test(p.pattern.source));
    this.combined = combinable ? new RegExp(this.patterns.map((p) => `(?:${p.pattern.source})`).join('|'), 'i') : undefined;
    this.maxDepth = maxDepth;
  }

  evaluate(message: AgentMessage): Verdict {
    if (!this.enabled) return PROCEED;
    let hit = this.scan(message.content, 0);
    if (hit === undefined && message.payload !== undefined) hit = this.scan(message.payload, 0);
    if (hit === undefined) return PROCEED;
    const pattern = this.patterns.find((p) => p.pattern.test(hit!));
    return reject(RejectionCode.CONTENT_BLOCKED, `content matched the ${pattern?.group ?? 'screen'} pattern ${pattern?.id ?? 'unknown'}`, {
      pattern: pattern?.id,
      group: pattern?.group,
    });
  }

  private matches(text: string): boolean {
    if (this.combined !== undefined) return this.combined.test(text);
    for (const p of this.patterns) if (p.pattern.test(text)) return true;
    return false;
  }

  /** Returns the first string that matches, or undefined. */
  private scan(value: unknown, depth: number): string | undefined {
    if (typeof value === 'string') return this.matches(value) ? value : undefined;
    if (typeof value !== 'object' || value === null || depth > this.maxDepth) return undefined;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const hit = this.scan(value[i], depth + 1);
        if (hit !== undefined) return hit;
      }
      return undefined;
    }
    for (const key in value) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
      if (this.matches(key)) return key;
      const hit = this.scan((value as Record<string, unknown>)[key], depth + 1);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
}
