import { RejectionCode } from '../errors.js';
import type { DecisionRecord, DecisionSink } from '../bus.js';
import type { DeliberationItem } from '../deliberation/types.js';
import type { DeliberationStore } from '../deliberation/store/types.js';
import type { Notification, NotificationChannel } from '../deliberation/notifications/types.js';
import type { GovernanceContext, GovernanceStage } from '../governance/stage.js';
import { isThenable, reject, type Verdict } from '../governance/verdict.js';
import type { TextModel } from '../impact/text-model.js';
import type { AgentMessage } from '../message/schema.js';
import type { RedisTierClient } from '../policy/cache.js';
import { BreakerState, type Breaker } from './breaker.js';
import type { ChaosEngine } from './chaos.js';

/**
 * The wrappers that put a breaker (and the chaos engine's injection point) around each dependency.
 * Each one states what the caller sees while the breaker is open:
 * - governance (policy stage, impact model, deliberation store, journal): the message is refused;
 * - observability (decision-cache Redis tier): the call is skipped and counted;
 * - delivery (notification channels): the call fails and the caller's retry queue keeps the work.
 * With the breaker closed and no chaos armed, a wrapper adds one property read and one branch.
 */

export interface GuardCounters {
  /** Calls refused by the open breaker. */
  shortCircuited: number;
  /** Calls the chaos engine failed or delayed. */
  chaosInjected: number;
}

const NOT_CONNECTED = new Error('redis client not connected');

/** Chaos latency/error for a synchronous call site: only errors can be injected synchronously. */
function syncChaos(chaos: ChaosEngine | undefined, target: string): Error | undefined {
  return chaos !== undefined && chaos.armed ? chaos.errorFor(target) : undefined;
}

/**
 * The policy stage behind a breaker. POLICY_UNAVAILABLE verdicts (engine error, deadline, the
 * engine's own breaker) count as failures; while the breaker is open every message is refused with
 * POLICY_UNAVAILABLE without asking the engine (fail-closed). Chaos errors become POLICY_UNAVAILABLE.
 */
export function guardPolicyStage(stage: GovernanceStage, breaker: Breaker, chaos: ChaosEngine | undefined, target = 'policy'): GovernanceStage & { counters: GuardCounters } {
  const counters: GuardCounters = { shortCircuited: 0, chaosInjected: 0 };
  const openVerdict = reject(RejectionCode.POLICY_UNAVAILABLE, `policy engine unavailable: circuit breaker ${breaker.name} is open (fail-closed)`, { breaker: breaker.name });
  const record = (verdict: Verdict): Verdict => {
    if (verdict.kind === 'reject' && verdict.code === RejectionCode.POLICY_UNAVAILABLE) breaker.failure(verdict.reason);
    else breaker.success();
    return verdict;
  };
  const injected = (error: Error): Verdict => {
    counters.chaosInjected++;
    breaker.failure(error);
    return reject(RejectionCode.POLICY_UNAVAILABLE, `policy engine unavailable (error): ${error.message}`, { kind: 'error', chaos: true });
  };
  const evaluate = (message: AgentMessage, ctx: GovernanceContext): Verdict | PromiseLike<Verdict> => {
    if (!breaker.allow()) {
      counters.shortCircuited++;
      return openVerdict;
    }
    if (chaos !== undefined && chaos.armed) {
      const perturbed = chaos.perturb(target);
      if (perturbed !== undefined) {
        counters.chaosInjected++;
        return perturbed.then(
          () => {
            const v = stage.evaluate(message, ctx);
            return isThenable(v) ? Promise.resolve(v).then(record) : record(v);
          },
          (error: Error) => injected(error),
        );
      }
    }
    let verdict: Verdict | PromiseLike<Verdict>;
    try {
      verdict = stage.evaluate(message, ctx);
    } catch (error) {
      breaker.failure(error);
      throw error;
    }
    if (isThenable(verdict)) {
      return Promise.resolve(verdict).then(record, (error: unknown) => {
        breaker.failure(error);
        throw error;
      });
    }
    return record(verdict);
  };
  return { name: stage.name, evaluate, counters };
}

/**
 * The decision journal behind a breaker. A throwing append counts as a failure; while open,
 * `writable` is false, so the bus refuses new messages with BACKPRESSURE rather than accept
 * messages it cannot record (governance: fail-closed). Refused appends are counted.
 */
export function guardJournal(sink: DecisionSink, breaker: Breaker, chaos: ChaosEngine | undefined, target = 'journal'): DecisionSink & { counters: GuardCounters & { lost: number } } {
  const counters = { shortCircuited: 0, chaosInjected: 0, lost: 0 };
  const guarded: DecisionSink & { counters: typeof counters } = {
    counters,
    get writable(): boolean {
      return sink.writable !== false && (breaker.isClosed || breaker.state !== BreakerState.OPEN);
    },
    append(record: DecisionRecord): boolean {
      if (!breaker.allow()) {
        counters.shortCircuited++;
        counters.lost++;
        return false;
      }
      const injected = syncChaos(chaos, target);
      if (injected !== undefined) {
        counters.chaosInjected++;
        counters.lost++;
        breaker.failure(injected);
        return false;
      }
      try {
        const ok = sink.append(record);
        breaker.success();
        if (!ok) counters.lost++;
        return ok;
      } catch (error) {
        counters.lost++;
        breaker.failure(error);
        return false;
      }
    },
  };
  if (sink.flush !== undefined) guarded.flush = () => sink.flush!();
  return guarded;
}

