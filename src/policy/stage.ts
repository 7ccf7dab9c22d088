import { RejectionCode } from '../errors.js';
import type { GovernanceContext, GovernanceStage } from '../governance/stage.js';
import { isThenable, PROCEED, reject, type Verdict } from '../governance/verdict.js';
import { BusError, ErrorCode } from '../errors.js';
import type { AgentMessage } from '../message/schema.js';
import { DecisionCache, type DecisionCacheOptions, type DecisionCacheStats } from './cache.js';
import type { ConstitutionManager } from './constitution.js';
import { decisionKey, FULL_PROFILE, NO_IDS_PROFILE, type KeyProfile } from './key.js';
import { DecisionKeyMemo } from './key-memo.js';
import { createRequestBuilder, createSituationCoder, type RequestBuilderOptions } from './request.js';
import { ShadowEvaluator, type ShadowOptions, type ShadowStats } from './shadow.js';
import {
  PolicyEngineError,
  PolicyFailureKind,
  type HashAuthority,
  type PolicyDecision,
  type PolicyEngine,
  type PolicyRequest,
} from './types.js';

/**
 * The 'policy' governance stage: builds the request, answers from the decision cache when it can,
 * otherwise asks the engine. Synchronous for cache hits and synchronous engines (Cedar); a promise
 * only for asynchronous engines (OPA). Fails closed (POLICY_UNAVAILABLE) unless `failMode: 'open'`,
 * in which case every fail-open is annotated, counted and reported through `onFailOpen`.
 */

export const FailMode = { CLOSED: 'closed', OPEN: 'open' } as const;
export type FailMode = (typeof FailMode)[keyof typeof FailMode];

/** What the stage leaves in `ctx.annotations.policy` (the bus journals it). */
export interface PolicyAnnotation {
  readonly decision: PolicyDecision | undefined;
  readonly cached: boolean;
  /** Present and true when the engine failed and the message passed because failMode is 'open'. */
  readonly failOpen?: true;
  readonly failure?: { readonly kind: PolicyFailureKind; readonly message: string };
}

export interface FailOpenEvent {
  readonly at: number;
  readonly messageId: string;
  readonly fromAgent: string;
  readonly tenantId: string;
  readonly messageType: string;
  readonly engine: string;
  readonly kind: PolicyFailureKind;
  readonly reason: string;
}

export interface PolicyStageOptions {
  /** The engine. Defaults to `constitution.engine`; one of the two is required. */
  engine?: PolicyEngine;
  /** Supplies the engine, the hash authority, and cache invalidation on rotation. */
  constitution?: ConstitutionManager;
  /** Decides `context.hashAccepted` (default: the constitution; without one, equality with CONSTITUTIONAL_HASH). */
  authority?: HashAuthority;
  /** A cache instance (shared or with Redis), options for a new one, or false for none. Default: new DecisionCache(). */
  cache?: DecisionCache | DecisionCacheOptions | false;
  /** Default 'closed'. */
  failMode?: FailMode;
  onFailOpen?: (event: FailOpenEvent) => void;
  /** Deadline for asynchronous engines that do not enforce their own (default 1,000 ms). */
  timeoutMs?: number;
  request?: RequestBuilderOptions;
  /** Candidate engine evaluated beside the active one, never enforced. */
  shadow?: ShadowOptions;
}

export interface PolicyStageStats {
  decisions: number;
  allowed: number;
  denied: number;
  unavailable: number;
  failOpen: number;
  cache: DecisionCacheStats | undefined;
  shadow: ShadowStats | undefined;
}

export interface PolicyStage extends GovernanceStage {
  readonly name: 'policy';
  /** A Verdict for cache hits and synchronous engines; a Promise only for asynchronous engines. */
  evaluate(message: AgentMessage, ctx: GovernanceContext): Verdict | Promise<Verdict>;
  readonly cache: DecisionCache | undefined;
  readonly shadow: ShadowEvaluator | undefined;
  stats(): PolicyStageStats;
  /** Stops listening for rotations, stops the shadow, closes a cache the stage created. Engines stay open. */
  close(): Promise<void>;
}

