import { BusError, ErrorCode } from '../errors.js';
import { BreakerState } from './breaker.js';
import type { BreakerRegistry } from './registry.js';

/**
 * Brings dependencies back: a recovery attempt runs the dependency's own health check (e.g. Redis
 * PING) and closes its breaker only when the check passes — a breaker that merely reset is not a
 * recovery. Attempts follow a strategy (the original's formulas); one timer is armed for the next
 * due attempt. Manual recoveries wait for an operator (listed by awaitingManual(), API route).
 */

export const RecoveryStrategy = {
  EXPONENTIAL_BACKOFF: 'exponential_backoff',
  LINEAR_BACKOFF: 'linear_backoff',
  IMMEDIATE: 'immediate',
  MANUAL: 'manual',
} as const;
export type RecoveryStrategy = (typeof RecoveryStrategy)[keyof typeof RecoveryStrategy];

export const RecoveryState = {
  IDLE: 'idle',
  SCHEDULED: 'scheduled',
  IN_PROGRESS: 'in_progress',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  AWAITING_MANUAL: 'awaiting_manual',
} as const;
export type RecoveryState = (typeof RecoveryState)[keyof typeof RecoveryState];

export interface RecoveryPolicy {
  /** ≥ 1 (default 5). */
  maxRetryAttempts: number;
  /** ≥ 1 (default 2). */
  backoffMultiplier: number;
  /** ≥ 0 (default 1,000 ms). */
  initialDelayMs: number;
  /** ≥ initialDelayMs (default 60,000 ms). */
  maxDelayMs: number;
}

export const DEFAULT_RECOVERY_POLICY: Readonly<RecoveryPolicy> = Object.freeze({ maxRetryAttempts: 5, backoffMultiplier: 2, initialDelayMs: 1000, maxDelayMs: 60_000 });

/** A dependency's own check: true (or resolving true) when it works again. */
export type HealthCheck = () => boolean | Promise<boolean>;

/** Validates a (partial) policy over the defaults, as the original did; throws INVALID_OPTIONS. */
export function validateRecoveryPolicy(policy: Partial<RecoveryPolicy> = {}, base: RecoveryPolicy = DEFAULT_RECOVERY_POLICY): RecoveryPolicy {
  const p = { ...base, ...policy };
  const bad = (m: string) => new BusError(ErrorCode.INVALID_OPTIONS, `recovery policy: ${m}`);
  if (!Number.isInteger(p.maxRetryAttempts) || p.maxRetryAttempts < 1) throw bad('maxRetryAttempts must be an integer >= 1');
  if (!(typeof p.backoffMultiplier === 'number' && p.backoffMultiplier >= 1 && Number.isFinite(p.backoffMultiplier))) throw bad('backoffMultiplier must be >= 1');
  if (!(typeof p.initialDelayMs === 'number' && p.initialDelayMs >= 0 && Number.isFinite(p.initialDelayMs))) throw bad('initialDelayMs must be >= 0');
  if (!(typeof p.maxDelayMs === 'number' && p.maxDelayMs >= p.initialDelayMs && Number.isFinite(p.maxDelayMs))) throw bad('maxDelayMs must be >= initialDelayMs');
  return p;
}

/**
 * Delay before attempt n (n ≥ 1): immediate 0; linear min(initial × n, max);
 * exponential min(initial × multiplier^(n−1), max); manual: the original's max × 1000 (an operator acts first).
 */
export function recoveryDelayMs(strategy: RecoveryStrategy, attempt: number, policy: RecoveryPolicy): number {
  switch (strategy) {
    case RecoveryStrategy.IMMEDIATE:
      return 0;
    case RecoveryStrategy.LINEAR_BACKOFF:
      return Math.min(policy.initialDelayMs * attempt, policy.maxDelayMs);
    case RecoveryStrategy.EXPONENTIAL_BACKOFF:
      return Math.min(policy.initialDelayMs * policy.backoffMultiplier ** (attempt - 1), policy.maxDelayMs);
    case RecoveryStrategy.MANUAL:
      return policy.maxDelayMs * 1000;
  }
}

export interface RecoveryTaskView {
  service: string;
  state: RecoveryState;
  strategy: RecoveryStrategy;
  priority: number;
  attempts: number;
  maxAttempts: number;
  scheduledAt: number;
  lastAttemptAt: number | undefined;
  nextAttemptAt: number | undefined;
  lastError: string | undefined;
}

export interface RecoveryResult {
  service: string;
  state: RecoveryState;
  attempts: number;
  at: number;
  reason: string;
}

export interface RecoveryOptions {
  policy?: Partial<RecoveryPolicy>;
  /** Schedule a recovery when a breaker that has a health check opens (default true). */
  autoRecover?: boolean;
  /** Strategy of automatic recoveries (default exponential_backoff). */
  strategy?: RecoveryStrategy;
  /** Results kept in history (default 100). */
  historySize?: number;
  /** A health check slower than this fails the attempt (default 5,000 ms). */
  checkTimeoutMs?: number;
}

