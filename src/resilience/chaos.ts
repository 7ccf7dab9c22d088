import { BusError, ErrorCode } from '../errors.js';
import type { BreakerRegistry } from './registry.js';

/**
 * Fault injection at the resilience wrappers. Off unless configured (`chaos: { enabled: true }`),
 * refused under NODE_ENV=production unless `allowInProduction` is also set. Every scenario names
 * its target and its blast radius (the targets it may touch, default just the target), runs for
 * at most 300 s, and ends on its own (one unref'd timer per scenario, not per call). An emergency
 * stop ends everything and refuses new scenarios until reset().
 *
 * Targets are wrapper names: 'policy', 'journal', 'redis-cache', 'deliberation-store',
 * 'impact-model', 'notify:<channel>', 'handler:<agentId>', or any breaker name for breaker_open,
 * or an outage target registered with registerOutage().
 */

export const ChaosKind = {
  LATENCY: 'latency',
  ERROR: 'error',
  BREAKER_OPEN: 'breaker_open',
  HANDLER_HANG: 'handler_hang',
  OUTAGE: 'outage',
} as const;
export type ChaosKind = (typeof ChaosKind)[keyof typeof ChaosKind];

export const MAX_CHAOS_DURATION_MS = 300_000;

export interface ChaosOptions {
  /** Chaos is refused unless this is true. */
  enabled?: boolean;
  /** Also needed when NODE_ENV is 'production'. */
  allowInProduction?: boolean;
  /** Longest scenario (default and ceiling 300,000 ms). */
  maxDurationMs?: number;
  /** Most scenarios active at once (default 32). */
  maxActive?: number;
  /** For error-rate draws (default Math.random). */
  random?: () => number;
  clock?: () => number;
}

export interface ChaosScenarioSpec {
  kind: ChaosKind;
  target: string;
  /** Default: a name built from kind and target. Names are unique among active scenarios. */
  name?: string;
  /** Capped at maxDurationMs. */
  durationMs: number;
  /** latency: added delay per call. */
  delayMs?: number;
  /** error: probability in [0, 1] that a call fails (default 1). */
  errorRate?: number;
  /** Targets this scenario may affect (default [target]). */
  blastRadius?: readonly string[];
}

export interface ChaosScenario {
  readonly name: string;
  readonly kind: ChaosKind;
  readonly target: string;
  readonly blastRadius: readonly string[];
  readonly delayMs: number;
  readonly errorRate: number;
  readonly startedAt: number;
  readonly endsAt: number;
  /** True when the requested duration was cut to maxDurationMs. */
  readonly capped: boolean;
}

/** Stops and restarts a real dependency (e.g. the redis-server process a test started). */
export interface OutageController {
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface ChaosStats {
  enabled: boolean;
  emergencyStopped: boolean;
  active: ChaosScenario[];
  scenariosRun: number;
  latencyInjectedMs: number;
  errorsInjected: number;
  breakersForced: number;
  hangsInjected: number;
  outages: number;
  outageErrors: number;
}

interface Active extends ChaosScenario {
  readonly radius: ReadonlySet<string>;
  timer: NodeJS.Timeout | undefined;
}

/** The error injected calls fail with. */
export class ChaosError extends Error {
  constructor(readonly target: string, readonly scenario: string) {
    super(`chaos: injected failure at ${target} (scenario ${scenario})`);
    this.name = 'ChaosError';
  }
}

export function chaosAllowed(options: ChaosOptions | undefined, env: string | undefined = process.env['NODE_ENV']): { ok: true } | { ok: false; reason: string } {
  if (options?.enabled !== true) return { ok: false, reason: 'chaos is not enabled (configure chaos: { enabled: true })' };
  if (env === 'production' && options.allowInProduction !== true) return { ok: false, reason: 'chaos is refused when NODE_ENV=production unless chaos.allowInProduction is also set' };
  return { ok: true };
}

export class ChaosEngine {
  /** True while any scenario is active: the one check wrappers make per call. */
  armed = false;
  readonly enabled: boolean;
  private readonly disabledReason: string | undefined;
  private readonly maxDurationMs: number;
  private readonly maxActive: number;
  private readonly random: () => number;
  private readonly clock: () => number;
  private readonly active = new Map<string, Active>();
  private readonly outages = new Map<string, OutageController>();
  private stopped = false;
  private readonly counters = { scenariosRun: 0, latencyInjectedMs: 0, errorsInjected: 0, breakersForced: 0, hangsInjected: 0, outages: 0, outageErrors: 0 };

