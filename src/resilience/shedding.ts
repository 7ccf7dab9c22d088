import { BusError, ErrorCode } from '../errors.js';
import { Priority } from '../message/constants.js';

/**
 * Load shedding by rule, never silently. Overload is measured as event-loop lag (the drift of one
 * sampling timer, smoothed; no per-message cost). The overload level picks what is shed, lowest priority
 * first, and within the marginal priority only tenants above their fair share of the current
 * sampling window; CRITICAL messages and released (held, then approved) messages are never shed.
 * The bus refuses every shed message with BACKPRESSURE (HTTP 503) and journals it.
 *
 *   level 0  lag < threshold      nothing shed
 *   level 1  lag ≥ 1× threshold   LOW from tenants above their fair share
 *   level 2  lag ≥ 2× threshold   LOW; NORMAL from tenants above their fair share
 *   level 3  lag ≥ 4× threshold   LOW, NORMAL; HIGH from tenants above their fair share
 *
 * Bulkheads: a tenant may have at most `tenantAsyncInFlight` messages inside asynchronous stages
 * (remote policy engine, off-thread model, deliberation store) at once; beyond that its non-CRITICAL
 * messages are shed, so one tenant's flood cannot occupy every slot.
 */

export interface SheddingOptions {
  /** Smoothed event-loop lag at which level 1 starts (default 100 ms). */
  lagThresholdMs?: number;
  /** Sampling period of the lag timer (default 100 ms). */
  sampleMs?: number;
  /** Per-tenant cap on messages inside asynchronous stages (default 1,000; 0 = no cap). */
  tenantAsyncInFlight?: number;
  /**
   * Inbox fill ratios at which LOW, NORMAL and HIGH messages are refused, keeping the rest of the
   * inbox for higher priorities (CRITICAL only ever meets the full capacity). Default [1, 1, 1] (off);
   * e.g. [0.5, 0.75, 0.9].
   */
  inboxWatermarks?: readonly [number, number, number];
  /** Replaces the lag timer (tests): returns the current lag in ms. */
  lagSource?: () => number;
  /** Most tenants counted per window (default 10,000; beyond, they share one counter). */
  maxTenants?: number;
}

export interface ShedDecision {
  readonly rule: 'overload' | 'fair_share' | 'bulkhead' | 'inbox_watermark';
  readonly level: number;
  readonly lagMs: number;
}

export interface SheddingStats {
  level: number;
  lagMs: number;
  maxLagMs: number;
  shed: number;
  byRule: Record<ShedDecision['rule'], number>;
  byPriority: [number, number, number, number];
  asyncInFlight: number;
  tenantsInFlight: number;
}

const OTHER = '\u0000other';

export function checkSheddingOptions(options: SheddingOptions): void {
  const bad = (m: string) => new BusError(ErrorCode.INVALID_OPTIONS, `shedding.${m}`);
  if (options.lagThresholdMs !== undefined && !(options.lagThresholdMs > 0)) throw bad('lagThresholdMs must be positive');
  if (options.sampleMs !== undefined && !(options.sampleMs >= 5)) throw bad('sampleMs must be >= 5');
  if (options.tenantAsyncInFlight !== undefined && !(Number.isInteger(options.tenantAsyncInFlight) && options.tenantAsyncInFlight >= 0)) throw bad('tenantAsyncInFlight must be an integer >= 0');
  const w = options.inboxWatermarks;
  if (w !== undefined && !(Array.isArray(w) && w.length === 3 && w.every((x) => typeof x === 'number' && x > 0 && x <= 1) && w[0] <= w[1] && w[1] <= w[2])) {
    throw bad('inboxWatermarks must be three ascending ratios in (0, 1]');
  }
}

export class LoadShedder {
  /** 0 = not overloaded. Read on the send path; written only by the sampling timer. */
  level = 0;
  lagMs = 0;
  readonly tenantCap: number;
  readonly inboxWatermarks: readonly [number, number, number];
  private readonly threshold: number;
  private readonly sampleMs: number;
  private readonly lagSource: (() => number) | undefined;
  private readonly maxTenants: number;
  private timer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private maxLag = 0;
  private previousDrift = 0;
  private window = new Map<string, number>();
  private windowTotal = 0;
  private readonly inFlight = new Map<string, number>();
  private asyncTotal = 0;
  private readonly counters = { shed: 0, byRule: { overload: 0, fair_share: 0, bulkhead: 0, inbox_watermark: 0 }, byPriority: [0, 0, 0, 0] as [number, number, number, number] };

