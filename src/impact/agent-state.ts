import { DRIFT_HISTORY } from './factors.js';

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

  reset(): void {
    this.cells.fill(0);
    this.historyLength = 0;
    this.historyNext = 0;
  }

  /** Counts one request at `now`; returns the requests in the window, this one included. */
  recordRequest(now: number): number {
    const cells = this.cells;
    const bucket = Math.floor(now / VOLUME_BUCKET_MS);
    const slot = bucket % VOLUME_BUCKETS;
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
 * Per-agent state with a least-recently-used cap. A Map keeps insertion order, so the first key
 * is the least recently used; a touched entry is moved to the end. Evicted state objects are
 * reused for the next new agent.
 */
export class AgentStateTable {
  private readonly states = new Map<string, AgentImpactState>();
  private mostRecentKey: string | undefined;
  private evictions = 0;

  constructor(readonly maxAgents: number = DEFAULT_MAX_TRACKED_AGENTS) {
    if (!Number.isInteger(maxAgents) || maxAgents < 1) throw new RangeError(`maxTrackedAgents must be a positive integer, got ${maxAgents}`);
  }

  get size(): number {
    return this.states.size;
  }

  get evicted(): number {
    return this.evictions;
  }

  has(key: string): boolean {
    return this.states.has(key);
  }

  /** The state of `key`, created (or recycled from the evicted LRU entry) on first sight. */
  acquire(key: string): AgentImpactState {
    const states = this.states;
    let state = states.get(key);
    if (state !== undefined) {
      if (this.mostRecentKey !== key) {
        states.delete(key);
        states.set(key, state);
        this.mostRecentKey = key;
      }
      return state;
    }
    if (states.size >= this.maxAgents) {
      const oldest = states.keys().next().value as string;
      state = states.get(oldest)!;
      states.delete(oldest);
      state.reset();
      this.evictions++;
    } else {
      state = new AgentImpactState();
    }
    states.set(key, state);
    this.mostRecentKey = key;
    return state;
  }

  clear(): void {
    this.states.clear();
    this.mostRecentKey = undefined;
  }
}
