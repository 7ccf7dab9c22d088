import { BusError, ErrorCode } from '../errors.js';
import { BreakerState } from './breaker.js';
import type { BreakerRegistry } from './registry.js';

/**
 * Health over every dependency breaker: closed 1.0, half-open 0.5, open 0; the score is their mean
 * (1.0 with no breakers). Snapshots are taken on a timer and when a breaker changes state — never on
 * the send path — into a ring buffer; status changes call listeners each in its own macrotask, so a
 * slow or throwing listener delays and breaks nobody.
 */

export const HealthStatus = {
  HEALTHY: 'HEALTHY',
  DEGRADED: 'DEGRADED',
  CRITICAL: 'CRITICAL',
} as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];

export interface HealthOptions {
  /** Score at or above which the bus is HEALTHY (default 0.7). */
  degradedThreshold?: number;
  /** Score at or above which it is DEGRADED, below CRITICAL (default 0.5). */
  criticalThreshold?: number;
  /** Snapshots kept (default 300). */
  historySize?: number;
  /** Snapshot timer period (default 1,000 ms). */
  intervalMs?: number;
}

export interface HealthSnapshot {
  at: number;
  status: HealthStatus;
  /** Rounded to 3 places. */
  score: number;
  breakers: number;
  closed: number;
  halfOpen: number;
  open: number;
  /** Half-open dependency breakers. */
  degradedServices: string[];
  /** Open dependency breakers. */
  criticalServices: string[];
}

export type HealthListener = (current: HealthSnapshot, previous: HealthSnapshot | undefined) => unknown;

export interface HealthStats {
  snapshots: number;
  callbacksFired: number;
  callbackErrors: number;
  historySize: number;
  running: boolean;
}

export function statusOf(score: number, degradedThreshold: number, criticalThreshold: number): HealthStatus {
  if (score >= degradedThreshold) return HealthStatus.HEALTHY;
  if (score >= criticalThreshold) return HealthStatus.DEGRADED;
  return HealthStatus.CRITICAL;
}

export class HealthAggregator {
  readonly degradedThreshold: number;
  readonly criticalThreshold: number;
  private readonly capacity: number;
  private readonly intervalMs: number;
  private readonly ring: HealthSnapshot[] = [];
  private head = 0;
  private last: HealthSnapshot | undefined;
  private readonly listeners: HealthListener[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pending = false;
  private unsubscribe: (() => void) | undefined;
  private readonly counters = { snapshots: 0, callbacksFired: 0, callbackErrors: 0 };

  constructor(
    private readonly breakers: BreakerRegistry,
    options: HealthOptions = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.degradedThreshold = options.degradedThreshold ?? 0.7;
    this.criticalThreshold = options.criticalThreshold ?? 0.5;
    if (!(this.criticalThreshold >= 0 && this.criticalThreshold <= this.degradedThreshold && this.degradedThreshold <= 1)) {
      throw new BusError(ErrorCode.INVALID_OPTIONS, 'health thresholds must satisfy 0 <= criticalThreshold <= degradedThreshold <= 1');
    }
    this.capacity = options.historySize ?? 300;
    this.intervalMs = options.intervalMs ?? 1000;
    if (!Number.isInteger(this.capacity) || this.capacity < 1) throw new BusError(ErrorCode.INVALID_OPTIONS, 'health.historySize must be a positive integer');
    if (!(this.intervalMs >= 10)) throw new BusError(ErrorCode.INVALID_OPTIONS, 'health.intervalMs must be >= 10');
  }

  /** Starts the snapshot timer and listens to breaker state changes (idempotent). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.snapshot(), this.intervalMs);
    this.timer.unref();
    this.unsubscribe = this.breakers.onStateChange(() => this.scheduleSnapshot());
    this.snapshot();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** The health now, computed from the breakers (not recorded in history). */
  current(): HealthSnapshot {
    let closed = 0;
    let halfOpen = 0;
    let open = 0;
    const degradedServices: string[] = [];
    const criticalServices: string[] = [];
    for (const b of this.breakers.states()) {
      if (b.state === BreakerState.CLOSED) closed++;
      else if (b.state === BreakerState.HALF_OPEN) {
        halfOpen++;
        degradedServices.push(b.name);
      } else {
        open++;
        criticalServices.push(b.name);
      }
    }
    const total = closed + halfOpen + open;
    const raw = total === 0 ? 1 : (closed + 0.5 * halfOpen) / total;
    const score = Math.round(raw * 1000) / 1000;
    return {
      at: this.clock(),
      status: statusOf(raw, this.degradedThreshold, this.criticalThreshold),
      score,
      breakers: total,
      closed,
      halfOpen,
      open,
      degradedServices,
      criticalServices,
    };
  }

  /** Takes a snapshot into history; fires listeners when the status changed (including the first). */
  snapshot(): HealthSnapshot {
    const snap = this.current();
    if (this.ring.length < this.capacity) this.ring.push(snap);
    else {
      this.ring[this.head] = snap;
      this.head = (this.head + 1) % this.capacity;
    }
    this.counters.snapshots++;
    const previous = this.last;
    this.last = snap;
    if (previous === undefined || previous.status !== snap.status) this.fire(snap, previous);
    return snap;
  }

  /** Oldest first; only those at or after `sinceMs` when given. */
  history(sinceMs?: number): HealthSnapshot[] {
    const ordered = this.ring.length < this.capacity ? [...this.ring] : [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
    return sinceMs === undefined ? ordered : ordered.filter((s) => s.at >= sinceMs);
  }

  /** The last recorded snapshot (or the current health when none was taken yet). */
  latest(): HealthSnapshot {
    return this.last ?? this.current();
  }

  onChange(listener: HealthListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  stats(): HealthStats {
    return { ...this.counters, historySize: this.ring.length, running: this.running };
  }

  /** Several state changes in one tick make one snapshot. */
  private scheduleSnapshot(): void {
    if (this.pending) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.snapshot();
    });
  }

  private fire(current: HealthSnapshot, previous: HealthSnapshot | undefined): void {
    for (const listener of this.listeners) {
      setImmediate(() => {
        this.counters.callbacksFired++;
        try {
          const result = listener(current, previous);
          if (typeof (result as { then?: unknown } | null)?.then === 'function') {
            (result as Promise<unknown>).then(undefined, () => this.counters.callbackErrors++);
          }
        } catch {
          this.counters.callbackErrors++;
        }
      });
    }
  }
}