  constructor(
    options: ChaosOptions | undefined,
    private readonly breakers: BreakerRegistry | undefined,
  ) {
    const allowed = chaosAllowed(options);
    this.enabled = allowed.ok;
    this.disabledReason = allowed.ok ? undefined : allowed.reason;
    const max = options?.maxDurationMs ?? MAX_CHAOS_DURATION_MS;
    if (!(max > 0)) throw new BusError(ErrorCode.INVALID_OPTIONS, 'chaos.maxDurationMs must be positive');
    this.maxDurationMs = Math.min(max, MAX_CHAOS_DURATION_MS);
    this.maxActive = options?.maxActive ?? 32;
    this.random = options?.random ?? Math.random;
    this.clock = options?.clock ?? Date.now;
  }

  get emergencyStopped(): boolean {
    return this.stopped;
  }

  /** Names a dependency that an outage scenario may stop and restart. */
  registerOutage(target: string, controller: OutageController): () => void {
    this.outages.set(target, controller);
    return () => {
      if (this.outages.get(target) === controller) this.outages.delete(target);
    };
  }

  /** Starts a scenario. Throws BusError CHAOS_DISABLED / CHAOS_STOPPED / INVALID_ARGUMENT / CONFLICT. */
  async inject(spec: ChaosScenarioSpec): Promise<ChaosScenario> {
    if (!this.enabled) throw new BusError(ErrorCode.CHAOS_DISABLED, this.disabledReason!);
    if (this.stopped) throw new BusError(ErrorCode.CHAOS_STOPPED, 'chaos emergency stop is in force; reset it first');
    const scenario = this.validate(spec);
    if (this.active.has(scenario.name)) throw new BusError(ErrorCode.CONFLICT, `chaos scenario ${scenario.name} is already active`);
    if (this.active.size >= this.maxActive) throw new BusError(ErrorCode.CONFLICT, `at most ${this.maxActive} chaos scenarios may be active`);
    if (scenario.kind === ChaosKind.BREAKER_OPEN) {
      const breaker = this.breakers?.get(scenario.target);
      if (breaker === undefined) throw new BusError(ErrorCode.NOT_FOUND, `no breaker named ${scenario.target}`);
      breaker.forceOpen(scenario.endsAt);
      this.counters.breakersForced++;
    }
    if (scenario.kind === ChaosKind.OUTAGE) {
      const controller = this.outages.get(scenario.target);
      if (controller === undefined) throw new BusError(ErrorCode.NOT_FOUND, `no outage controller registered for ${scenario.target}`);
      this.active.set(scenario.name, scenario);
      this.counters.outages++;
      try {
        await controller.stop();
      } catch (error) {
        this.active.delete(scenario.name);
        this.counters.outageErrors++;
        throw new BusError(ErrorCode.INTERNAL, `chaos outage of ${scenario.target} could not stop it: ${String(error)}`, { cause: error });
      }
    }
    this.active.set(scenario.name, scenario);
    this.counters.scenariosRun++;
    scenario.timer = setTimeout(() => void this.deactivate(scenario.name), scenario.endsAt - this.clock());
    scenario.timer.unref();
    this.armed = true;
    return this.view(scenario);
  }

  injectLatency(target: string, delayMs: number, durationMs: number, blastRadius?: readonly string[]): Promise<ChaosScenario> {
    return this.inject({ kind: ChaosKind.LATENCY, target, delayMs, durationMs, blastRadius });
  }

  injectErrors(target: string, errorRate: number, durationMs: number, blastRadius?: readonly string[]): Promise<ChaosScenario> {
    return this.inject({ kind: ChaosKind.ERROR, target, errorRate, durationMs, blastRadius });
  }

  forceOpen(breakerName: string, durationMs: number): Promise<ChaosScenario> {
    return this.inject({ kind: ChaosKind.BREAKER_OPEN, target: breakerName, durationMs });
  }

  hangHandler(agentId: string, durationMs: number): Promise<ChaosScenario> {
    return this.inject({ kind: ChaosKind.HANDLER_HANG, target: `handler:${agentId}`, durationMs });
  }

  outage(target: string, durationMs: number): Promise<ChaosScenario> {
    return this.inject({ kind: ChaosKind.OUTAGE, target, durationMs });
  }

  /** Ends one scenario (idempotent); restores what it changed. */
  async deactivate(name: string): Promise<boolean> {
    const scenario = this.active.get(name);
    if (scenario === undefined) return false;
    this.active.delete(name);
    if (scenario.timer !== undefined) clearTimeout(scenario.timer);
    this.armed = this.active.size > 0;
    if (scenario.kind === ChaosKind.BREAKER_OPEN) this.breakers?.get(scenario.target)?.reset();
    if (scenario.kind === ChaosKind.OUTAGE) {
      try {
        await this.outages.get(scenario.target)?.start();
      } catch {
        this.counters.outageErrors++;
      }
    }
    return true;
  }

