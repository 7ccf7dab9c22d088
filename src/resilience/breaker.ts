import { ConsecutiveBreaker } from 'cockatiel';
import { BusError, ErrorCode } from '../errors.js';

/**
 * Circuit breakers with deadlines as timestamps. The failure counting is cockatiel's
 * ConsecutiveBreaker (fail_max consecutive failures open the circuit); the state machine around it
 * is ours because cockatiel's CircuitBreakerPolicy only wraps promise-returning calls, and two of the
 * guarded calls are synchronous and on the send path (journal append, push-handler dispatch).
 * No timer runs per call or per breaker: an open breaker stores the time at which it may try again,
 * and the first call after that instant is the single half-open trial.
 */

export const BreakerState = {
  CLOSED: 'closed',
  OPEN: 'open',
  HALF_OPEN: 'half-open',
} as const;
export type BreakerState = (typeof BreakerState)[keyof typeof BreakerState];

/** What the bus does while a dependency's breaker is open. */
export const DependencyClass = {
  /** Decides whether a message may pass (policy, impact model, deliberation store, journal): deny. */
  GOVERNANCE: 'governance',
  /** Only observes (decision-cache tier, metering): degrade silently, counted. */
  OBSERVABILITY: 'observability',
  /** Carries a message onwards (notification channels, subscriber handlers): queue and retry later. */
  DELIVERY: 'delivery',
} as const;
export type DependencyClass = (typeof DependencyClass)[keyof typeof DependencyClass];

export interface BreakerOptions {
  /** Consecutive failures that open the breaker (default 5, the original's fail_max). */
  failMax?: number;
  /** How long it stays open before one trial call is let through (default 30,000 ms). */
  resetMs?: number;
}

export const DEFAULT_BREAKER_OPTIONS: Readonly<Required<BreakerOptions>> = Object.freeze({ failMax: 5, resetMs: 30_000 });

export interface BreakerSnapshot {
  name: string;
  dependencyClass: DependencyClass;
  state: BreakerState;
  failMax: number;
  resetMs: number;
  consecutiveFailures: number;
  failures: number;
  successes: number;
  /** Calls refused because the breaker was open (or a half-open trial was already running). */
  rejections: number;
  opened: number;
  /** Epoch ms after which a trial call is let through (0 when closed). */
  retryAt: number;
  /** Set while chaos (or an operator) holds the breaker open. */
  forcedUntil: number;
  lastFailure: string | undefined;
}

export type BreakerListener = (breaker: Breaker, from: BreakerState, to: BreakerState) => void;

/** The error an open breaker fails calls with: one instance per breaker, so refusing costs no stack trace. */
export class BreakerOpenError extends Error {
  constructor(readonly breakerName: string) {
    super(`circuit breaker ${breakerName} is open`);
    this.name = 'BreakerOpenError';
  }
}

export function checkBreakerOptions(where: string, options: BreakerOptions | undefined): Required<BreakerOptions> {
  const failMax = options?.failMax ?? DEFAULT_BREAKER_OPTIONS.failMax;
  const resetMs = options?.resetMs ?? DEFAULT_BREAKER_OPTIONS.resetMs;
  if (!Number.isInteger(failMax) || failMax < 1) throw new BusError(ErrorCode.INVALID_OPTIONS, `${where}: failMax must be a positive integer (got ${String(failMax)})`);
  if (!(typeof resetMs === 'number' && resetMs >= 1 && Number.isFinite(resetMs))) throw new BusError(ErrorCode.INVALID_OPTIONS, `${where}: resetMs must be a finite number >= 1 (got ${String(resetMs)})`);
  return { failMax, resetMs };
}

// Internal state; 'open' past its retryAt is reported as half-open (a trial would be let through).
const CLOSED = 0;
const OPEN = 1;
const TRIAL = 2;

export class Breaker {
  readonly failMax: number;
  readonly resetMs: number;
  /** Preallocated: an open breaker refuses without building an Error. */
  readonly openError: BreakerOpenError;
  private readonly counter: ConsecutiveBreaker;
  private mode = CLOSED;
  private retryAtMs = 0;
  private forcedUntil = 0;
  private readonly counters = { failures: 0, successes: 0, rejections: 0, opened: 0 };
  private lastFailure: string | undefined;

