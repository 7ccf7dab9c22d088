import { DRIFT_HISTORY } from './factors.js';
import type { ImpactScore as ImpactScoreLike } from './scorer.js';

/** Volume window: 12 buckets of 5 s approximate "the last 60 s" without storing timestamps. */
export const VOLUME_BUCKET_MS = 5_000;
export const VOLUME_BUCKETS = 12;
export const DEFAULT_MAX_TRACKED_AGENTS = 100_000;

// One Float64Array per agent: [counts × 12 | bucket numbers × 12 | drift history × 20].
const COUNTS = 0;
const BUCKET_IDS = VOLUME_BUCKETS;
const HISTORY = 2 * VOLUME_BUCKETS;
const SLOTS = HISTORY + DRIFT_HISTORY;

/** The per-agent memory of the volume and drift factors: 352 bytes of numbers. */
export class AgentImpactState {
  readonly cells = new Float64Array(SLOTS);
  historyLength = 0;
  historyNext = 0;
  /** The bucket the window total below was counted at: within it, a request only adds one. */
  private windowBucket = Number.NaN;
  private windowTotal = 0;
  /** Whose state this is (for eviction), and whether it was used since the clock hand last passed. */
  tenantId = '';
  agentId = '';
  referenced = false;
  /** The last score of this agent: returned again (same frozen object) while every factor is unchanged. */
  lastScore: ImpactScoreLike | undefined = undefined;

  reset(): void {
    this.cells.fill(0);
    this.historyLength = 0;
    this.historyNext = 0;
    this.windowBucket = Number.NaN;
    this.windowTotal = 0;
    this.referenced = false;
    this.lastScore = undefined;
  }

  /** Counts one request at `now`; returns the requests in the window, this one included. */
  recordRequest(now: number): number {
    const cells = this.cells;
    const bucket = Math.floor(now / VOLUME_BUCKET_MS);
    const slot = bucket % VOLUME_BUCKETS;
    if (bucket === this.windowBucket) {
      // Same bucket as the last request: the window lost nothing, this request adds one.
      cells[COUNTS + slot]!++;
      return ++this.windowTotal;
    }
    if (cells[BUCKET_IDS + slot] !== bucket) {
      cells[BUCKET_IDS + slot] = bucket;
      cells[COUNTS + slot] = 0;
    }
    cells[COUNTS + slot]!++;
    let total = 0;
    const oldest = bucket - VOLUME_BUCKETS;
    for (let i = 0; i < VOLUME_BUCKETS; i++) {
      const id = cells[BUCKET_IDS + i]!;
      if (id > oldest && id <= bucket) total += cells[COUNTS + i]!;
    }
    this.windowBucket = bucket;
    this.windowTotal = total;
    return total;
  }

  /**
   * The original's drift bookkeeping: the first sighting seeds the history and deviates by 0;
   * later, |value − mean(history)| is returned and the value appended (oldest dropped at 20).
   */
  recordContext(value: number): number {
    const cells = this.cells;
    let deviation = 0;
    if (this.historyLength > 0) {
      let sum = 0;
      for (let i = 0; i < this.historyLength; i++) sum += cells[HISTORY + i]!;
      deviation = Math.abs(value - sum / this.historyLength);
    }
    cells[HISTORY + this.historyNext] = value;
    this.historyNext = (this.historyNext + 1) % DRIFT_HISTORY;
    if (this.historyLength < DRIFT_HISTORY) this.historyLength++;
    return deviation;
  }
}

/**
 * Per-agent state with a cap, evicting by CLOCK (second chance), the usual approximation of
 * least-recently-used: a hit only sets a bit, and the hand evicts the first state not used since it
 * last passed. Reordering a Map on every hit (delete + set) left deleted entries in V8's hash
 * chains and cost more than the scoring around it. Lookups go tenant → agent, so no key string is
 * built per message. Evicted state objects are reused for the next new agent.
 */
export class AgentStateTable {
  private readonly byTenant = new Map<string, Map<string, AgentImpactState>>();
  private readonly slots: AgentImpactState[] = [];
  private hand = 0;
  private evictions = 0;

  constructor(readonly maxAgents: number = DEFAULT_MAX_TRACKED_AGENTS) {
    if (!Number.isInteger(maxAgents) || maxAgents < 1) throw new RangeError(`maxTrackedAgents must be a positive integer, got ${maxAgents}`);
  }

  get size(): number {
    return this.slots.length;
  }

  get evicted(): number {
    return this.evictions;
  }

  has(tenantId: string, agentId: string): boolean {
    return this.byTenant.get(tenantId)?.has(agentId) === true;
  }

  /** The state of the agent, created (or recycled from an evicted one) on first sight. */
  acquire(tenantId: string, agentId: string): AgentImpactState {
    let agents = this.byTenant.get(tenantId);
    let state = agents?.get(agentId);
    if (state !== undefined) {
      state.referenced = true;
      return state;
    }
    if (this.slots.length >= this.maxAgents) {
      state = this.evictOne();
      agents = this.byTenant.get(tenantId);
    } else {
      state = new AgentImpactState();
      this.slots.push(state);
    }
    state.tenantId = tenantId;
    state.agentId = agentId;
    if (agents === undefined) this.byTenant.set(tenantId, (agents = new Map()));
    agents.set(agentId, state);
    return state;
  }

  clear(): void {
    this.byTenant.clear();
    this.slots.length = 0;
    this.hand = 0;
  }

  private evictOne(): AgentImpactState {
    const slots = this.slots;
    let state = slots[this.hand]!;
    while (state.referenced) {
      state.referenced = false;
      this.hand = (this.hand + 1) % slots.length;
      state = slots[this.hand]!;
    }
    this.hand = (this.hand + 1) % slots.length;
    const agents = this.byTenant.get(state.tenantId)!;
    agents.delete(state.agentId);
    if (agents.size === 0) this.byTenant.delete(state.tenantId);
    state.reset();
    this.evictions++;
    return state;
  }
}