  constructor(options: SheddingOptions = {}) {
    checkSheddingOptions(options);
    this.threshold = options.lagThresholdMs ?? 100;
    this.sampleMs = options.sampleMs ?? 100;
    this.tenantCap = options.tenantAsyncInFlight ?? 1000;
    this.inboxWatermarks = options.inboxWatermarks ?? [1, 1, 1];
    this.lagSource = options.lagSource;
    this.maxTenants = options.maxTenants ?? 10_000;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.lastTick = performance.now();
    this.timer = setInterval(() => this.sample(), this.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.level = 0;
  }

  /** One sampling step (the timer's; tests may call it). */
  sample(): void {
    const now = performance.now();
    const drift = this.lagSource !== undefined ? this.lagSource() : Math.max(0, now - this.lastTick - this.sampleMs);
    this.lastTick = now;
    // Smoothed (EWMA, weight 0.3 for the newest sample), and acted on only while the last two
    // samples both drifted: one long pause (a GC, a model load, a bundle compiled at start) is not
    // an overload — the requests queued behind it must not be shed — sustained drift is.
    this.lagMs = this.lagMs * 0.7 + drift * 0.3;
    if (this.lagMs > this.maxLag) this.maxLag = this.lagMs;
    const sustained = Math.min(this.lagMs, drift, this.previousDrift);
    this.previousDrift = drift;
    const r = sustained / this.threshold;
    this.level = r < 1 ? 0 : r < 2 ? 1 : r < 4 ? 2 : 3;
    this.window = new Map();
    this.windowTotal = 0;
  }

  /**
   * Called on the send path only while level > 0 (the bus checks the level first). Returns why the
   * message is shed, or undefined to admit it (and counts it towards its tenant's share).
   */
  admit(priority: number, tenantId: string): ShedDecision | undefined {
    const level = this.level;
    if (priority >= Priority.CRITICAL || priority >= level) return this.count(tenantId);
    if (priority < level - 1) return this.shed({ rule: 'overload', level, lagMs: this.lagMs }, priority);
    // The marginal priority: shed only from tenants above their fair share of this window.
    const mine = this.window.get(this.window.size >= this.maxTenants && !this.window.has(tenantId) ? OTHER : tenantId) ?? 0;
    const tenants = Math.max(1, this.window.size);
    if (tenants > 1 && mine <= this.windowTotal / tenants) return this.count(tenantId);
    return this.shed({ rule: 'fair_share', level, lagMs: this.lagMs }, priority);
  }

  /** Bulkhead check before asynchronous stages; only consulted once the bus-wide count reaches the cap. */
  overTenantCap(tenantId: string): boolean {
    return this.tenantCap > 0 && (this.inFlight.get(tenantId) ?? 0) >= this.tenantCap;
  }

  bulkheadShed(priority: number): ShedDecision {
    return this.shed({ rule: 'bulkhead', level: this.level, lagMs: this.lagMs }, priority);
  }

  watermarkShed(priority: number): ShedDecision {
    return this.shed({ rule: 'inbox_watermark', level: this.level, lagMs: this.lagMs }, priority);
  }

  enterAsync(tenantId: string): void {
    this.asyncTotal++;
    this.inFlight.set(tenantId, (this.inFlight.get(tenantId) ?? 0) + 1);
  }

  leaveAsync(tenantId: string): void {
    this.asyncTotal--;
    const n = (this.inFlight.get(tenantId) ?? 1) - 1;
    if (n <= 0) this.inFlight.delete(tenantId);
    else this.inFlight.set(tenantId, n);
  }

  get asyncInFlight(): number {
    return this.asyncTotal;
  }

  stats(): SheddingStats {
    return {
      level: this.level,
      lagMs: Math.round(this.lagMs * 10) / 10,
      maxLagMs: Math.round(this.maxLag * 10) / 10,
      shed: this.counters.shed,
      byRule: { ...this.counters.byRule },
      byPriority: [...this.counters.byPriority] as [number, number, number, number],
      asyncInFlight: this.asyncTotal,
      tenantsInFlight: this.inFlight.size,
    };
  }

  private count(tenantId: string): undefined {
    const key = this.window.size >= this.maxTenants && !this.window.has(tenantId) ? OTHER : tenantId;
    this.window.set(key, (this.window.get(key) ?? 0) + 1);
    this.windowTotal++;
    return undefined;
  }

  private shed(decision: ShedDecision, priority: number): ShedDecision {
    this.counters.shed++;
    this.counters.byRule[decision.rule]++;
    this.counters.byPriority[priority as 0 | 1 | 2 | 3]++;
    return decision;
  }
}
