import type { KeyProfile } from './key.js';

/**
 * The policy layer's contracts: what an engine is asked, what it answers, and the authority that
 * says which constitutional hashes are currently accepted.
 */

/** Who sends. Built from the sender's AgentRecord (roles from `metadata.roles`). */
export interface PolicyPrincipal {
  readonly id: string;
  readonly agentType: string;
  readonly tenant: string;
  /** Sorted, de-duplicated. */
  readonly roles: readonly string[];
}

export const ResourceKind = {
  AGENT: 'agent',
  CAPABILITY: 'capability',
  BROADCAST: 'broadcast',
} as const;
export type ResourceKind = (typeof ResourceKind)[keyof typeof ResourceKind];

/** What the message is addressed to: one agent, whoever has some capabilities, or everybody. */
export interface PolicyResource {
  readonly kind: ResourceKind;
  /** The recipient agent id, `capability:<caps joined by ",">`, or `broadcast`. */
  readonly id: string;
  readonly tenant: string;
  /** The recipient's type and roles (direct messages to a known agent); empty otherwise. */
  readonly agentType: string;
  readonly roles: readonly string[];
  /** Required capabilities, sorted (capability-routed messages); empty otherwise. */
  readonly capabilities: readonly string[];
}

export const SizeClass = {
  SMALL: 'small',
  MEDIUM: 'medium',
  LARGE: 'large',
  HUGE: 'huge',
} as const;
export type SizeClass = (typeof SizeClass)[keyof typeof SizeClass];

/** Facts about the message. Deliberately coarse (size class, hour) so that decisions can be cached. */
export interface PolicyContext {
  readonly priority: number;
  readonly sizeClass: SizeClass;
  /** 0–23, in the configured UTC offset. */
  readonly hour: number;
  /** 0 = Sunday … 6 = Saturday, in the configured UTC offset. */
  readonly weekday: number;
  /** From `message.metadata.labels`; sorted, de-duplicated. */
  readonly labels: readonly string[];
  /** The hash the message names. */
  readonly constitutionalHash: string;
  /** Whether the hash authority accepts that hash now (active, or previous within the grace window). */
  readonly hashAccepted: boolean;
  /** Only when the stage is configured with `contentFields`: those scalar fields of `message.content`. */
  readonly content?: Readonly<Record<string, string | number | boolean>>;
}

export interface PolicyRequest {
  readonly principal: PolicyPrincipal;
  /** The message type. */
  readonly action: string;
  readonly resource: PolicyResource;
  readonly context: PolicyContext;
}

export interface PolicyDecision {
  readonly allow: boolean;
  /** The deciding policies: the permits that allowed, or the forbids that denied (empty when nothing permitted). */
  readonly policyIds: readonly string[];
  readonly diagnostics: readonly string[];
  /** Name of the engine that decided. */
  readonly engine: string;
  /** Evaluation time of this decision (for a cached decision: of the original evaluation). */
  readonly latencyUs: number;
  /** The constitution bundle the decision was made under. */
  readonly bundleHash: string;
}

export interface PolicyEngine {
  readonly name: string;
  evaluate(req: PolicyRequest): PolicyDecision | Promise<PolicyDecision>;
  close?(): Promise<void>;
  /** Hash of the policy bundle in force; part of every cache key. Read on every decision (may change). */
  readonly bundleHash?: string;
  /** True when `evaluate` never returns a promise (lets the cache skip an async second-tier read). */
  readonly synchronous?: boolean;
  /**
   * False when no decision can depend on the principal or resource *ids* (only on their attributes):
   * the cache key then leaves the ids out, which is what makes caching work with many agents.
   * Undefined is treated as true (conservative).
   */
  readonly usesEntityIds?: boolean;
  /**
   * The request attributes decisions can depend on (computed from the policies by engines that can
   * tell, e.g. Cedar). Takes precedence over `usesEntityIds`. Undefined = every attribute.
   */
  readonly keyProfile?: KeyProfile;
  /**
   * For engines whose bundle can change (the ConstitutionManager's): calls `listener` after each
   * change, so that users re-read bundleHash/keyProfile and drop cached decisions. Returns an unsubscribe.
   */
  onBundleChange?(listener: () => void): () => void;
}

/** An engine that always answers synchronously (Cedar). */
export interface SynchronousPolicyEngine extends PolicyEngine {
  readonly synchronous: true;
  evaluate(req: PolicyRequest): PolicyDecision;
}

/** Which constitutional hashes are accepted, and when. The pin stage consumes this. */
export interface HashAuthority {
  readonly activeHash: string;
  accepts(hash: string, now: number): boolean;
}

/** An engine failure (transport, HTTP status, malformed answer, deadline, open breaker). Never a denial. */
export class PolicyEngineError extends Error {
  readonly kind: PolicyFailureKind;
  constructor(kind: PolicyFailureKind, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PolicyEngineError';
    this.kind = kind;
  }
}

export const PolicyFailureKind = {
  ERROR: 'error',
  DEADLINE: 'deadline',
  BREAKER_OPEN: 'breaker_open',
} as const;
export type PolicyFailureKind = (typeof PolicyFailureKind)[keyof typeof PolicyFailureKind];
