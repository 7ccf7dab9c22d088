import type { AgentMessage } from '../message/schema.js';

/**
 * The life of a held message.
 *
 *   pending ──▶ under_review ──▶ escalated (level 2..4, still open) ──┐
 *      │             │                                              │
 *      └─────────────┴──────────────┬───────────────────────────────┘
 *                                   ▼
 *        approved ──▶ released   |   rejected   |   timed_out   |   cancelled
 *
 * Open states accept decisions and votes. `approved` is decided but not yet handed to the bus;
 * `released`, `rejected`, `timed_out` and `cancelled` are final.
 */
export const ItemStatus = {
  PENDING: 'pending',
  UNDER_REVIEW: 'under_review',
  ESCALATED: 'escalated',
  APPROVED: 'approved',
  RELEASED: 'released',
  REJECTED: 'rejected',
  TIMED_OUT: 'timed_out',
  CANCELLED: 'cancelled',
} as const;
export type ItemStatus = (typeof ItemStatus)[keyof typeof ItemStatus];
export const ITEM_STATUSES: readonly ItemStatus[] = Object.freeze(Object.values(ItemStatus));

const OPEN: ReadonlySet<ItemStatus> = new Set([ItemStatus.PENDING, ItemStatus.UNDER_REVIEW, ItemStatus.ESCALATED]);
const FINAL: ReadonlySet<ItemStatus> = new Set([ItemStatus.RELEASED, ItemStatus.REJECTED, ItemStatus.TIMED_OUT, ItemStatus.CANCELLED]);

/** Accepts decisions and votes. */
export function isOpen(status: ItemStatus): boolean {
  return OPEN.has(status);
}
/** Nothing more will happen to the item. */
export function isFinal(status: ItemStatus): boolean {
  return FINAL.has(status);
}

export const VotingStrategy = {
  QUORUM: 'quorum',
  UNANIMOUS: 'unanimous',
  SUPER_MAJORITY: 'super_majority',
} as const;
export type VotingStrategy = (typeof VotingStrategy)[keyof typeof VotingStrategy];

export type VoteChoice = 'approve' | 'reject' | 'abstain';

/** What an item needs before it is approved; compiled from the selected policy when held. */
export interface ApprovalRequirements {
  readonly policyId: string;
  /** Human approvals needed (0 = no human gate, e.g. an agent-only election). */
  readonly minApprovers: number;
  readonly requiredRoles: readonly string[];
  /** true: the approvers' roles together cover every required role; false: each approver holds at least one. */
  readonly requireAllRoles: boolean;
  readonly allowSelfApproval: boolean;
  readonly requireReason: boolean;
  /** Interval between escalation levels (ms); 0 = never escalate. */
  readonly escalationMs: number;
  /** Agent election, when the policy or the hold request asks for one. */
  readonly election: ElectionSpec | undefined;
}

export interface ElectionSpec {
  readonly strategy: VotingStrategy;
  readonly participants: readonly string[];
}

export interface Decision {
  readonly reviewerId: string;
  readonly decision: 'approve' | 'reject';
  readonly reason: string;
  readonly roles: readonly string[];
  /** The digest and constitution hash the decision was bound to (always the item's own). */
  readonly messageDigest: string;
  readonly constitutionalHash: string;
  readonly at: number;
  /** Set when the fatigue guard flagged this approval. */
  readonly fatigueFlagged?: boolean;
}

export interface Vote {
  readonly agentId: string;
  readonly vote: VoteChoice;
  readonly reason: string | undefined;
  readonly signed: boolean;
  readonly at: number;
}

export interface Outcome {
  readonly result: 'approved' | 'rejected' | 'timed_out' | 'cancelled';
  /** Why: 'approvals_met', 'veto', 'election_approve', 'election_deny', 'no_majority', 'deadline', 'auto_approve_low_risk', 'cancelled', 'digest_changed', ... */
  readonly reason: string;
  readonly by: string | undefined;
  readonly at: number;
}

/** Who holds a release in progress; lets a node sharing the store tell a live release from an abandoned one. */
export interface ReleaseLease {
  readonly owner: string;
  readonly until: number;
}

export interface DeliberationItem {
  readonly id: string;
  /** Incremented by every persisted change; stores use it for compare-and-set. */
  readonly version: number;
  readonly tenantId: string;
  readonly status: ItemStatus;
  readonly message: AgentMessage;
  readonly messageDigest: string;
  readonly constitutionalHash: string;
  readonly reason: string;
  readonly impact: { readonly score: number; readonly factors: Readonly<Record<string, number>> } | undefined;
  /** The policy engine's decision that accompanied the hold, as given. */
  readonly policyDecision: unknown;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly requirements: ApprovalRequirements;
  readonly decisions: readonly Decision[];
  readonly votes: readonly Vote[];
  readonly escalationLevel: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly deadlineAt: number;
  readonly outcome: Outcome | undefined;
  readonly releaseLease: ReleaseLease | undefined;
  readonly releaseAttempts: number;
  readonly releasedAt: number | undefined;
}

export const DeliberationEventType = {
  HELD: 'held',
  UNDER_REVIEW: 'under_review',
  DECISION: 'decision',
  VOTE: 'vote',
  ESCALATED: 'escalated',
  APPROVED: 'approved',
  RELEASED: 'released',
  REJECTED: 'rejected',
  TIMED_OUT: 'timed_out',
  CANCELLED: 'cancelled',
  /** Not state changes, but worth a journal line. */
  FATIGUE: 'fatigue',
  RELEASE_FAILED: 'release_failed',
  STORE_ERROR: 'store_error',
} as const;
export type DeliberationEventType = (typeof DeliberationEventType)[keyof typeof DeliberationEventType];

export interface DeliberationEvent {
  readonly type: DeliberationEventType;
  readonly itemId: string;
  readonly tenantId: string;
  readonly messageId: string;
  readonly messageDigest: string;
  readonly status: ItemStatus;
  readonly version: number;
  readonly at: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;
}
