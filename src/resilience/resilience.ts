import { BusError, ErrorCode } from '../errors.js';
import type { DecisionSink } from '../bus.js';
import type { DeliberationStore } from '../deliberation/store/types.js';
import type { NotificationChannel } from '../deliberation/notifications/types.js';
import type { GovernanceStage } from '../governance/stage.js';
import type { TextModel } from '../impact/text-model.js';
import type { RedisTierClient } from '../policy/cache.js';
import { DependencyClass, type BreakerOptions } from './breaker.js';
import { ChaosEngine, type ChaosOptions } from './chaos.js';
import { guardChannel, guardDeliberationStore, guardJournal, guardPolicyStage, guardRedisTier, guardTextModel } from './guards.js';
import { HealthAggregator, type HealthOptions, type HealthSnapshot } from './health.js';
import { BreakerRegistry, type BreakerRegistryOptions } from './registry.js';
import { RecoveryOrchestrator, type HealthCheck, type RecoveryOptions } from './recovery.js';
import { LoadShedder, type SheddingOptions } from './shedding.js';

export interface ResilienceOptions {
  /** Breaker defaults and per-dependency overrides (by breaker name). */
  breakers?: BreakerRegistryOptions;
  /** Per-subscriber breakers for push handlers (default { failMax 5, resetMs 30,000 }); false = none. */
  subscriberBreaker?: BreakerOptions | false;
  health?: HealthOptions;
  recovery?: RecoveryOptions;
  /** Load shedding (default on, with the defaults of SheddingOptions); false = off. */
  shedding?: SheddingOptions | false;
  /** Fault injection; refused unless { enabled: true }. */
  chaos?: ChaosOptions;
  clock?: () => number;
}

/** The names of the built-in dependency breakers. */
export const BreakerName = {
  POLICY: 'policy',
  JOURNAL: 'journal',
  REDIS_CACHE: 'redis-cache',
  DELIBERATION_STORE: 'deliberation-store',
  IMPACT_MODEL: 'impact-model',
} as const;

export interface HealthReport extends HealthSnapshot {
  breakerDetails: ReturnType<BreakerRegistry['snapshots']>;
  pausedSubscribers: ReturnType<BreakerRegistry['pausedSubscribers']>;
  shedding: ReturnType<LoadShedder['stats']> | undefined;
  recovery: ReturnType<RecoveryOrchestrator['status']>;
  chaos: { enabled: boolean; active: number; emergencyStopped: boolean };
}

/**
 * One bus's resilience: breakers, the health aggregator, the recovery orchestrator, the load
 * shedder and the chaos engine. Create it before the bus when you wrap your own dependencies
 * (`resilience.redisTier(client)` for the decision cache, `resilience.channel(ch)` for
 * notifications, ...) and pass it as `new AgentBus({ resilience })`; otherwise the bus makes one.
 */
export class Resilience {
  readonly breakers: BreakerRegistry;
  readonly health: HealthAggregator;
  readonly recovery: RecoveryOrchestrator;
  readonly shedder: LoadShedder | undefined;
  readonly chaos: ChaosEngine;
  readonly subscriberBreaker: BreakerOptions | false;
  private started = 0;

  constructor(options: ResilienceOptions = {}) {
    if (typeof options !== 'object' || options === null) throw new BusError(ErrorCode.INVALID_OPTIONS, 'resilience options must be an object');
    const clock = options.clock ?? Date.now;
    this.breakers = new BreakerRegistry({ ...options.breakers, clock });
    this.health = new HealthAggregator(this.breakers, options.health, clock);
    this.recovery = new RecoveryOrchestrator(this.breakers, options.recovery, clock);
    this.shedder = options.shedding === false ? undefined : new LoadShedder(options.shedding);
    this.chaos = new ChaosEngine({ clock, ...options.chaos }, this.breakers);
    this.subscriberBreaker = options.subscriberBreaker ?? {};
  }

  /** Starts timers (health snapshots, recovery, lag sampling). Counted: shared instances stop with their last user. */
  start(): void {
    if (this.started++ > 0) return;
    this.health.start();
    this.recovery.start();
    this.shedder?.start();
  }

  async stop(): Promise<void> {
    if (this.started === 0 || --this.started > 0) return;
    this.health.stop();
    this.recovery.stop();
    this.shedder?.stop();
    await this.chaos.deactivateAll();
  }

  // ---- wrappers: each creates (or reuses) the named breaker ------------------------------------

  policyStage(stage: GovernanceStage, options?: BreakerOptions): ReturnType<typeof guardPolicyStage> {
    return guardPolicyStage(stage, this.breakers.breaker(BreakerName.POLICY, DependencyClass.GOVERNANCE, options), this.chaos);
  }

  journal(sink: DecisionSink, options?: BreakerOptions): ReturnType<typeof guardJournal> {
    return guardJournal(sink, this.breakers.breaker(BreakerName.JOURNAL, DependencyClass.GOVERNANCE, options), this.chaos);
  }

  /** The decision cache's Redis tier: pass the result as `policy.cache.redis.client`. */
  redisTier(client: RedisTierClient, options?: BreakerOptions & { healthCheck?: HealthCheck }): ReturnType<typeof guardRedisTier> {
    const breaker = this.breakers.breaker(BreakerName.REDIS_CACHE, DependencyClass.OBSERVABILITY, options);
    if (options?.healthCheck !== undefined) this.recovery.registerHealthCheck(breaker.name, options.healthCheck);
    return guardRedisTier(client, breaker, this.chaos);
  }

  /** A deliberation store (Redis): pass the result as `deliberation.store`. */
  deliberationStore(store: DeliberationStore, options?: BreakerOptions & { healthCheck?: HealthCheck }): DeliberationStore {
    const breaker = this.breakers.breaker(BreakerName.DELIBERATION_STORE, DependencyClass.GOVERNANCE, options);
    if (options?.healthCheck !== undefined) this.recovery.registerHealthCheck(breaker.name, options.healthCheck);
    return guardDeliberationStore(store, breaker, this.chaos);
  }

  /** A notification channel: breaker `notify:<name>`. */
  channel(channel: NotificationChannel, options?: BreakerOptions): NotificationChannel {
    return guardChannel(channel, this.breakers.breaker(`notify:${channel.name}`, DependencyClass.DELIVERY, options), this.chaos);
  }

  /** A slow impact model (e.g. OffThreadModel), with an optional fallback answered while open. */
  textModel(model: TextModel, fallback?: TextModel, options?: BreakerOptions): ReturnType<typeof guardTextModel> {
    return guardTextModel(model, this.breakers.breaker(BreakerName.IMPACT_MODEL, DependencyClass.GOVERNANCE, options), this.chaos, fallback);
  }

  report(): HealthReport {
    const chaos = this.chaos.stats();
    return {
      ...this.health.current(),
      breakerDetails: this.breakers.snapshots(),
      pausedSubscribers: this.breakers.pausedSubscribers(),
      shedding: this.shedder?.stats(),
      recovery: this.recovery.status(),
      chaos: { enabled: chaos.enabled, active: chaos.active.length, emergencyStopped: chaos.emergencyStopped },
    };
  }
}
