import { BusError, ErrorCode } from '../errors.js';
import { Breaker, BreakerState, checkBreakerOptions, type BreakerListener, type BreakerOptions, type BreakerSnapshot, type DependencyClass } from './breaker.js';

/** A breaker owned elsewhere (e.g. the OPA engine's cockatiel policy), reported but not driven. */
export interface ExternalBreaker {
  readonly name: string;
  readonly dependencyClass: DependencyClass;
  state(): BreakerState;
}

export interface BreakerRegistryOptions {
  /** Defaults for every breaker (failMax 5, resetMs 30,000). */
  defaults?: BreakerOptions;
  /** Per-dependency overrides, by breaker name (e.g. { 'redis-cache': { failMax: 3, resetMs: 5000 } }). */
  dependencies?: Readonly<Record<string, BreakerOptions>>;
  /** Most subscriber breakers kept (one per push-subscribed agent; default 100,000). */
  maxSubscriberBreakers?: number;
  clock?: () => number;
}

/**
 * The named breakers of one bus. Dependency breakers (policy, Redis, journal, ...) count towards
 * health; subscriber breakers (one per push handler) are kept apart: a user's failing handler
 * pauses that agent's delivery, it does not make the bus unhealthy.
 */
export class BreakerRegistry {
  private readonly breakers = new Map<string, Breaker>();
  private readonly external = new Map<string, ExternalBreaker>();
  private readonly subscribers = new Map<string, Breaker>();
  private readonly listeners: BreakerListener[] = [];
  private readonly defaults: Required<BreakerOptions>;
  private readonly overrides: Readonly<Record<string, BreakerOptions>>;
  private readonly maxSubscribers: number;
  readonly clock: () => number;
  /** Subscriber breakers refused because maxSubscriberBreakers was reached (those subscribers run unguarded). */
  subscriberOverflow = 0;

  constructor(options: BreakerRegistryOptions = {}) {
    this.defaults = checkBreakerOptions('breakers.defaults', options.defaults);
    this.overrides = { ...options.dependencies };
    for (const [name, o] of Object.entries(this.overrides)) checkBreakerOptions(`breakers.dependencies.${name}`, { ...this.defaults, ...o });
    this.maxSubscribers = options.maxSubscriberBreakers ?? 100_000;
    this.clock = options.clock ?? Date.now;
  }

  /** The breaker named `name`, created on first use with the configured options for that name. */
  breaker(name: string, dependencyClass: DependencyClass, options?: BreakerOptions): Breaker {
    let breaker = this.breakers.get(name);
    if (breaker !== undefined) return breaker;
    if (this.external.has(name)) throw new BusError(ErrorCode.CONFLICT, `breaker ${name} is already registered as an external breaker`);
    breaker = new Breaker(name, dependencyClass, { ...this.defaults, ...this.overrides[name], ...options }, this.clock, this.emit);
    this.breakers.set(name, breaker);
    return breaker;
  }

  /** Reports a breaker that something else drives (read on every health snapshot). */
  adopt(source: ExternalBreaker): void {
    if (this.breakers.has(source.name) || this.external.has(source.name)) throw new BusError(ErrorCode.CONFLICT, `a breaker named ${source.name} exists`);
    this.external.set(source.name, source);
  }

  /** A per-subscriber breaker, or undefined when the limit is reached. */
  subscriber(agentId: string, options?: BreakerOptions): Breaker | undefined {
    let breaker = this.subscribers.get(agentId);
    if (breaker !== undefined) return breaker;
    if (this.subscribers.size >= this.maxSubscribers) {
      this.subscriberOverflow++;
      return undefined;
    }
    breaker = new Breaker(`subscriber:${agentId}`, 'delivery', { ...this.defaults, ...this.overrides['subscriber'], ...options }, this.clock, this.emit);
    this.subscribers.set(agentId, breaker);
    return breaker;
  }

  removeSubscriber(agentId: string): void {
    this.subscribers.delete(agentId);
  }

  get(name: string): Breaker | undefined {
    return this.breakers.get(name) ?? (name.startsWith('subscriber:') ? this.subscribers.get(name.slice(11)) : undefined);
  }

  has(name: string): boolean {
    return this.breakers.has(name) || this.external.has(name) || this.get(name) !== undefined;
  }

  /** Dependency breakers (own and external) with their states: what health is scored over. */
  states(): Array<{ name: string; dependencyClass: DependencyClass; state: BreakerState }> {
    const out: Array<{ name: string; dependencyClass: DependencyClass; state: BreakerState }> = [];
    for (const b of this.breakers.values()) out.push({ name: b.name, dependencyClass: b.dependencyClass, state: b.state });
    for (const e of this.external.values()) {
      let state: BreakerState;
      try {
        state = e.state();
      } catch {
        state = BreakerState.OPEN;
      }
      out.push({ name: e.name, dependencyClass: e.dependencyClass, state });
    }
    return out;
  }

  snapshots(): BreakerSnapshot[] {
    return [...this.breakers.values()].map((b) => b.snapshot());
  }

  /** Subscribers whose breaker is not closed (paused or on trial). */
  pausedSubscribers(): BreakerSnapshot[] {
    const out: BreakerSnapshot[] = [];
    for (const b of this.subscribers.values()) if (!b.isClosed) out.push(b.snapshot());
    return out;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  onStateChange(listener: BreakerListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  private readonly emit: BreakerListener = (breaker, from, to) => {
    for (const listener of this.listeners) {
      try {
        listener(breaker, from, to);
      } catch {
        // A listener's failure is its own.
      }
    }
  };
}
