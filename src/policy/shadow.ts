import { isThenable } from '../governance/verdict.js';
import { DecisionCache, type DecisionCacheOptions } from './cache.js';
import { decisionKey } from './key.js';
import type { PolicyDecision, PolicyEngine, PolicyRequest } from './types.js';

/**
 * Shadow evaluation: a candidate engine (e.g. the next constitution) decides the same live requests
 * as the active one, off the send path. Its decisions are never enforced; where they differ from the
 * active decision the divergence is counted, kept in a bounded ring and reported. Work is queued
 * (bounded; dropped with a counter when the shadow falls behind) and drained from setImmediate.
 */

export interface ShadowDivergence {
  readonly at: number;
  readonly request: PolicyRequest;
  readonly active: PolicyDecision;
  /** Undefined when the candidate failed; see `candidateError`. */
  readonly candidate: PolicyDecision | undefined;
  readonly candidateError?: string;
}

export interface ShadowOptions {
  engine: PolicyEngine;
  /** Pending evaluations before new ones are dropped (default 1,000). */
  maxQueue?: number;
  /** Recent divergences kept (default 100). */
  maxDivergences?: number;
  /** Evaluations per drain turn before yielding to the event loop (default 64). */
  batch?: number;
  onDivergence?: (divergence: ShadowDivergence) => void;
  /** The candidate's own decision cache (default: a new DecisionCache with default limits; false: none). */
  cache?: DecisionCacheOptions | false;
}

export interface ShadowStats {
  submitted: number;
  evaluated: number;
  agreed: number;
  divergences: number;
  errors: number;
  dropped: number;
  queued: number;
}

interface Pending {
  readonly request: PolicyRequest;
  readonly active: PolicyDecision;
  readonly now: number;
}

export class ShadowEvaluator {
  readonly engine: PolicyEngine;
  private readonly queue: Pending[] = [];
  private head = 0;
  private readonly ring: ShadowDivergence[] = [];
  private ringNext = 0;
  private readonly maxQueue: number;
  private readonly maxDivergences: number;
  private readonly batch: number;
  private readonly onDivergence: ((d: ShadowDivergence) => void) | undefined;
  private readonly cache: DecisionCache | undefined;
  private scheduled: NodeJS.Immediate | undefined;
  private draining = false;
  private closed = false;
  private readonly counters = { submitted: 0, evaluated: 0, agreed: 0, divergences: 0, errors: 0, dropped: 0 };

  constructor(options: ShadowOptions) {
    this.engine = options.engine;
    this.maxQueue = options.maxQueue ?? 1_000;
    this.maxDivergences = options.maxDivergences ?? 100;
    this.batch = options.batch ?? 64;
    this.onDivergence = options.onDivergence;
    this.cache = options.cache === false ? undefined : new DecisionCache(options.cache ?? {});
  }

  /** Called on the send path: O(1), never evaluates. */
  submit(request: PolicyRequest, active: PolicyDecision, now: number): void {
    if (this.closed) return;
    this.counters.submitted++;
    if (this.queue.length - this.head >= this.maxQueue) {
      this.counters.dropped++;
      return;
    }
    this.queue.push({ request, active, now });
    if (this.scheduled === undefined && !this.draining) this.scheduled = setImmediate(() => void this.drain());
  }

  /** Recent divergences, oldest first. */
  divergences(): ShadowDivergence[] {
    return this.ring.length < this.maxDivergences ? [...this.ring] : [...this.ring.slice(this.ringNext), ...this.ring.slice(0, this.ringNext)];
  }

  stats(): ShadowStats {
    return { ...this.counters, queued: this.queue.length - this.head };
  }

  /** Resolves when everything queued so far has been evaluated (tests, shutdown). */
  async idle(): Promise<void> {
    while ((this.queue.length > this.head || this.draining || this.scheduled !== undefined) && !this.closed) {
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.queue.length = 0;
    this.head = 0;
    await this.cache?.close();
  }

  private async drain(): Promise<void> {
    this.scheduled = undefined;
    this.draining = true;
    try {
      let n = 0;
      while (this.head < this.queue.length && n < this.batch && !this.closed) {
        const item = this.queue[this.head++]!;
        n++;
        await this.evaluateOne(item);
      }
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      } else if (this.head > 1024) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
    } finally {
      this.draining = false;
    }
    if (this.head < this.queue.length && !this.closed) this.scheduled = setImmediate(() => void this.drain());
  }

  private async evaluateOne(item: Pending): Promise<void> {
    const engine = this.engine;
    const key = this.cache === undefined ? '' : decisionKey(engine.name, engine.bundleHash ?? '', item.request, engine.keyProfile ?? engine.usesEntityIds !== false);
    let candidate = this.cache?.get(key, item.now);
    let candidateError: string | undefined;
    if (candidate === undefined) {
      try {
        const result = engine.evaluate(item.request);
        candidate = isThenable(result) ? await result : result;
        this.cache?.set(key, candidate, item.now);
      } catch (error) {
        candidateError = error instanceof Error ? error.message : String(error);
        this.counters.errors++;
      }
    }
    this.counters.evaluated++;
    if (candidate !== undefined && candidate.allow === item.active.allow) {
      this.counters.agreed++;
      return;
    }
    this.counters.divergences++;
    const divergence: ShadowDivergence = {
      at: item.now,
      request: item.request,
      active: item.active,
      candidate,
      ...(candidateError === undefined ? {} : { candidateError }),
    };
    if (this.ring.length < this.maxDivergences) this.ring.push(divergence);
    else this.ring[this.ringNext] = divergence;
    this.ringNext = (this.ringNext + 1) % this.maxDivergences;
    try {
      this.onDivergence?.(divergence);
    } catch {
      // A failing observer must not stop shadow evaluation.
    }
  }
}