  /** Ends every scenario and refuses new ones until reset(). */
  async emergencyStop(): Promise<number> {
    this.stopped = true;
    return this.deactivateAll();
  }

  reset(): void {
    this.stopped = false;
  }

  /** Ends every scenario (bus stop, test cleanup). */
  async deactivateAll(): Promise<number> {
    const names = [...this.active.keys()];
    for (const name of names) await this.deactivate(name);
    return names.length;
  }

  // ---- asked by the wrappers (only while armed) ---------------------------------------------

  /** Milliseconds of latency to add to a call at `target` (0 for none). */
  latencyFor(target: string): number {
    let delay = 0;
    for (const s of this.active.values()) if (s.kind === ChaosKind.LATENCY && s.radius.has(target)) delay = Math.max(delay, s.delayMs);
    if (delay > 0) this.counters.latencyInjectedMs += delay;
    return delay;
  }

  /** The error a call at `target` must fail with, or undefined. */
  errorFor(target: string): ChaosError | undefined {
    for (const s of this.active.values()) {
      if (s.kind === ChaosKind.ERROR && s.radius.has(target) && (s.errorRate >= 1 || this.random() < s.errorRate)) {
        this.counters.errorsInjected++;
        return new ChaosError(target, s.name);
      }
    }
    return undefined;
  }

  /** Whether a handler call at `target` ('handler:<agentId>') must hang. */
  hangs(target: string): boolean {
    for (const s of this.active.values()) {
      if (s.kind === ChaosKind.HANDLER_HANG && s.radius.has(target)) {
        this.counters.hangsInjected++;
        return true;
      }
    }
    return false;
  }

  /** Latency and error for one call, as a promise only when something is injected. */
  perturb(target: string): Promise<void> | undefined {
    const delay = this.latencyFor(target);
    const error = this.errorFor(target);
    if (delay === 0) return error === undefined ? undefined : Promise.reject(error);
    // Not unref'd: a delayed call is pending work, as a slow dependency's socket would be.
    return new Promise((resolve, reject) => {
      setTimeout(() => (error === undefined ? resolve() : reject(error)), delay);
    });
  }

  stats(): ChaosStats {
    return { enabled: this.enabled, emergencyStopped: this.stopped, active: [...this.active.values()].map((s) => this.view(s)), ...this.counters };
  }

  private validate(spec: ChaosScenarioSpec): Active {
    const bad = (message: string) => new BusError(ErrorCode.INVALID_ARGUMENT, `chaos: ${message}`);
    if (typeof spec !== 'object' || spec === null) throw bad('a scenario must be an object');
    if (!Object.values(ChaosKind).includes(spec.kind)) throw bad(`kind must be one of ${Object.values(ChaosKind).join(', ')}`);
    if (typeof spec.target !== 'string' || spec.target === '' || spec.target.length > 200) throw bad('target must be a non-empty string');
    if (!(typeof spec.durationMs === 'number' && spec.durationMs > 0 && Number.isFinite(spec.durationMs))) throw bad('durationMs must be a positive number');
    const errorRate = spec.errorRate ?? 1;
    if (!(typeof errorRate === 'number' && errorRate >= 0 && errorRate <= 1)) throw bad('errorRate must be within [0, 1]');
    const delayMs = spec.delayMs ?? 0;
    if (!(typeof delayMs === 'number' && delayMs >= 0 && delayMs <= 60_000)) throw bad('delayMs must be within [0, 60000]');
    if (spec.kind === ChaosKind.LATENCY && delayMs === 0) throw bad('a latency scenario needs delayMs > 0');
    const radius = spec.blastRadius === undefined || spec.blastRadius.length === 0 ? [spec.target] : [...spec.blastRadius];
    if (radius.length > 64 || !radius.every((t) => typeof t === 'string' && t !== '')) throw bad('blastRadius must be at most 64 non-empty target names');
    if (!radius.includes(spec.target)) radius.unshift(spec.target);
    const name = spec.name ?? `${spec.kind}:${spec.target}`;
    if (typeof name !== 'string' || name === '' || name.length > 200) throw bad('name must be a non-empty string');
    const capped = spec.durationMs > this.maxDurationMs;
    const startedAt = this.clock();
    return {
      name,
      kind: spec.kind,
      target: spec.target,
      blastRadius: radius,
      radius: new Set(radius),
      delayMs,
      errorRate,
      startedAt,
      endsAt: startedAt + Math.min(spec.durationMs, this.maxDurationMs),
      capped,
      timer: undefined,
    };
  }

  private view(s: Active): ChaosScenario {
    return { name: s.name, kind: s.kind, target: s.target, blastRadius: s.blastRadius, delayMs: s.delayMs, errorRate: s.errorRate, startedAt: s.startedAt, endsAt: s.endsAt, capped: s.capped };
  }
}
