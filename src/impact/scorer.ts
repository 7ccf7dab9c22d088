import type { AgentMessage } from '../message/schema.js';
import type { AgentRecord } from '../registry/types.js';
import { isThenable } from '../governance/verdict.js';
import { AgentStateTable, DEFAULT_MAX_TRACKED_AGENTS } from './agent-state.js';
import { hourOfDayIn, localHourOfDay, type HourOfDay } from './clock.js';
import {
  DEFAULT_WEIGHTS,
  FACTOR_NAMES,
  contextFactor,
  driftFactor,
  messageAmount,
  permissionFactor,
  priorityFactor,
  typeFactor,
  volumeFactor,
  type ImpactWeights,
} from './factors.js';
import { KeywordModel } from './keyword-model.js';
import { DEFAULT_MAX_TEXT_CHARS, extractText } from './text.js';
import { semanticFromProbability, type TextModel } from './text-model.js';

/** One sub-score in [0,1] per factor: the same names as the weights. */
export type ImpactFactors = { readonly [K in keyof ImpactWeights]: number };

export interface ImpactScore {
  /** In [0, 1]. */
  readonly score: number;
  readonly factors: ImpactFactors;
  /** Name of the text model behind the semantic factor. */
  readonly model: string;
}

export interface ImpactInputContext {
  /** Epoch milliseconds (the governance context's `now`). */
  readonly now: number;
  /** The registered sender, when known; its agentId keys the per-agent state. */
  readonly sender?: AgentRecord | undefined;
}

export interface ImpactScorerOptions {
  /** Semantic factor backend. Default: the keyword model (use `loadDefaultTextModel()` for fastText). */
  model?: TextModel;
  /** Factor weights; missing ones take the defaults. The sum is normalised away. */
  weights?: Partial<ImpactWeights>;
  /** Score floor when the priority factor is ≥ 1.0 (CRITICAL). Default 0.9. */
  criticalPriorityBoost?: number;
  /** Score floor when the semantic factor is > 0.8. Default 0.8. */
  highSemanticBoost?: number;
  /** LRU cap on agents whose volume and drift history are kept. Default 100,000. */
  maxTrackedAgents?: number;
  /** Characters of content/payload text given to the model. Default 2,000. */
  maxTextChars?: number;
  /** IANA time zone for the night-time context rule. Default: the host's local time. */
  timeZone?: string;
  /** Overrides `timeZone`: any hour-of-day function (tests, custom calendars). */
  hourOfDay?: HourOfDay;
}

export interface ImpactScorerStats {
  readonly trackedAgents: number;
  readonly evictedAgents: number;
  readonly maxTrackedAgents: number;
}

const SEMANTIC_BOOST_TRIGGER = 0.8;