/**
 * The decision cache's Redis tier behind a breaker (observability: a failure only costs a cache
 * miss). While open, `isReady` is false: the cache skips Redis and counts the skip as a Redis error.
 */
export function guardRedisTier(client: RedisTierClient, breaker: Breaker, chaos: ChaosEngine | undefined, target = 'redis-cache'): RedisTierClient & { counters: GuardCounters } {
  const counters: GuardCounters = { shortCircuited: 0, chaosInjected: 0 };
  const call = <T>(fn: () => Promise<T>): Promise<T> => {
    if (chaos !== undefined && chaos.armed) {
      const perturbed = chaos.perturb(target);
      if (perturbed !== undefined) {
        counters.chaosInjected++;
        return breaker.execute(() => perturbed.then(fn));
      }
    }
    return breaker.execute(fn);
  };
  return {
    counters,
    get isReady(): boolean {
      if (!breaker.isClosed && breaker.state === BreakerState.OPEN) {
        counters.shortCircuited++;
        return false;
      }
      // A disconnected client is a failure of the dependency, so an outage opens the breaker.
      if (!client.isReady) {
        breaker.failure(NOT_CONNECTED);
        return false;
      }
      return true;
    },
    get: (key) => call(() => client.get(key)),
    set: (key, value, options) => call(() => client.set(key, value, options)),
  };
}

/**
 * A deliberation store behind a breaker (governance: a hold that cannot be stored is refused, so
 * the message is refused). Reads and loads pass through; writes are guarded.
 */
export function guardDeliberationStore(store: DeliberationStore, breaker: Breaker, chaos: ChaosEngine | undefined, target = 'deliberation-store'): DeliberationStore {
  const guarded: DeliberationStore = {
    kind: store.kind,
    shared: store.shared,
    load: () => store.load(),
    write(item: DeliberationItem): boolean | Promise<boolean> {
      if (!breaker.allow()) throw breaker.openError;
      if (chaos !== undefined && chaos.armed) {
        const perturbed = chaos.perturb(target);
        if (perturbed !== undefined) {
          return perturbed.then(
            () => store.write(item),
            (error: unknown) => {
              breaker.failure(error);
              throw error;
            },
          );
        }
      }
      let result: boolean | Promise<boolean>;
      try {
        result = store.write(item);
      } catch (error) {
        breaker.failure(error);
        throw error;
      }
      if (typeof result === 'boolean') {
        breaker.success();
        return result;
      }
      return result.then(
        (ok) => {
          breaker.success();
          return ok;
        },
        (error: unknown) => {
          breaker.failure(error);
          throw error;
        },
      );
    },
    stats: () => ({ ...store.stats(), breaker: breaker.state }),
    close: () => store.close(),
  };
  if (store.read !== undefined) guarded.read = (id) => store.read!(id);
  if (store.needsCompaction !== undefined) guarded.needsCompaction = (n) => store.needsCompaction!(n);
  if (store.compact !== undefined) guarded.compact = (items) => store.compact!(items);
  return guarded;
}

/**
 * A notification channel behind a breaker (delivery: while open, sends fail fast and the
 * dispatcher's retry queue keeps the notification until the channel is back or retries run out).
 */
export function guardChannel(channel: NotificationChannel, breaker: Breaker, chaos: ChaosEngine | undefined, target = `notify:${channel.name}`): NotificationChannel {
  return {
    name: channel.name,
    send(notification: Notification, signal: AbortSignal): Promise<void> {
      if (chaos !== undefined && chaos.armed) {
        const perturbed = chaos.perturb(target);
        if (perturbed !== undefined) return breaker.execute(() => perturbed.then(() => channel.send(notification, signal)));
      }
      return breaker.execute(() => channel.send(notification, signal));
    },
  };
}

/**
 * A (slow, remote or off-thread) impact model behind a breaker. While open: the fallback model
 * answers (counted), or, without a fallback, predict throws and the impact stage refuses the message
 * (STAGE_FAILED, fail-closed).
 */
export function guardTextModel(model: TextModel, breaker: Breaker, chaos: ChaosEngine | undefined, fallback?: TextModel, target = 'impact-model'): TextModel & { counters: GuardCounters & { fallbacks: number } } {
  const counters = { shortCircuited: 0, chaosInjected: 0, fallbacks: 0 };
  const onFailure = (text: string, error: unknown): number | PromiseLike<number> => {
    breaker.failure(error);
    if (fallback === undefined) throw error;
    counters.fallbacks++;
    return fallback.predict(text);
  };
  return {
    name: model.name,
    counters,
    predict(text: string): number | PromiseLike<number> {
      if (!breaker.allow()) {
        counters.shortCircuited++;
        if (fallback === undefined) throw breaker.openError;
        counters.fallbacks++;
        return fallback.predict(text);
      }
      if (chaos !== undefined && chaos.armed) {
        const perturbed = chaos.perturb(target);
        if (perturbed !== undefined) {
          counters.chaosInjected++;
          return perturbed.then(
            () => model.predict(text),
            (error: unknown) => onFailure(text, error),
          );
        }
      }
      let p: number | PromiseLike<number>;
      try {
        p = model.predict(text);
      } catch (error) {
        return onFailure(text, error);
      }
      if (!isThenable(p)) {
        breaker.success();
        return p;
      }
      return Promise.resolve(p).then(
        (value) => {
          breaker.success();
          return value;
        },
        (error: unknown) => onFailure(text, error),
      );
    },
  };
}
