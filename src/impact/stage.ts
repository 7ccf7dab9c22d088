import type { AgentMessage } from '../message/schema.js';
import type { GovernanceContext, GovernanceStage } from '../governance/stage.js';
import { PROCEED, hold, isThenable, type Verdict } from '../governance/verdict.js';
import { ImpactScorer, type ImpactFactors, type ImpactScore, type ImpactScorerOptions } from './scorer.js';

export const DEFAULT_IMPACT_THRESHOLD = 0.8;

export type ImpactLane = 'fast' | 'deliberation';

/** What the stage leaves in `ctx.annotations.impact`. */
export interface ImpactAnnotation {
  readonly score: number;
  readonly factors: ImpactFactors;
  readonly lane: ImpactLane;
  readonly threshold: number;
  readonly model: string;
}

export interface ImpactStageOptions extends ImpactScorerOptions {
  /** Share an existing scorer (and its per-agent state); the scorer options are then ignored. */
  scorer?: ImpactScorer;
  /** Score at or above which a message is held for deliberation. Default 0.8. */
  threshold?: number;
  /** Per-tenant thresholds (tenant id → threshold), overriding `threshold`. */
  tenantThresholds?: Readonly<Record<string, number>> | ReadonlyMap<string, number>;
}

export interface ImpactStage extends GovernanceStage {
  readonly name: 'impact';
  readonly scorer: ImpactScorer;
  /** The threshold that applies to a tenant. */
  thresholdFor(tenantId: string): number;
  /** Replaces the default threshold (tenants with their own keep theirs); a RangeError outside [0, 1]. */
  setThreshold(value: number): void;
}

function checkedThreshold(label: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${label} must be within [0, 1], got ${value}`);
  return value;
}

/**
 * The 'impact' governance stage: scores every message; at or above the tenant's threshold the
 * message is held for deliberation, otherwise it proceeds on the fast lane. Synchronous unless
 * the text model answers with a promise (off-thread backends).
 */
export function createImpactStage(options: ImpactStageOptions = {}): ImpactStage {
  const scorer = options.scorer ?? new ImpactScorer(options);
  let defaultThreshold = checkedThreshold('threshold', options.threshold ?? DEFAULT_IMPACT_THRESHOLD);
  const perTenant = new Map<string, number>();
  const entries = options.tenantThresholds instanceof Map ? options.tenantThresholds.entries() : Object.entries(options.tenantThresholds ?? {});
  for (const [tenant, value] of entries) {
    // Tenant ids on messages are normalised (trimmed, lower-cased); normalise the keys alike.
    perTenant.set(tenant.trim().toLowerCase(), checkedThreshold(`threshold for tenant ${tenant}`, value));
  }
  const thresholdFor = (tenantId: string): number => perTenant.get(tenantId) ?? defaultThreshold;

  // The scorer hands out the same frozen result while an agent's factors are unchanged; from its
  // second use on, its annotation (per threshold) is one frozen object too, rather than a new one
  // per message. A first result gets a plain annotation: it may never be seen again (a distinct
  // text), and keeping it would cost more than it saves.
  const annotations = new WeakMap<ImpactScore, ImpactAnnotation>();

  function annotate(result: ImpactScore, threshold: number, repeated: boolean): ImpactAnnotation {
    if (repeated) {
      const known = annotations.get(result);
      if (known !== undefined && known.threshold === threshold) return known;
    }
    const impact: ImpactAnnotation = {
      score: result.score,
      factors: result.factors,
      lane: result.score >= threshold ? 'deliberation' : 'fast',
      threshold,
      model: result.model,
    };
    if (!repeated) return impact;
    annotations.set(result, Object.freeze(impact));
    return impact;
  }

  function decide(message: AgentMessage, ctx: GovernanceContext, result: ImpactScore, repeated: boolean): Verdict {
    const threshold = perTenant.size === 0 ? defaultThreshold : thresholdFor(message.tenantId);
    const impact = annotate(result, threshold, repeated);
    ctx.annotations['impact'] = impact;
    if (impact.lane === 'fast') return PROCEED;
    return hold(`impact score ${result.score.toFixed(3)} ≥ threshold ${threshold}`, { impact });
  }

  return {
    name: 'impact',
    scorer,
    thresholdFor,
    setThreshold(value) {
      defaultThreshold = checkedThreshold('threshold', value);
    },
    evaluate(message, ctx) {
      // The context has what the scorer reads (now, sender): no object per message.
      const result = scorer.score(message, ctx);
      if (isThenable(result)) return result.then((r) => decide(message, ctx, r, false));
      return decide(message, ctx, result, scorer.lastScoreRepeated);
    },
  };
}
