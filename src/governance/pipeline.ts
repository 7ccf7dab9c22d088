import { REJECTION_CODES, RejectionCode } from '../errors.js';
import type { AgentMessage } from '../message/schema.js';
import { LatencyHistogram, nowNs } from '../metrics/latency.js';
import type { GovernanceContext, GovernanceStage } from './stage.js';
import { isThenable, PROCEED, reject, type Hold, type Verdict } from './verdict.js';

/**
 * Runs the message stages in order. Synchronous stages run without promises; the runner awaits
 * only when a stage returns a thenable. A `reject` ends the run; a `hold` is remembered and the
 * remaining stages still run, so a later refusal wins over a hold. A stage that throws refuses
 * the message with STAGE_FAILED (fail-closed).
 */
export class GovernancePipeline {
  readonly stages: readonly GovernanceStage[];
  readonly timers: readonly LatencyHistogram[];

  constructor(stages: readonly GovernanceStage[]) {
    const names = new Set<string>();
    for (const stage of stages) {
      if (typeof stage?.evaluate !== 'function' || typeof stage.name !== 'string' || stage.name === '') {
        throw new TypeError('every governance stage needs a name and an evaluate(message, ctx) method');
      }
      if (names.has(stage.name)) throw new TypeError(`two governance stages are named "${stage.name}"`);
      names.add(stage.name);
    }
    this.stages = stages;
    this.timers = stages.map(() => new LatencyHistogram());
  }

  run(message: AgentMessage, ctx: GovernanceContext, timed: boolean): Verdict | Promise<Verdict> {
    return this.runFrom(0, undefined, message, ctx, timed);
  }

  private runFrom(start: number, held: Hold | undefined, message: AgentMessage, ctx: GovernanceContext, timed: boolean): Verdict | Promise<Verdict> {
    const stages = this.stages;
    for (let i = start; i < stages.length; i++) {
      const t0 = timed ? nowNs() : 0;
      let verdict: Verdict | PromiseLike<Verdict>;
      try {
        verdict = stages[i]!.evaluate(message, ctx);
      } catch (error) {
        verdict = stageFailed(stages[i]!, error);
      }
      if (isThenable(verdict)) return this.awaitStage(i, verdict, t0, held, message, ctx, timed);
      if (timed) this.timers[i]!.record(nowNs() - t0);
      if (verdict === PROCEED) continue;
      if (!isVerdict(verdict)) return noVerdict(stages[i]!);
      if (verdict.kind === 'reject') return verdict;
      if (verdict.kind === 'hold' && held === undefined) held = verdict;
    }
    return held ?? PROCEED;
  }

  private async awaitStage(
    index: number,
    pending: PromiseLike<Verdict>,
    t0: number,
    held: Hold | undefined,
    message: AgentMessage,
    ctx: GovernanceContext,
    timed: boolean,
  ): Promise<Verdict> {
    let verdict: Verdict;
    try {
      verdict = await pending;
      if (!isVerdict(verdict)) verdict = noVerdict(this.stages[index]!);
    } catch (error) {
      verdict = stageFailed(this.stages[index]!, error);
    }
    if (timed) this.timers[index]!.record(nowNs() - t0);
    if (verdict.kind === 'reject') return verdict;
    if (verdict.kind === 'hold' && held === undefined) held = verdict;
    return this.runFrom(index + 1, held, message, ctx, timed);
  }
}

const KNOWN_CODES: ReadonlySet<string> = new Set(REJECTION_CODES);

/** A verdict from user code is checked before the bus trusts it: a bogus code must not reach callers or metrics. */
function isVerdict(value: unknown): value is Verdict {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { kind?: unknown; code?: unknown; reason?: unknown };
  if (v.kind === 'proceed') return true;
  if (v.kind === 'reject') return typeof v.code === 'string' && KNOWN_CODES.has(v.code) && typeof v.reason === 'string';
  return v.kind === 'hold' && typeof v.reason === 'string';
}

function noVerdict(stage: GovernanceStage): Verdict {
  return reject(RejectionCode.STAGE_FAILED, `stage ${stage.name} returned no verdict`);
}

function stageFailed(stage: GovernanceStage, error: unknown): Verdict {
  const why = error instanceof Error ? error.message : String(error);
  return reject(RejectionCode.STAGE_FAILED, `stage ${stage.name} failed: ${why}`);
}
