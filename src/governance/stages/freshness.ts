import { RejectionCode } from '../../errors.js';
import type { AgentMessage } from '../../message/schema.js';
import type { GovernanceContext, GovernanceStage } from '../stage.js';
import { PROCEED, reject, type Verdict } from '../verdict.js';

export interface DuplicateWindowOptions {
  /** How many recent message ids are remembered (default 200,000). */
  readonly capacity?: number;
  /** How long an id is remembered at least, unless capacity forces it out (ms, default 10 min). */
  readonly windowMs?: number;
}

/**
 * Remembers accepted message ids in two generations of sets: the current one fills, then becomes
 * the previous one when it holds half the capacity or half the window has passed. O(1) per
 * message, memory bounded by `capacity`, and an id is remembered for at least the smaller of the
 * window and capacity/2 accepted messages. Ids pushed out early by capacity are counted.
 */
export class DuplicateWindow {
  private current = new Set<string>();
  private previous = new Set<string>();
  private generationStart: number;
  private readonly half: number;
  private readonly halfWindowMs: number;
  evictedEarly = 0;

  constructor(options: DuplicateWindowOptions = {}, now = Date.now()) {
    this.half = Math.max(1, Math.floor((options.capacity ?? 200_000) / 2));
    this.halfWindowMs = Math.max(1, Math.floor((options.windowMs ?? 600_000) / 2));
    this.generationStart = now;
  }

  has(id: string): boolean {
    return this.current.has(id) || this.previous.has(id);
  }

  /** Records an id; returns false when it was already there. */
  add(id: string, now: number): boolean {
    if (this.has(id)) return false;
    if (this.current.size >= this.half || now - this.generationStart >= this.halfWindowMs) {
      if (now - this.generationStart < this.halfWindowMs) this.evictedEarly += this.previous.size;
      this.previous = this.current;
      this.current = new Set();
      this.generationStart = now;
    }
    this.current.add(id);
    return true;
  }

  /** Forgets an id whose message was not accepted after all (so a retry is not a duplicate). */
  forget(id: string): void {
    if (!this.current.delete(id)) this.previous.delete(id);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}

/** Refuses expired messages and message ids already accepted within the duplicate window. */
export class FreshnessStage implements GovernanceStage {
  readonly name = 'freshness';

  constructor(private readonly seen: DuplicateWindow) {}

  evaluate(message: AgentMessage, ctx: GovernanceContext): Verdict {
    if (message.expiresAt !== undefined && message.expiresAt <= ctx.now) {
      return reject(RejectionCode.EXPIRED, `message expired at ${new Date(message.expiresAt).toISOString()}`);
    }
    if (this.seen.has(message.messageId)) {
      return reject(RejectionCode.DUPLICATE, `messageId ${message.messageId} was already accepted`);
    }
    return PROCEED;
  }
}
