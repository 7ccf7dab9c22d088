import type { MessageType } from '../message/constants.js';
import type { VotingStrategy } from './types.js';

/** The original's approver roles; user-defined policies may name any role string. */
export const ApproverRole = {
  SECURITY_TEAM: 'security_team',
  COMPLIANCE_TEAM: 'compliance_team',
  PLATFORM_ADMIN: 'platform_admin',
  TENANT_ADMIN: 'tenant_admin',
  POLICY_OWNER: 'policy_owner',
  ENGINEERING_LEAD: 'engineering_lead',
  ON_CALL: 'on_call',
} as const;

export const EscalationLevel = { LEVEL_1: 1, LEVEL_2: 2, LEVEL_3: 3, EXECUTIVE: 4 } as const;
export const MAX_ESCALATION_LEVEL = EscalationLevel.EXECUTIVE;

export interface ApprovalPolicy {
  readonly id: string;
  readonly requiredRoles: readonly string[];
  readonly minApprovers: number;
  readonly requireAllRoles: boolean;
  /** The policy's own deadline; used only when the service runs with `usePolicyTimeouts`. */
  readonly timeoutMs: number | undefined;
  /** Escalation interval relative to timeoutMs (see `escalationIntervalMs`). 0 = never escalate. */
  readonly escalationMs: number;
  readonly allowSelfApproval: boolean;
  readonly requireReason: boolean;
  /** Items whose impact score is below this are approved when held (the original's standard_request: 0.3). */
  readonly autoApproveBelow: number | undefined;
  /** The original's `risk_threshold` (informative). */
  readonly riskThreshold: number;
  /** An agent election that must also approve. */
  readonly election: { readonly strategy: VotingStrategy; readonly participants: readonly string[] } | undefined;
}

export type ApprovalPolicyInput = Partial<Omit<ApprovalPolicy, 'id'>> & { id: string };

const HOUR = 3_600_000;

export function definePolicy(input: ApprovalPolicyInput): ApprovalPolicy {
  const policy: ApprovalPolicy = {
    id: input.id,
    requiredRoles: Object.freeze([...(input.requiredRoles ?? [])]),
    minApprovers: input.minApprovers ?? 1,
    requireAllRoles: input.requireAllRoles ?? false,
    timeoutMs: input.timeoutMs,
    escalationMs: input.escalationMs ?? 0,
    allowSelfApproval: input.allowSelfApproval ?? false,
    requireReason: input.requireReason ?? true,
    autoApproveBelow: input.autoApproveBelow,
    riskThreshold: input.riskThreshold ?? 0.5,
    election: input.election === undefined ? undefined : { strategy: input.election.strategy, participants: Object.freeze([...input.election.participants]) },
  };
  const problem = validatePolicy(policy);
  if (problem !== undefined) throw new TypeError(`approval policy "${input.id}": ${problem}`);
  return Object.freeze(policy);
}

function validatePolicy(p: ApprovalPolicy): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(p.id)) return 'id must be 1-64 characters [A-Za-z0-9_.:-]';
  if (!Number.isInteger(p.minApprovers) || p.minApprovers < 0) return 'minApprovers must be a non-negative integer';
  if (p.minApprovers === 0 && p.election === undefined) return 'needs minApprovers >= 1 or an election';
  if (p.requireAllRoles && p.requiredRoles.length > p.minApprovers * 64) return 'too many required roles';
  if (p.timeoutMs !== undefined && (!Number.isFinite(p.timeoutMs) || p.timeoutMs <= 0)) return 'timeoutMs must be > 0';
  if (!Number.isFinite(p.escalationMs) || p.escalationMs < 0) return 'escalationMs must be >= 0';
  if (p.election !== undefined && p.election.participants.length === 0) return 'an election needs participants';
  return undefined;
}

/** The original's four policies (multi_approver.py), with its roles, minimums, hours and thresholds. */
export const BUILTIN_POLICIES: readonly ApprovalPolicy[] = Object.freeze([
  definePolicy({
    id: 'high_risk_action',
    requiredRoles: [ApproverRole.SECURITY_TEAM, ApproverRole.COMPLIANCE_TEAM],
    minApprovers: 2,
    requireAllRoles: true,
    timeoutMs: 24 * HOUR,
    escalationMs: 4 * HOUR,
    riskThreshold: 0.8,
  }),
  definePolicy({
    id: 'policy_change',
    requiredRoles: [ApproverRole.POLICY_OWNER, ApproverRole.PLATFORM_ADMIN],
    minApprovers: 2,
    requireAllRoles: true,
    timeoutMs: 48 * HOUR,
    escalationMs: 8 * HOUR,
    riskThreshold: 0.5,
  }),
  definePolicy({
    id: 'critical_deployment',
    requiredRoles: [ApproverRole.ENGINEERING_LEAD, ApproverRole.SECURITY_TEAM, ApproverRole.ON_CALL],
    minApprovers: 3,
    requireAllRoles: true,
    timeoutMs: 4 * HOUR,
    escalationMs: 1 * HOUR,
    riskThreshold: 0.9,
  }),
  definePolicy({
    id: 'standard_request',
    requiredRoles: [ApproverRole.TENANT_ADMIN],
    minApprovers: 1,
    requireAllRoles: false,
    timeoutMs: 72 * HOUR,
    escalationMs: 24 * HOUR,
    autoApproveBelow: 0.3,
    riskThreshold: 0.5,
  }),
]);

/** The original's choice by risk score: >= 0.9 critical_deployment, >= 0.7 high_risk_action, >= 0.5 policy_change, else standard_request. */
export function policyIdForScore(score: number): string {
  if (score >= 0.9) return 'critical_deployment';
  if (score >= 0.7) return 'high_risk_action';
  if (score >= 0.5) return 'policy_change';
  return 'standard_request';
}

export interface PolicySelectionOptions {
  /** Policy per message type, consulted before the score. */
  readonly byMessageType?: Partial<Record<MessageType, string>>;
  /** Policy for a hold without an impact score. Default high_risk_action. */
  readonly withoutScore?: string;
}

/**
 * Order: explicit id (`details.approvalPolicy`, set by a governance stage — never by the sender)
 * → message type map → impact score → `withoutScore`.
 */
export function selectPolicyId(
  explicit: string | undefined,
  messageType: MessageType,
  score: number | undefined,
  options: PolicySelectionOptions,
): string {
  if (explicit !== undefined) return explicit;
  // Own entries only: a message type such as 'constructor' or '__proto__' must not find Object.prototype's members.
  const byType = options.byMessageType !== undefined && Object.hasOwn(options.byMessageType, messageType) ? options.byMessageType[messageType] : undefined;
  if (byType !== undefined) return byType;
  if (score !== undefined) return policyIdForScore(score);
  return options.withoutScore ?? 'high_risk_action';
}

/**
 * How often an item escalates. With policy timeouts the policy's own interval; otherwise the
 * same fraction of the item's actual deadline span (high_risk_action escalates at 4/24 of it).
 */
export function escalationIntervalMs(policy: ApprovalPolicy, spanMs: number, usePolicyTimeouts: boolean): number {
  if (policy.escalationMs <= 0) return 0;
  if (usePolicyTimeouts || policy.timeoutMs === undefined) return policy.escalationMs;
  return Math.max(1, Math.round((spanMs * policy.escalationMs) / policy.timeoutMs));
}