export function createPolicyStage(options: PolicyStageOptions): PolicyStage {
  const engine = options.engine ?? options.constitution?.engine;
  if (engine === undefined) throw new BusError(ErrorCode.INVALID_OPTIONS, 'createPolicyStage: an engine or a constitution is required');
  const failMode = options.failMode ?? FailMode.CLOSED;
  if (failMode !== FailMode.CLOSED && failMode !== FailMode.OPEN) {
    throw new BusError(ErrorCode.INVALID_OPTIONS, `createPolicyStage: failMode must be 'closed' or 'open'`);
  }
  const authority = options.authority ?? options.constitution;
  const ownsCache = !(options.cache instanceof DecisionCache) && options.cache !== false;
  const cache = options.cache === false ? undefined : options.cache instanceof DecisionCache ? options.cache : new DecisionCache(options.cache ?? {});
  const readRemote = cache !== undefined && cache.hasRemote && engine.synchronous !== true;
  const timeoutMs = options.timeoutMs ?? 1_000;
  const onFailOpen = options.onFailOpen;
  const build = createRequestBuilder(options.request);
  const shadow = options.shadow === undefined ? undefined : new ShadowEvaluator(options.shadow);
  // Keys found without building the request: only useful with a cache, and only when nothing else
  // (the shadow) needs the request of a hit.
  const keys = cache !== undefined && shadow === undefined ? new DecisionKeyMemo() : undefined;
  const situation = createSituationCoder(options.request);
  // Engine facts are read once and refreshed on bundle change, so the send path reads locals only.
  const profileOf = (): KeyProfile => engine.keyProfile ?? (engine.usesEntityIds === false ? NO_IDS_PROFILE : FULL_PROFILE);
  const engineName = engine.name;
  let bundleHash = engine.bundleHash ?? '';
  let profile = profileOf();
  const refresh = (): void => {
    bundleHash = engine.bundleHash ?? '';
    profile = profileOf();
    cache?.clear();
    keys?.clear();
  };
  const unsubscribes: (() => void)[] = [];
  if (engine.onBundleChange !== undefined) unsubscribes.push(engine.onBundleChange(refresh));
  else if (options.constitution !== undefined) {
    unsubscribes.push(
      options.constitution.onChange((event) => {
        if (event.type === 'activated') refresh();
      }),
    );
  }
  const counters = { decisions: 0, allowed: 0, denied: 0, unavailable: 0, failOpen: 0 };
  const annotationsFor = new WeakMap<PolicyDecision, PolicyAnnotation>();
  const denials = new WeakMap<PolicyDecision, Verdict>();

  function cachedAnnotation(decision: PolicyDecision): PolicyAnnotation {
    let a = annotationsFor.get(decision);
    if (a === undefined) annotationsFor.set(decision, (a = Object.freeze({ decision, cached: true })));
    return a;
  }

  function verdictOf(decision: PolicyDecision): Verdict {
    counters.decisions++;
    if (decision.allow) {
      counters.allowed++;
      return PROCEED;
    }
    counters.denied++;
    let v = denials.get(decision);
    if (v === undefined) {
      const reason =
        decision.policyIds.length > 0 ? `denied by policy ${decision.policyIds.join(', ')}` : 'denied: no policy permits this message';
      v = reject(RejectionCode.POLICY_DENIED, reason, {
        policyIds: decision.policyIds,
        engine: decision.engine,
        bundleHash: decision.bundleHash,
        diagnostics: decision.diagnostics,
      });
      denials.set(decision, v);
    }
    return v;
  }

  /** `req` is undefined only for hits found through the key memo, which exists only without a shadow. */
  function decided(decision: PolicyDecision, cached: boolean, req: PolicyRequest | undefined, ctx: GovernanceContext): Verdict {
    ctx.annotations['policy'] = cached ? cachedAnnotation(decision) : { decision, cached: false };
    if (shadow !== undefined && req !== undefined) shadow.submit(req, decision, ctx.now);
    return verdictOf(decision);
  }

  function failed(error: unknown, message: AgentMessage, ctx: GovernanceContext): Verdict {
    const kind = error instanceof PolicyEngineError ? error.kind : PolicyFailureKind.ERROR;
    const text = error instanceof Error ? error.message : String(error);
    const failure = { kind, message: text };
    if (failMode === FailMode.OPEN) {
      counters.failOpen++;
      ctx.annotations['policy'] = { decision: undefined, cached: false, failOpen: true, failure };
      if (onFailOpen !== undefined) {
        try {
          onFailOpen({
            at: ctx.now,
            messageId: message.messageId,
            fromAgent: message.fromAgent,
            tenantId: message.tenantId,
            messageType: message.messageType,
            engine: engine!.name,
            kind,
            reason: text,
          });
        } catch {
          // The observer's failure must not turn a decided pass into a stage failure.
        }
      }
      return PROCEED;
    }
    counters.unavailable++;
    ctx.annotations['policy'] = { decision: undefined, cached: false, failure };
    return reject(RejectionCode.POLICY_UNAVAILABLE, `policy engine ${engine!.name} unavailable (${kind}): ${text}`, { engine: engine!.name, kind });
  }

  function withDeadline(pending: Promise<PolicyDecision>): Promise<PolicyDecision> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, rejectDeadline) => {
      timer = setTimeout(
        () => rejectDeadline(new PolicyEngineError(PolicyFailureKind.DEADLINE, `no decision within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    return Promise.race([pending, deadline]).finally(() => clearTimeout(timer));
  }

  function evaluateEngine(req: PolicyRequest, key: string, message: AgentMessage, ctx: GovernanceContext): Verdict | Promise<Verdict> {
    let result: PolicyDecision | Promise<PolicyDecision>;
    try {
      result = engine!.evaluate(req);
    } catch (error) {
      return failed(error, message, ctx);
    }
    if (!isThenable(result)) {
      cache?.set(key, result, ctx.now);
      return decided(result, false, req, ctx);
    }
    return withDeadline(result).then(
      (decision) => {
        cache?.set(key, decision, ctx.now);
        return decided(decision, false, req, ctx);
      },
      (error: unknown) => failed(error, message, ctx),
    );
  }


  return {
    name: 'policy',
    cache,
    shadow,
    evaluate(message: AgentMessage, ctx: GovernanceContext): Verdict | Promise<Verdict> {
      const { sender, recipient } = ctx;
      let code = -1;
      let key: string | undefined;
      if (keys !== undefined && sender !== undefined && recipient !== undefined) {
        code = situation(message, ctx, authority);
        if (code >= 0) key = keys.get(sender, recipient, message.messageType, code);
      }
      let req: PolicyRequest | undefined;
      if (key === undefined) {
        req = build(message, ctx, authority);
        key = decisionKey(engineName, bundleHash, req, profile);
        if (code >= 0) keys!.set(sender!, recipient!, message.messageType, code, key);
      }
      if (cache !== undefined) {
        const hit = cache.get(key, ctx.now);
        if (hit !== undefined) return decided(hit, true, req, ctx);
        if (readRemote) {
          const remoteKey = key;
          return cache.getRemote(remoteKey, ctx.now).then((remote) =>
            remote !== undefined ? decided(remote, true, req, ctx) : evaluateEngine(req ?? build(message, ctx, authority), remoteKey, message, ctx),
          );
        }
      }
      return evaluateEngine(req ?? build(message, ctx, authority), key, message, ctx);
    },
    stats(): PolicyStageStats {
      return { ...counters, cache: cache?.stats(), shadow: shadow?.stats() };
    },
    async close(): Promise<void> {
      for (const unsubscribe of unsubscribes) unsubscribe();
      await shadow?.close();
      if (ownsCache) await cache?.close();
    },
  };
}