function unitInterval(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be within [0, 1], got ${value}`);
  return value;
}

/**
 * The seven-factor impact score of the original (behaviour note §6.1) with its defects fixed:
 * amounts are read from the message payload too, every sender has its own volume window, the
 * hour comes from an injectable clock, and per-agent state is bounded.
 */
export class ImpactScorer {
  readonly model: TextModel;
  readonly weights: ImpactWeights;
  private readonly normalized: ImpactWeights;
  private readonly criticalBoost: number;
  private readonly semanticBoost: number;
  private readonly maxTextChars: number;
  private readonly hourOfDay: HourOfDay;
  private readonly agents: AgentStateTable;
  private repeated = false;

  constructor(options: ImpactScorerOptions = {}) {
    this.model = options.model ?? new KeywordModel();
    const weights = { ...DEFAULT_WEIGHTS, ...options.weights };
    let sum = 0;
    for (const name of FACTOR_NAMES) {
      const w = weights[name];
      if (!(w >= 0 && Number.isFinite(w))) throw new RangeError(`weight ${name} must be a finite number ≥ 0, got ${w}`);
      sum += w;
    }
    if (!(sum > 0)) throw new RangeError('at least one impact weight must be positive');
    this.weights = Object.freeze(weights);
    const normalized = {} as Record<(typeof FACTOR_NAMES)[number], number>;
    for (const name of FACTOR_NAMES) normalized[name] = weights[name] / sum;
    this.normalized = Object.freeze(normalized);
    this.criticalBoost = unitInterval('criticalPriorityBoost', options.criticalPriorityBoost ?? 0.9);
    this.semanticBoost = unitInterval('highSemanticBoost', options.highSemanticBoost ?? 0.8);
    this.maxTextChars = options.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
    this.hourOfDay = options.hourOfDay ?? (options.timeZone !== undefined ? hourOfDayIn(options.timeZone) : localHourOfDay());
    this.agents = new AgentStateTable(options.maxTrackedAgents ?? DEFAULT_MAX_TRACKED_AGENTS);
  }

  /**
   * Scores one message and updates the sender's volume and drift state (synchronously, so
   * message order is kept even when the text model answers later). Returns a promise only when
   * the text model does.
   */
  score(message: AgentMessage, context: ImpactInputContext): ImpactScore | Promise<ImpactScore> {
    const text = extractText(message.content, message.payload, this.maxTextChars);
    const prediction = text.length === 0 ? 0 : this.model.predict(text);

    const agentId = context.sender?.agentId ?? message.fromAgent;
    const state = this.agents.acquire(message.tenantId, agentId);
    const volume = volumeFactor(state.recordRequest(context.now));
    const contextScore = contextFactor(this.hourOfDay(context.now), messageAmount(message));
    const drift = driftFactor(state.recordContext(contextScore));
    const permission = permissionFactor(message);
    const priority = priorityFactor(message);
    const type = typeFactor(message);

    this.repeated = false;
    if (isThenable(prediction)) {
      return Promise.resolve(prediction).then((p) => this.combine(semanticFromProbability(p), permission, volume, contextScore, drift, priority, type));
    }
    const semantic = semanticFromProbability(prediction);
    // An agent's factors are mostly steps (volume, context, priority, type) and a cached text
    // score: its next message usually scores exactly as its last. The same frozen result then
    // serves again, instead of a new result and breakdown (eight allocations) per message.
    const last = state.lastScore;
    if (last !== undefined) {
      const f = last.factors;
      if (f.semantic === semantic && f.permission === permission && f.volume === volume && f.context === contextScore && f.drift === drift && f.priority === priority && f.type === type) {
        this.repeated = true;
        return last;
      }
    }
    return (state.lastScore = this.combine(semantic, permission, volume, contextScore, drift, priority, type));
  }

  /**
   * Whether the last synchronous score() returned the agent's previous result again (its factors
   * unchanged): a result seen twice is likely to be seen again, so what is derived from it is
   * worth keeping (the stage's annotation); a first result may be one of a kind.
   */
  get lastScoreRepeated(): boolean {
    return this.repeated;
  }

  stats(): ImpactScorerStats {
    return { trackedAgents: this.agents.size, evictedAgents: this.agents.evicted, maxTrackedAgents: this.agents.maxAgents };
  }

  /** Whether per-agent state is held for this sender (tests, diagnostics). */
  isTracking(tenantId: string, agentId: string): boolean {
    return this.agents.has(tenantId, agentId);
  }

  private combine(semantic: number, permission: number, volume: number, context: number, drift: number, priority: number, type: number): ImpactScore {
    const w = this.normalized;
    let score =
      w.semantic * semantic +
      w.permission * permission +
      w.volume * volume +
      w.context * context +
      w.drift * drift +
      w.priority * priority +
      w.type * type;
    if (priority >= 1 && score < this.criticalBoost) score = this.criticalBoost;
    if (semantic > SEMANTIC_BOOST_TRIGGER && score < this.semanticBoost) score = this.semanticBoost;
    if (!(score >= 0)) score = 0;
    else if (score > 1) score = 1;
    return Object.freeze({ score, factors: Object.freeze({ semantic, permission, volume, context, drift, priority, type }), model: this.model.name });
  }
}