  constructor(
    readonly name: string,
    readonly dependencyClass: DependencyClass,
    options: BreakerOptions | undefined,
    private readonly clock: () => number,
    private readonly onChange: BreakerListener,
  ) {
    const checked = checkBreakerOptions(`breaker ${name}`, options);
    this.failMax = checked.failMax;
    this.resetMs = checked.resetMs;
    this.counter = new ConsecutiveBreaker(this.failMax);
    this.openError = new BreakerOpenError(name);
  }

  get state(): BreakerState {
    if (this.mode === CLOSED) return BreakerState.CLOSED;
    if (this.mode === TRIAL) return BreakerState.HALF_OPEN;
    return this.forcedUntil === 0 && this.clock() >= this.retryAtMs ? BreakerState.HALF_OPEN : BreakerState.OPEN;
  }

  /** Epoch ms after which a trial call may run (0 when closed). */
  get retryAt(): number {
    return this.mode === CLOSED ? 0 : this.retryAtMs;
  }

  get isClosed(): boolean {
    return this.mode === CLOSED;
  }

  /**
   * May a call go through now? Closed: yes. Open before retryAt (or forced): no. Open after retryAt:
   * yes, once — this call is the half-open trial and its success() / failure() decides.
   */
  allow(): boolean {
    if (this.mode === CLOSED) return true;
    return this.allowSlow();
  }

  private allowSlow(): boolean {
    if (this.mode === OPEN) {
      const now = this.clock();
      if (this.forcedUntil !== 0) {
        if (now < this.forcedUntil) {
          this.counters.rejections++;
          return false;
        }
        this.forcedUntil = 0;
      }
      if (now >= this.retryAtMs) {
        this.mode = TRIAL;
        this.onChange(this, BreakerState.OPEN, BreakerState.HALF_OPEN);
        return true;
      }
    }
    this.counters.rejections++;
    return false;
  }

  success(): void {
    this.counters.successes++;
    if (this.mode === CLOSED) {
      this.counter.state = 0;
      return;
    }
    if (this.mode === TRIAL) this.close(BreakerState.HALF_OPEN);
  }

  failure(reason?: unknown): void {
    this.counters.failures++;
    if (reason !== undefined) this.lastFailure = describe(reason);
    if (this.mode === TRIAL) {
      this.open(BreakerState.HALF_OPEN);
      return;
    }
    if (this.mode === CLOSED && this.counter.failure()) this.open(BreakerState.CLOSED);
  }

  /** Runs an async call through the breaker; rejects with `openError` when it may not run. */
  execute<T>(fn: () => PromiseLike<T>): Promise<T> {
    if (!this.allow()) return Promise.reject(this.openError);
    let pending: PromiseLike<T>;
    try {
      pending = fn();
    } catch (error) {
      this.failure(error);
      return Promise.reject(error as Error);
    }
    return Promise.resolve(pending).then(
      (value) => {
        this.success();
        return value;
      },
      (error: unknown) => {
        this.failure(error);
        throw error;
      },
    );
  }

  /** Holds the breaker open until `untilMs` (chaos, operators); then the normal trial follows. */
  forceOpen(untilMs: number): void {
    const from = this.state;
    this.forcedUntil = untilMs;
    this.retryAtMs = untilMs;
    if (this.mode !== OPEN) {
      this.mode = OPEN;
      this.counters.opened++;
    }
    if (from !== BreakerState.OPEN) this.onChange(this, from, BreakerState.OPEN);
  }

  /** Closes the breaker now (recovery succeeded, chaos ended, operator reset). */
  reset(): void {
    this.forcedUntil = 0;
    if (this.mode !== CLOSED) this.close(this.state);
  }

  snapshot(): BreakerSnapshot {
    return {
      name: this.name,
      dependencyClass: this.dependencyClass,
      state: this.state,
      failMax: this.failMax,
      resetMs: this.resetMs,
      consecutiveFailures: this.counter.state,
      ...this.counters,
      retryAt: this.mode === CLOSED ? 0 : this.retryAtMs,
      forcedUntil: this.forcedUntil,
      lastFailure: this.lastFailure,
    };
  }

  private open(from: BreakerState): void {
    this.mode = OPEN;
    this.retryAtMs = this.clock() + this.resetMs;
    this.counters.opened++;
    this.onChange(this, from, BreakerState.OPEN);
  }

  private close(from: BreakerState): void {
    this.mode = CLOSED;
    this.counter.state = 0;
    this.retryAtMs = 0;
    if (from !== BreakerState.CLOSED) this.onChange(this, from, BreakerState.CLOSED);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