interface Task {
  service: string;
  state: RecoveryState;
  strategy: RecoveryStrategy;
  priority: number;
  policy: RecoveryPolicy;
  attempts: number;
  scheduledAt: number;
  lastAttemptAt: number | undefined;
  dueAt: number | undefined;
  lastError: string | undefined;
}

const STRATEGIES = new Set<string>(Object.values(RecoveryStrategy));

export class RecoveryOrchestrator {
  private readonly defaultPolicy: RecoveryPolicy;
  private readonly policies = new Map<string, RecoveryPolicy>();
  private readonly checks = new Map<string, HealthCheck>();
  private readonly tasks = new Map<string, Task>();
  private readonly results: RecoveryResult[] = [];
  private readonly historySize: number;
  private readonly autoRecover: boolean;
  private readonly strategy: RecoveryStrategy;
  private readonly checkTimeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly breakers: BreakerRegistry,
    options: RecoveryOptions = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.defaultPolicy = validateRecoveryPolicy(options.policy);
    this.autoRecover = options.autoRecover ?? true;
    this.strategy = options.strategy ?? RecoveryStrategy.EXPONENTIAL_BACKOFF;
    if (!STRATEGIES.has(this.strategy)) throw new BusError(ErrorCode.INVALID_OPTIONS, `recovery.strategy must be one of ${[...STRATEGIES].join(', ')}`);
    this.historySize = options.historySize ?? 100;
    this.checkTimeoutMs = options.checkTimeoutMs ?? 5000;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unsubscribe = this.breakers.onStateChange((breaker, _from, to) => {
      if (to === BreakerState.OPEN && this.autoRecover && this.checks.has(breaker.name) && !this.isActive(breaker.name)) {
        this.schedule(breaker.name, this.strategy);
      }
    });
    this.arm();
  }

  stop(): void {
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The dependency's own check for the breaker named `service`. */
  registerHealthCheck(service: string, check: HealthCheck): () => void {
    if (typeof check !== 'function') throw new BusError(ErrorCode.INVALID_ARGUMENT, 'a health check must be a function');
    this.checks.set(service, check);
    return () => {
      if (this.checks.get(service) === check) this.checks.delete(service);
    };
  }

  setPolicy(service: string, policy: Partial<RecoveryPolicy>): RecoveryPolicy {
    const checked = validateRecoveryPolicy(policy, this.defaultPolicy);
    this.policies.set(service, checked);
    return checked;
  }

  policyOf(service: string): RecoveryPolicy {
    return this.policies.get(service) ?? this.defaultPolicy;
  }

  /**
   * Schedules a recovery (policy precedence: argument, per-service, default). A service needs a
   * registered health check. Manual recoveries wait for approve(). Re-scheduling an active one replaces it.
   */
  schedule(service: string, strategy: RecoveryStrategy = this.strategy, priority = 1, policy?: Partial<RecoveryPolicy>): RecoveryTaskView {
    if (!this.checks.has(service)) throw new BusError(ErrorCode.NOT_FOUND, `no health check is registered for ${service}; a recovery could not be verified`);
    if (!STRATEGIES.has(strategy)) throw new BusError(ErrorCode.INVALID_ARGUMENT, `strategy must be one of ${[...STRATEGIES].join(', ')}`);
    if (!Number.isFinite(priority)) throw new BusError(ErrorCode.INVALID_ARGUMENT, 'priority must be a number');
    const resolved = policy === undefined ? this.policyOf(service) : validateRecoveryPolicy(policy, this.policyOf(service));
    const now = this.clock();
    const task: Task = {
      service,
      state: strategy === RecoveryStrategy.MANUAL ? RecoveryState.AWAITING_MANUAL : RecoveryState.SCHEDULED,
      strategy,
      priority,
      policy: resolved,
      attempts: 0,
      scheduledAt: now,
      lastAttemptAt: undefined,
      dueAt: strategy === RecoveryStrategy.MANUAL ? undefined : now + recoveryDelayMs(strategy, 1, resolved),
      lastError: undefined,
    };
    this.tasks.set(service, task);
    this.arm();
    return view(task);
  }

  cancel(service: string): boolean {
    const task = this.tasks.get(service);
    if (task === undefined) return false;
    this.tasks.delete(service);
    this.finish(task, RecoveryState.CANCELLED, 'cancelled');
    this.arm();
    return true;
  }

  /** An operator asks for one attempt of a manual (or any waiting) recovery now. */
  async approve(service: string): Promise<RecoveryResult> {
    const task = this.tasks.get(service);
    if (task === undefined) throw new BusError(ErrorCode.NOT_FOUND, `no recovery of ${service} is active`);
    if (task.state === RecoveryState.IN_PROGRESS) throw new BusError(ErrorCode.CONFLICT, `the recovery of ${service} is in progress`);
    return this.attempt(task);
  }

  /** Runs one attempt now (tests, operators). */
  async execute(service: string): Promise<RecoveryResult> {
    return this.approve(service);
  }

  awaitingManual(): RecoveryTaskView[] {
    return [...this.tasks.values()].filter((t) => t.state === RecoveryState.AWAITING_MANUAL).map(view);
  }

  status(): { running: boolean; active: number; awaitingManual: number; services: RecoveryTaskView[]; history: RecoveryResult[]; healthChecks: string[] } {
    const services = [...this.tasks.values()].map(view);
    return {
      running: this.running,
      active: services.length,
      awaitingManual: services.filter((s) => s.state === RecoveryState.AWAITING_MANUAL).length,
      services,
      history: this.results.slice(-10),
      healthChecks: [...this.checks.keys()],
    };
  }

  history(): RecoveryResult[] {
    return [...this.results];
  }

  private isActive(service: string): boolean {
    return this.tasks.has(service);
  }

  private async attempt(task: Task): Promise<RecoveryResult> {
    task.state = RecoveryState.IN_PROGRESS;
    task.attempts++;
    task.lastAttemptAt = this.clock();
    task.dueAt = undefined;
    let passed = false;
    try {
      passed = (await this.runCheck(task.service)) === true;
      if (!passed) task.lastError = 'health check returned false';
    } catch (error) {
      task.lastError = error instanceof Error ? error.message : String(error);
    }
    if (this.tasks.get(task.service) !== task) return this.last(task.service) ?? { service: task.service, state: RecoveryState.CANCELLED, attempts: task.attempts, at: this.clock(), reason: 'cancelled' };
    if (passed) {
      this.breakers.get(task.service)?.reset();
      this.tasks.delete(task.service);
      const result = this.finish(task, RecoveryState.SUCCEEDED, 'health check passed; breaker closed');
      this.arm();
      return result;
    }
    if (task.strategy === RecoveryStrategy.MANUAL) {
      task.state = RecoveryState.AWAITING_MANUAL;
      return this.record(task, RecoveryState.AWAITING_MANUAL, task.lastError ?? 'health check failed');
    }
    if (task.attempts >= task.policy.maxRetryAttempts) {
      this.tasks.delete(task.service);
      const result = this.finish(task, RecoveryState.FAILED, `health check failed ${task.attempts} times: ${task.lastError ?? ''}`);
      this.arm();
      return result;
    }
    task.state = RecoveryState.SCHEDULED;
    task.dueAt = this.clock() + recoveryDelayMs(task.strategy, task.attempts + 1, task.policy);
    this.arm();
    return this.record(task, RecoveryState.SCHEDULED, task.lastError ?? 'health check failed');
  }

  private runCheck(service: string): Promise<boolean> {
    const check = this.checks.get(service)!;
    return new Promise<boolean>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`health check of ${service} did not answer within ${this.checkTimeoutMs} ms`)), this.checkTimeoutMs);
      timer.unref();
      Promise.resolve()
        .then(check)
        .then(
          (ok) => {
            clearTimeout(timer);
            resolve(ok);
          },
          (error: unknown) => {
            clearTimeout(timer);
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
    });
  }

  /** One timer, for the earliest due task; due tasks run lowest priority number first. */
  private arm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.running) return;
    let next = Infinity;
    for (const t of this.tasks.values()) if (t.state === RecoveryState.SCHEDULED && t.dueAt !== undefined && t.dueAt < next) next = t.dueAt;
    if (next === Infinity) return;
    this.timer = setTimeout(() => void this.runDue(), Math.max(0, Math.min(next - this.clock(), 2_147_483_647)));
    this.timer.unref();
  }

  private async runDue(): Promise<void> {
    this.timer = undefined;
    const now = this.clock();
    const due = [...this.tasks.values()].filter((t) => t.state === RecoveryState.SCHEDULED && t.dueAt !== undefined && t.dueAt <= now).sort((a, b) => a.priority - b.priority);
    for (const task of due) if (this.running && this.tasks.get(task.service) === task) await this.attempt(task);
    this.arm();
  }

  private finish(task: Task, state: RecoveryState, reason: string): RecoveryResult {
    task.state = state;
    return this.record(task, state, reason);
  }

  private record(task: Task, state: RecoveryState, reason: string): RecoveryResult {
    const result = { service: task.service, state, attempts: task.attempts, at: this.clock(), reason };
    this.results.push(result);
    if (this.results.length > this.historySize) this.results.shift();
    return result;
  }

  private last(service: string): RecoveryResult | undefined {
    for (let i = this.results.length - 1; i >= 0; i--) if (this.results[i]!.service === service) return this.results[i];
    return undefined;
  }
}

function view(t: Task): RecoveryTaskView {
  return {
    service: t.service,
    state: t.state,
    strategy: t.strategy,
    priority: t.priority,
    attempts: t.attempts,
    maxAttempts: t.policy.maxRetryAttempts,
    scheduledAt: t.scheduledAt,
    lastAttemptAt: t.lastAttemptAt,
    nextAttemptAt: t.dueAt,
    lastError: t.lastError,
  };
}
