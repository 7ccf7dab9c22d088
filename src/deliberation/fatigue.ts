/**
 * Approval-fatigue guard: a reviewer approving more than `maxApprovals` items within `windowMs`
 * is flagged (and, in 'block' mode, refused). Tracks at most `maxReviewers` reviewers; the one
 * seen least recently is evicted (counted) when a new one arrives.
 */
export interface FatigueOptions {
  readonly windowMs: number;
  readonly maxApprovals: number;
  readonly mode: 'flag' | 'block' | 'off';
  readonly maxReviewers: number;
}

export const DEFAULT_FATIGUE: FatigueOptions = Object.freeze({ windowMs: 10 * 60_000, maxApprovals: 20, mode: 'flag', maxReviewers: 10_000 });

export class FatigueGuard {
  private readonly recent = new Map<string, number[]>();
  flagged = 0;
  blocked = 0;
  evicted = 0;

  constructor(readonly options: FatigueOptions) {}

  /** Whether one more approval by `reviewerId` at `now` would exceed the limit. Does not record. */
  wouldExceed(reviewerId: string, now: number): boolean {
    if (this.options.mode === 'off') return false;
    const times = this.recent.get(reviewerId);
    if (times === undefined) return this.options.maxApprovals < 1;
    const from = now - this.options.windowMs;
    let inWindow = 0;
    for (const t of times) if (t > from) inWindow++;
    return inWindow + 1 > this.options.maxApprovals;
  }

  record(reviewerId: string, now: number): void {
    if (this.options.mode === 'off') return;
    let times = this.recent.get(reviewerId);
    if (times === undefined) {
      if (this.recent.size >= this.options.maxReviewers) {
        const oldest = this.recent.keys().next().value as string;
        this.recent.delete(oldest);
        this.evicted++;
      }
      times = [];
    } else {
      this.recent.delete(reviewerId); // re-insert: the Map's order is recency order
    }
    const from = now - this.options.windowMs;
    let drop = 0;
    while (drop < times.length && times[drop]! <= from) drop++;
    if (drop > 0) times.splice(0, drop);
    times.push(now);
    // never keep more timestamps than the limit needs
    if (times.length > this.options.maxApprovals + 1) times.splice(0, times.length - this.options.maxApprovals - 1);
    this.recent.set(reviewerId, times);
  }

  get tracked(): number {
    return this.recent.size;
  }
}
