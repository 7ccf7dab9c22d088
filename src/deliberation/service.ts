import { randomUUID, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { BusError, ErrorCode } from '../errors.js';
import type { AgentMessage } from '../message/schema.js';
import { messageDigest } from '../message/digest.js';
import { systemClock, type Clock } from './clock.js';
import { DecisionCode, refused, type DecisionResult } from './codes.js';
import { DEFAULT_FATIGUE, FatigueGuard, type FatigueOptions } from './fatigue.js';
import { DueHeap } from './heap.js';
import { NotificationDispatcher, type DispatcherOptions } from './notifications/dispatcher.js';
import type { Notification, NotificationChannel } from './notifications/types.js';
import {
  BUILTIN_POLICIES,
  definePolicy,
  escalationIntervalMs,
  MAX_ESCALATION_LEVEL,
  selectPolicyId,
  type ApprovalPolicy,
  type ApprovalPolicyInput,
  type PolicySelectionOptions,
} from './policies.js';
import { allGatesApprove, approvalsMet } from './requirements.js';
import { toEd25519PublicKey, verifyVote } from './signatures.js';
import { FileDeliberationStore, type FileStoreOptions } from './store/file.js';
import { isPromise, type DeliberationStore } from './store/types.js';
import {
  DeliberationEventType,
  isFinal,
  isOpen,
  ItemStatus,
  ITEM_STATUSES,
  VotingStrategy,
  type ApprovalRequirements,
  type Decision,
  type DeliberationEvent,
  type DeliberationItem,
  type ElectionSpec,
  type Outcome,
  type VoteChoice,
} from './types.js';
import { tally } from './voting.js';

export interface HoldRequest {
  message: AgentMessage;
  reason: string;
  impact?: { score: number; factors: Record<string, number> };
  /** The policy engine's decision that accompanied the hold (stored as given). */
  policy?: unknown;
  /**
   * Extra facts from the stage that held the message. Read by the service:
   * `approvalPolicy` (policy id), `timeoutMs` (deadline span), `election` ({ strategy, participants }).
   */
  details?: Record<string, unknown>;
  /**
   * The governance context's annotations, as the bus passes them. When `impact` / `policy` are not
   * given above, `annotations.impact` (or `details.impact`) and `annotations.policy` are used.
   */
  annotations?: Record<string, unknown>;
}

export interface ReviewerDecision {
  reviewerId: string;
  reason: string;
  /** Roles the authenticated reviewer holds (the caller vouches for them). */
  roles?: string[];
  /** When given, must equal the item's tenant. */
  tenantId?: string;
  /** When given (or when `requireDigest` is set), must equal the held message's digest. */
  messageDigest?: string;
  /** When given, must equal the item's constitution hash. */
  constitutionalHash?: string;
}

export interface AgentVoteInput {
  agentId: string;
  vote: VoteChoice;
  reason?: string;
  /** base64 Ed25519 signature over votePayload(itemId, messageDigest, vote); required when the agent has a registered key. */
  signature?: string;
}

export interface CancelRequest {
  reviewerId: string;
  reason: string;
  tenantId?: string;
}

export type RefusalCode = 'DELIBERATION_REJECTED' | 'DELIBERATION_TIMED_OUT';

export interface DeliberationDefaults {
  /** Deadline span of an item (ms). Default 300 000. */
  timeoutMs: number;
  /** What a deadline does: 'reject' (fail-closed, default) or 'approve' (opt-out; journaled as the outcome reason). */
  onTimeout: 'reject' | 'approve';
  /** Use the selected policy's own timeout (the original's hours) instead of timeoutMs. Default false. */
  usePolicyTimeouts: boolean;
  /** Bounds for a `details.timeoutMs` override. */
  minTimeoutMs: number;
  maxTimeoutMs: number;
}

export interface DeliberationOptions {
  /** A store to use (the caller closes it). Without it a file store is opened in `dataDir`. */
  store?: DeliberationStore;
  /** Directory of the default file store. Default `<cwd>/agent-bus-data/deliberation`. */
  dataDir?: string;
  fileStore?: FileStoreOptions;
  clock?: Clock;
  defaults?: Partial<DeliberationDefaults>;
  /** User-defined policies; one with a built-in id replaces the built-in. */
  policies?: ApprovalPolicyInput[];
  policySelection?: PolicySelectionOptions;
  /** Ed25519 public keys of voting agents (KeyObject, PEM or base64 raw). */
  voterKeys?: Record<string, KeyObject | string>;
  /** Refuse unsigned votes even from agents without a registered key. Default false. */
  requireSignedVotes?: boolean;
  /** Refuse approve/reject calls that do not name the message digest. Default false. */
  requireDigest?: boolean;
  fatigue?: Partial<FatigueOptions>;
  channels?: NotificationChannel[];
  notifications?: DispatcherOptions;
  /** Registered before start-up work, so events of items expired or released at start-up are seen. */
  onEvent?: (e: DeliberationEvent) => void;
  /** Identifies this instance in release leases. Default a random UUID. */
  nodeId?: string;
  /** How long a release may take before another instance sharing the store may retry it. Default 30 000 ms. */
  releaseLeaseMs?: number;
  /** Backoff between failed release attempts. */
  releaseRetryBaseMs?: number;
  releaseRetryMaxMs?: number;
  /** Finished items kept in memory for list/get. Default 10 000 (oldest evicted). */
  retainFinished?: number;
  /** Open items accepted at once; hold() beyond it throws BusError CONFLICT. Default 1 000 000. */
  maxOpenItems?: number;
  /** Events kept while no listener is registered. Default 10 000 (newest dropped, counted). */
  maxBufferedEvents?: number;
}

export interface ListQuery {
  tenantId?: string;
  status?: ItemStatus;
  limit?: number;
  cursor?: string;
}

export interface ListPage {
  items: DeliberationItem[];
  nextCursor: string | undefined;
}

const DEFAULTS: DeliberationDefaults = {
  timeoutMs: 300_000,
  onTimeout: 'reject',
  usePolicyTimeouts: false,
  minTimeoutMs: 1_000,
  maxTimeoutMs: 7 * 86_400_000,
};

const MAX_REASON = 2_000;
const MAX_PENDING_REFUSALS = 100_000;

/**
 * Holds messages until people (approvals) and agents (votes) decide, and hands approved ones back
 * to the bus exactly once. One timer serves every deadline (a min-heap of due times).
 */
export class DeliberationService {
  private readonly items = new Map<string, DeliberationItem>();
  private readonly finished: string[] = [];
  private finishedHead = 0;
  private readonly counts = new Map<ItemStatus, number>(ITEM_STATUSES.map((s) => [s, 0]));
  private readonly heap = new DueHeap();
  private readonly scheduled = new Map<string, number>();
  private readonly retryAt = new Map<string, number>();
  private timer: unknown = undefined;
  private armedAt = Infinity;
  private readonly listeners: ((e: DeliberationEvent) => void)[] = [];
  private readonly bufferedEvents: DeliberationEvent[] = [];
  private releaseHandler: ((item: DeliberationItem) => void | Promise<void>) | undefined;
  private refuseHandler: ((item: DeliberationItem, code: RefusalCode) => void) | undefined;
  private readonly pendingRefusals: [string, RefusalCode][] = [];
  private readonly releasing = new Set<string>();
  private readonly releaseTasks = new Set<Promise<void>>();
  private readonly writeChains = new Map<string, Promise<boolean>>();
  private readonly resyncs = new Set<Promise<void>>();
  private readonly voterKeys = new Map<string, KeyObject>();
  private readonly policies = new Map<string, ApprovalPolicy>();
  private readonly fatigue: FatigueGuard;
  private readonly dispatcher: NotificationDispatcher | undefined;
  private readonly defaults: DeliberationDefaults;
  private readonly nodeId: string;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly counters = {
    held: 0,
    autoApproved: 0,
    decisions: 0,
    votes: 0,
    escalations: 0,
    approved: 0,
    released: 0,
    rejected: 0,
    timedOut: 0,
    cancelled: 0,
    releaseFailures: 0,
    digestChanged: 0,
    storeErrors: 0,
    storeConflicts: 0,
    evictedFinished: 0,
    eventsDropped: 0,
    listenerErrors: 0,
    refusalsDropped: 0,
    expiredAtStart: 0,
    approvedAtStart: 0,
  };
  private readonly refusedByCode = new Map<string, number>();

  private constructor(
    private readonly store: DeliberationStore,
    private readonly ownsStore: boolean,
    private readonly clock: Clock,
    private readonly options: DeliberationOptions,
  ) {
    this.defaults = { ...DEFAULTS, ...options.defaults };
    this.nodeId = options.nodeId ?? randomUUID();
    for (const p of BUILTIN_POLICIES) this.policies.set(p.id, p);
    for (const p of options.policies ?? []) this.policies.set(p.id, definePolicy(p));
    for (const [agentId, key] of Object.entries(options.voterKeys ?? {})) this.voterKeys.set(agentId, toEd25519PublicKey(key));
    this.fatigue = new FatigueGuard({ ...DEFAULT_FATIGUE, ...options.fatigue });
    this.dispatcher = options.channels !== undefined && options.channels.length > 0 ? new NotificationDispatcher(options.channels, options.notifications) : undefined;
    if (options.onEvent !== undefined) this.listeners.push(options.onEvent);
    const d = this.defaults;
    if (!(d.timeoutMs > 0) || !(d.minTimeoutMs > 0) || d.maxTimeoutMs < d.minTimeoutMs) {
      throw new BusError(ErrorCode.INVALID_OPTIONS, 'deliberation defaults: timeouts must be positive and minTimeoutMs <= maxTimeoutMs');
    }
  }

  /** Opens the store, brings every stored item back, expires those whose deadline passed, arms the timer. */
  static async open(options: DeliberationOptions = {}): Promise<DeliberationService> {
    const owns = options.store === undefined;
    const store =
      options.store ?? FileDeliberationStore.open(options.dataDir ?? path.join(process.cwd(), 'agent-bus-data', 'deliberation'), options.fileStore);
    let service: DeliberationService;
    try {
      service = new DeliberationService(store, owns, options.clock ?? systemClock, options);
      await service.restore();
    } catch (err) {
      if (owns) await store.close();
      throw err;
    }
    return service;
  }

  private async restore(): Promise<void> {
    const loaded = await this.store.load();
    loaded.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    for (const item of loaded) {
      this.items.set(item.id, item);
      this.counts.set(item.status, this.counts.get(item.status)! + 1);
      if (isFinal(item.status)) this.finished.push(item.id);
    }
    this.trimFinished();
    const now = this.clock.now();
    for (const item of loaded) {
      if (item.status === ItemStatus.APPROVED) this.counters.approvedAtStart++;
      if (isOpen(item.status)) {
        if (item.deadlineAt <= now) this.counters.expiredAtStart++;
        this.schedule(item);
      }
    }
    this.runDue();
    this.arm();
  }

  // ---------------------------------------------------------------- holding

  hold(req: HoldRequest): { deliberationId: string } | Promise<{ deliberationId: string }> {
    if (this.closed) throw new BusError(ErrorCode.CONFLICT, 'deliberation service is closed');
    const open = this.counts.get(ItemStatus.PENDING)! + this.counts.get(ItemStatus.UNDER_REVIEW)! + this.counts.get(ItemStatus.ESCALATED)!;
    if (open >= (this.options.maxOpenItems ?? 1_000_000)) {
      throw new BusError(ErrorCode.CONFLICT, 'deliberation queue is full', { details: { open } });
    }
    const item = this.newItem(req);
    const written = this.store.write(item);
    if (isPromise(written)) {
      return written.then((ok) => {
        if (!ok) throw new BusError(ErrorCode.CONFLICT, `deliberation id collision ${item.id}`);
        this.afterHold(item);
        return { deliberationId: item.id };
      });
    }
    if (!written) throw new BusError(ErrorCode.CONFLICT, `deliberation id collision ${item.id}`);
    this.afterHold(item);
    return { deliberationId: item.id };
  }

  private newItem(input: HoldRequest): DeliberationItem {
    const req = checkHoldRequest(input);
    const digest = digestOf(req.message);
    const now = this.clock.now();
    const details = req.details ?? undefined;
    const impact = impactOf(req.impact) ?? impactOf(details?.impact) ?? impactOf(req.annotations?.impact);
    const explicitId = details?.approvalPolicy ?? req.annotations?.approvalPolicy;
    const explicit = typeof explicitId === 'string' ? explicitId : undefined;
    const policyId = selectPolicyId(explicit, req.message.messageType, impact?.score, this.options.policySelection ?? {});
    const policy = this.policies.get(policyId);
    if (policy === undefined) throw new BusError(ErrorCode.INVALID_ARGUMENT, `unknown approval policy "${policyId}"`);
    const span = this.deadlineSpan(policy, details?.timeoutMs);
    const election = parseElection(details?.election) ?? policy.election;
    const requirements: ApprovalRequirements = {
      policyId: policy.id,
      minApprovers: policy.minApprovers,
      requiredRoles: policy.requiredRoles,
      requireAllRoles: policy.requireAllRoles,
      allowSelfApproval: policy.allowSelfApproval,
      requireReason: policy.requireReason,
      escalationMs: escalationIntervalMs(policy, span, this.defaults.usePolicyTimeouts),
      election,
    };
    const auto = policy.autoApproveBelow !== undefined && impact !== undefined && impact.score < policy.autoApproveBelow;
    return {
      id: randomUUID(),
      version: 1,
      tenantId: req.message.tenantId,
      status: auto ? ItemStatus.APPROVED : ItemStatus.PENDING,
      message: req.message,
      messageDigest: digest,
      constitutionalHash: req.message.constitutionalHash,
      reason: req.reason,
      impact,
      policyDecision: req.policy ?? req.annotations?.policy,
      details,
      requirements,
      decisions: [],
      votes: [],
      escalationLevel: 1,
      createdAt: now,
      updatedAt: now,
      deadlineAt: now + span,
      outcome: auto ? { result: 'approved', reason: 'auto_approve_low_risk', by: undefined, at: now } : undefined,
      releaseLease: auto ? { owner: this.nodeId, until: now + this.leaseMs } : undefined,
      releaseAttempts: 0,
      releasedAt: undefined,
    };
  }

  private deadlineSpan(policy: ApprovalPolicy, override: unknown): number {
    const d = this.defaults;
    if (typeof override === 'number' && Number.isFinite(override)) return Math.min(d.maxTimeoutMs, Math.max(d.minTimeoutMs, override));
    if (d.usePolicyTimeouts && policy.timeoutMs !== undefined) return policy.timeoutMs;
    return d.timeoutMs;
  }

  private afterHold(item: DeliberationItem): void {
    this.items.set(item.id, item);
    this.counts.set(item.status, this.counts.get(item.status)! + 1);
    this.counters.held++;
    this.emit(DeliberationEventType.HELD, item, { reason: item.reason, policyId: item.requirements.policyId, impactScore: item.impact?.score, deadlineAt: item.deadlineAt });
    if (item.status === ItemStatus.APPROVED) {
      this.counters.autoApproved++;
      this.counters.approved++;
      this.emit(DeliberationEventType.APPROVED, item, { reason: 'auto_approve_low_risk' });
      this.startRelease(item.id);
      return;
    }
    this.notify('held', item);
    this.schedule(item);
    this.arm();
    this.maybeCompact();
  }

  // ---------------------------------------------------------------- human decisions

  approve(id: string, decision: ReviewerDecision): DecisionResult {
    return this.decide(id, decision, 'approve');
  }

  reject(id: string, decision: ReviewerDecision): DecisionResult {
    return this.decide(id, decision, 'reject');
  }

  private decide(id: string, decision: ReviewerDecision, kind: 'approve' | 'reject'): DecisionResult {
    const item = this.lookup(id);
    if (item === undefined) return refused(DecisionCode.NOT_FOUND, `no deliberation item ${describeId(id)}`);
    if (this.closed) return refused(DecisionCode.CLOSED, 'deliberation service is closed');
    if (!isOpen(item.status)) return refused(DecisionCode.CONFLICT, `item is already ${item.status}`);
    if (this.expiredNow(item)) return refused(DecisionCode.CONFLICT, 'the deadline has passed');
    const input: Partial<Record<keyof ReviewerDecision, unknown>> = fieldsOf(decision);
    const req = item.requirements;
    const reviewerId = typeof input.reviewerId === 'string' ? input.reviewerId.trim() : '';
    if (reviewerId === '') return refused(DecisionCode.REVIEWER_REQUIRED, 'reviewerId is required');
    const reason = typeof input.reason === 'string' ? input.reason.trim().slice(0, MAX_REASON) : '';
    if (req.requireReason && reason === '') return refused(DecisionCode.REASON_REQUIRED, 'a reason is required');
    const bound = this.checkBinding(item, input);
    if (bound !== undefined) return bound;
    if (kind === 'approve' && !req.allowSelfApproval && reviewerId === item.message.fromAgent) {
      return refused(DecisionCode.SELF_APPROVAL, 'the sender of a message cannot approve it');
    }
    if (item.decisions.some((d) => d.reviewerId === reviewerId)) {
      return refused(DecisionCode.DUPLICATE_DECISION, `${reviewerId} already decided on this item`);
    }
    const roles = Array.isArray(input.roles) ? input.roles.filter((r): r is string => typeof r === 'string') : [];
    if (req.requiredRoles.length > 0 && !roles.some((r) => req.requiredRoles.includes(r))) {
      return refused(DecisionCode.ROLE_REQUIRED, `one of the roles ${req.requiredRoles.join(', ')} is required`);
    }
    if (kind === 'approve' && req.minApprovers === 0) {
      return refused(DecisionCode.CONFLICT, 'this item is decided by an agent election; a reviewer may only reject it');
    }
    const now = this.clock.now();
    let flagged = false;
    if (kind === 'approve' && this.fatigue.wouldExceed(reviewerId, now)) {
      flagged = true;
      this.fatigue.flagged++;
      this.emit(DeliberationEventType.FATIGUE, item, { reviewerId, windowMs: this.fatigue.options.windowMs, maxApprovals: this.fatigue.options.maxApprovals, blocked: this.fatigue.options.mode === 'block' });
      if (this.fatigue.options.mode === 'block') {
        this.fatigue.blocked++;
        return refused(DecisionCode.FATIGUE, `${reviewerId} approved more than ${this.fatigue.options.maxApprovals} items within ${this.fatigue.options.windowMs} ms`);
      }
    }
    const recorded: Decision = {
      reviewerId,
      decision: kind,
      reason,
      roles,
      messageDigest: item.messageDigest,
      constitutionalHash: item.constitutionalHash,
      at: now,
      ...(flagged ? { fatigueFlagged: true } : {}),
    };
    const decisions = [...item.decisions, recorded];
    let status: ItemStatus = item.status === ItemStatus.PENDING ? ItemStatus.UNDER_REVIEW : item.status;
    let outcome: Outcome | undefined;
    if (kind === 'reject') {
      status = ItemStatus.REJECTED;
      outcome = { result: 'rejected', reason: 'veto', by: reviewerId, at: now };
    } else if (allGatesApprove({ requirements: req, decisions, votes: item.votes })) {
      status = ItemStatus.APPROVED;
      outcome = { result: 'approved', reason: req.election === undefined ? 'approvals_met' : 'approvals_and_election_met', by: reviewerId, at: now };
    }
    const next = this.next(item, { decisions, status, outcome, updatedAt: now });
    const result = this.commit(item, next);
    if (!result.ok) return result;
    this.counters.decisions++;
    if (kind === 'approve') this.fatigue.record(reviewerId, now);
    this.afterPersist(next, () => {
      if (item.status === ItemStatus.PENDING) this.emit(DeliberationEventType.UNDER_REVIEW, next, undefined);
      this.emit(DeliberationEventType.DECISION, next, { reviewerId, decision: kind, reason, roles, fatigueFlagged: flagged || undefined });
      this.afterOutcome(item, next);
    });
    return result;
  }

  /** A binding that is given must be a string equal to the item's; anything else (null, a number) is a mismatch. */
  private checkBinding(item: DeliberationItem, input: { tenantId?: unknown; messageDigest?: unknown; constitutionalHash?: unknown }): DecisionResult | undefined {
    if (input.tenantId !== undefined && (typeof input.tenantId !== 'string' || input.tenantId.trim().toLowerCase() !== item.tenantId)) {
      return refused(DecisionCode.TENANT_MISMATCH, 'the item belongs to another tenant');
    }
    if (input.messageDigest === undefined) {
      if (this.options.requireDigest === true) return refused(DecisionCode.DIGEST_MISMATCH, 'the decision must name the message digest');
    } else if (input.messageDigest !== item.messageDigest) {
      return refused(DecisionCode.DIGEST_MISMATCH, 'the decision names another message digest than the held message');
    }
    if (input.constitutionalHash !== undefined && input.constitutionalHash !== item.constitutionalHash) {
      return refused(DecisionCode.HASH_MISMATCH, 'the decision names another constitution hash than the held message');
    }
    return undefined;
  }

  // ---------------------------------------------------------------- agent votes

  vote(id: string, vote: AgentVoteInput): DecisionResult {
    const item = this.lookup(id);
    if (item === undefined) return refused(DecisionCode.NOT_FOUND, `no deliberation item ${describeId(id)}`);
    if (this.closed) return refused(DecisionCode.CLOSED, 'deliberation service is closed');
    if (!isOpen(item.status)) return refused(DecisionCode.CONFLICT, `item is already ${item.status}`);
    if (this.expiredNow(item)) return refused(DecisionCode.CONFLICT, 'the deadline has passed');
    const election = item.requirements.election;
    if (election === undefined) return refused(DecisionCode.NO_ELECTION, 'this item has no agent election');
    const input: Partial<Record<keyof AgentVoteInput, unknown>> = fieldsOf(vote);
    if (input.vote !== 'approve' && input.vote !== 'reject' && input.vote !== 'abstain') {
      return refused(DecisionCode.INVALID_VOTE, 'vote must be approve, reject or abstain');
    }
    const choice: VoteChoice = input.vote;
    const agentId = typeof input.agentId === 'string' ? input.agentId : '';
    if (!election.participants.includes(agentId)) return refused(DecisionCode.NOT_A_PARTICIPANT, `${agentId} is not a participant of this election`);
    if (item.votes.some((v) => v.agentId === agentId)) return refused(DecisionCode.ALREADY_VOTED, `${agentId} already voted`);
    const key = this.voterKeys.get(agentId);
    if (key !== undefined || this.options.requireSignedVotes === true) {
      if (key === undefined) return refused(DecisionCode.BAD_SIGNATURE, `${agentId} has no registered key and votes must be signed`);
      if (typeof input.signature !== 'string' || !verifyVote(key, item.id, item.messageDigest, choice, input.signature)) {
        return refused(DecisionCode.BAD_SIGNATURE, 'the vote signature does not verify for this item, message digest and vote');
      }
    }
    const now = this.clock.now();
    const reason = typeof input.reason === 'string' ? input.reason.slice(0, MAX_REASON) : undefined;
    const votes = [...item.votes, { agentId, vote: choice, reason, signed: key !== undefined, at: now }];
    const t = tally(election, votes);
    let status: ItemStatus = item.status === ItemStatus.PENDING ? ItemStatus.UNDER_REVIEW : item.status;
    let outcome: Outcome | undefined;
    if (t.decided && t.result === 'reject') {
      status = ItemStatus.REJECTED;
      outcome = { result: 'rejected', reason: t.rule === 'no_majority' ? 'no_majority' : 'election_deny', by: agentId, at: now };
    } else if (t.decided && (item.requirements.minApprovers === 0 || approvalsMet(item.requirements, item.decisions))) {
      status = ItemStatus.APPROVED;
      outcome = { result: 'approved', reason: item.requirements.minApprovers === 0 ? 'election_approve' : 'approvals_and_election_met', by: agentId, at: now };
    }
    const next = this.next(item, { votes, status, outcome, updatedAt: now });
    const result = this.commit(item, next);
    if (!result.ok) return result;
    this.counters.votes++;
    this.afterPersist(next, () => {
      if (item.status === ItemStatus.PENDING) this.emit(DeliberationEventType.UNDER_REVIEW, next, undefined);
      this.emit(DeliberationEventType.VOTE, next, {
        agentId,
        vote: choice,
        signed: key !== undefined,
        approvals: t.approvals,
        rejections: t.rejections,
        abstentions: t.abstentions,
        electionResult: t.decided ? t.result : 'open',
        rule: t.decided ? t.rule : undefined,
      });
      this.afterOutcome(item, next);
    });
    return result;
  }

  /** Current tally of an item's election, or undefined without one. */
  election(id: string): ReturnType<typeof tally> | undefined {
    const item = this.lookup(id);
    if (item?.requirements.election === undefined) return undefined;
    return tally(item.requirements.election, item.votes);
  }

  registerVoterKey(agentId: string, key: KeyObject | string): void {
    this.voterKeys.set(agentId, toEd25519PublicKey(key));
  }

  registerPolicy(policy: ApprovalPolicyInput): ApprovalPolicy {
    const p = definePolicy(policy);
    this.policies.set(p.id, p);
    return p;
  }

  getPolicy(id: string): ApprovalPolicy | undefined {
    return this.policies.get(id);
  }

  // ---------------------------------------------------------------- cancel

  cancel(id: string, request: CancelRequest): DecisionResult {
    const item = this.lookup(id);
    if (item === undefined) return refused(DecisionCode.NOT_FOUND, `no deliberation item ${describeId(id)}`);
    if (this.closed) return refused(DecisionCode.CLOSED, 'deliberation service is closed');
    if (!isOpen(item.status)) return refused(DecisionCode.CONFLICT, `item is already ${item.status}`);
    const by: Partial<Record<keyof CancelRequest, unknown>> = fieldsOf(request);
    const reviewerId = typeof by.reviewerId === 'string' ? by.reviewerId.trim() : '';
    if (reviewerId === '') return refused(DecisionCode.REVIEWER_REQUIRED, 'reviewerId is required');
    const reason = typeof by.reason === 'string' ? by.reason.trim().slice(0, MAX_REASON) : '';
    if (reason === '') return refused(DecisionCode.REASON_REQUIRED, 'a reason is required');
    const bound = this.checkBinding(item, { tenantId: by.tenantId });
    if (bound !== undefined) return bound;
    const now = this.clock.now();
    const next = this.next(item, { status: ItemStatus.CANCELLED, outcome: { result: 'cancelled', reason, by: reviewerId, at: now }, updatedAt: now });
    const result = this.commit(item, next);
    if (!result.ok) return result;
    this.afterPersist(next, () => this.afterOutcome(item, next));
    return result;
  }

  // ---------------------------------------------------------------- reading

  get(id: string): DeliberationItem | undefined {
    return this.lookup(id);
  }

  /**
   * Oldest first; the cursor is opaque (the last item's position). A malformed query never throws:
   * a limit that is not a number is the default, a cursor that is not one starts at the beginning,
   * and a tenantId that is not a string matches no item.
   */
  /** Whether `cursor` is one `list` issued (see isListCursor): an edge checks it before paging. */
  isCursor(cursor: string): boolean {
    return isListCursor(cursor);
  }

  list(query: ListQuery = {}): ListPage {
    const q: Partial<Record<keyof ListQuery, unknown>> = fieldsOf(query);
    const limit = typeof q.limit === 'number' && !Number.isNaN(q.limit) ? Math.min(1000, Math.max(1, Math.floor(q.limit))) : 100;
    const tenant = q.tenantId === undefined ? undefined : typeof q.tenantId === 'string' ? q.tenantId.trim().toLowerCase() : null;
    const after = typeof q.cursor === 'string' ? decodeCursor(q.cursor) : undefined;
    const matched: DeliberationItem[] = [];
    for (const item of this.items.values()) {
      if (tenant !== undefined && item.tenantId !== tenant) continue;
      if (q.status !== undefined && item.status !== q.status) continue;
      if (after !== undefined && compareKey(item.createdAt, item.id, after.createdAt, after.id) <= 0) continue;
      matched.push(item);
    }
    matched.sort((a, b) => compareKey(a.createdAt, a.id, b.createdAt, b.id));
    const page = matched.slice(0, limit);
    const last = page[page.length - 1];
    return { items: page, nextCursor: matched.length > limit && last !== undefined ? encodeCursor(last.createdAt, last.id) : undefined };
  }

  /** The item with this id; undefined for an unknown id or one that is not a string. */
  private lookup(id: unknown): DeliberationItem | undefined {
    return typeof id === 'string' ? this.items.get(id) : undefined;
  }

  // ---------------------------------------------------------------- callbacks

  /** The one release handler: called once per approved item (again only after a crash between it and persisting `released`). */
  onRelease(fn: (item: DeliberationItem) => void | Promise<void>): void {
    this.releaseHandler = fn;
    for (const item of this.items.values()) if (item.status === ItemStatus.APPROVED) this.startRelease(item.id);
  }

  onRefuse(fn: (item: DeliberationItem, code: RefusalCode) => void): void {
    this.refuseHandler = fn;
    const pending = this.pendingRefusals.splice(0);
    for (const [id, code] of pending) {
      const item = this.items.get(id);
      if (item !== undefined) this.callRefuse(item, code);
    }
  }

  onEvent(fn: (e: DeliberationEvent) => void): void {
    this.listeners.push(fn);
    const buffered = this.bufferedEvents.splice(0);
    for (const e of buffered) this.deliverEvent(e);
  }

  // ---------------------------------------------------------------- state changes

  private next(item: DeliberationItem, changes: Partial<DeliberationItem>): DeliberationItem {
    const next = { ...item, ...changes, version: item.version + 1 };
    // whoever records the approval holds the release lease: another instance recovering the item waits it out
    if (next.status === ItemStatus.APPROVED && item.status !== ItemStatus.APPROVED && changes.releaseLease === undefined) {
      next.releaseLease = { owner: this.nodeId, until: this.clock.now() + this.leaseMs };
    }
    return next;
  }

  /**
   * Persists `next` and makes it current. Local stores answer now (a failed write changes
   * nothing); a remote store's write completes later and a lost compare-and-set re-reads the item.
   */
  private commit(prev: DeliberationItem, next: DeliberationItem): DecisionResult {
    let written: boolean | Promise<boolean>;
    try {
      written = this.store.write(next);
    } catch (err) {
      this.counters.storeErrors++;
      this.emit(DeliberationEventType.STORE_ERROR, prev, { error: String(err) });
      return refused(DecisionCode.STORE_FAILED, 'the deliberation store could not record the change');
    }
    if (isPromise(written)) {
      written.catch(() => undefined); // handled through the chain below, possibly later
      const chain = (this.writeChains.get(next.id) ?? Promise.resolve(true)).then(() => written);
      this.writeChains.set(next.id, chain);
      this.track(next.id, chain);
    } else if (!written) {
      this.counters.storeConflicts++;
      return refused(DecisionCode.CONFLICT, 'the item was changed by another writer');
    }
    this.replace(prev, next);
    return { ok: true, item: next };
  }

  private track(id: string, write: Promise<boolean>): void {
    write.then(
      (ok) => {
        if (this.writeChains.get(id) === write) this.writeChains.delete(id);
        if (!ok) {
          this.counters.storeConflicts++;
          this.startResync(id, 'conflict');
        }
      },
      (err: unknown) => {
        if (this.writeChains.get(id) === write) this.writeChains.delete(id);
        this.counters.storeErrors++;
        this.startResync(id, String(err));
      },
    );
  }

  private startResync(id: string, cause: string): void {
    const task = this.resync(id, cause).finally(() => this.resyncs.delete(task));
    this.resyncs.add(task);
  }

  /** After a lost or failed remote write: take the stored version as the truth. */
  private async resync(id: string, cause: string): Promise<void> {
    const current = this.items.get(id);
    if (current === undefined) return;
    this.emit(DeliberationEventType.STORE_ERROR, current, { error: cause });
    try {
      const stored = await this.store.read?.(id);
      const now = this.items.get(id);
      if (stored !== undefined && now !== undefined) {
        this.replace(now, stored);
        this.schedule(stored);
        this.arm();
      }
    } catch {
      // still unreachable: the next write will conflict and try again
    }
  }

  /** Waits until every write to a remote store has been answered (and lost ones re-read). */
  async flush(): Promise<void> {
    while (this.writeChains.size > 0 || this.resyncs.size > 0) {
      await Promise.allSettled([...this.writeChains.values(), ...this.resyncs]);
    }
  }

  /**
   * Runs the consequences of a change (events, notifications, callbacks) once it is stored: now for
   * a local store, after the write is acknowledged for a remote one — a change another instance
   * won is never announced.
   */
  private afterPersist(next: DeliberationItem, fn: () => void): void {
    const pending = this.writeChains.get(next.id);
    if (pending === undefined) {
      fn();
      return;
    }
    pending.then(
      (ok) => {
        const current = this.items.get(next.id);
        if (ok && current !== undefined && current.version >= next.version) fn();
      },
      () => {
        // a failed write is handled by track(): re-read from the store, nothing announced
      },
    );
  }

  private persisted(id: string): Promise<boolean> {
    const pending = this.writeChains.get(id);
    return pending === undefined ? Promise.resolve(true) : pending.catch(() => false);
  }

  private replace(prev: DeliberationItem, next: DeliberationItem): void {
    this.items.set(next.id, next);
    if (prev.status !== next.status) {
      this.counts.set(prev.status, this.counts.get(prev.status)! - 1);
      this.counts.set(next.status, this.counts.get(next.status)! + 1);
      if (isFinal(next.status) && !isFinal(prev.status)) {
        this.finished.push(next.id);
        this.trimFinished();
      }
    }
  }

  private trimFinished(): void {
    const keep = this.options.retainFinished ?? 10_000;
    while (this.finished.length - this.finishedHead > keep) {
      const id = this.finished[this.finishedHead++]!;
      const item = this.items.get(id);
      if (item !== undefined && isFinal(item.status)) {
        this.items.delete(id);
        this.counts.set(item.status, this.counts.get(item.status)! - 1);
        this.counters.evictedFinished++;
      }
    }
    if (this.finishedHead > 1024 && this.finishedHead * 2 > this.finished.length) {
      this.finished.splice(0, this.finishedHead);
      this.finishedHead = 0;
    }
  }

  /** Events, notifications, callbacks and timers that follow a committed change. */
  private afterOutcome(prev: DeliberationItem, next: DeliberationItem): void {
    if (prev.status === next.status) {
      this.schedule(next);
      this.arm();
      this.maybeCompact();
      return;
    }
    switch (next.status) {
      case ItemStatus.APPROVED:
        this.counters.approved++;
        this.emit(DeliberationEventType.APPROVED, next, { reason: next.outcome?.reason, by: next.outcome?.by });
        this.notify('decided', next);
        this.startRelease(next.id);
        break;
      case ItemStatus.REJECTED:
        this.counters.rejected++;
        this.emit(DeliberationEventType.REJECTED, next, { reason: next.outcome?.reason, by: next.outcome?.by });
        this.notify('decided', next);
        this.refuse(next, 'DELIBERATION_REJECTED');
        break;
      case ItemStatus.TIMED_OUT:
        this.counters.timedOut++;
        this.emit(DeliberationEventType.TIMED_OUT, next, { deadlineAt: next.deadlineAt });
        this.notify('decided', next);
        this.refuse(next, 'DELIBERATION_TIMED_OUT');
        break;
      case ItemStatus.CANCELLED:
        this.counters.cancelled++;
        this.emit(DeliberationEventType.CANCELLED, next, { reason: next.outcome?.reason, by: next.outcome?.by });
        this.notify('decided', next);
        this.refuse(next, 'DELIBERATION_REJECTED');
        break;
      default:
        this.schedule(next);
        this.arm();
    }
    this.maybeCompact();
  }

  private maybeCompact(): void {
    const store = this.store;
    if (store.needsCompaction === undefined || store.compact === undefined) return;
    if (!store.needsCompaction(this.items.size)) return;
    try {
      store.compact(this.items.values());
    } catch (err) {
      this.counters.storeErrors++;
      this.emitRaw({ type: DeliberationEventType.STORE_ERROR, itemId: '', tenantId: '', messageId: '', messageDigest: '', status: ItemStatus.PENDING, version: 0, at: this.clock.now(), details: { error: String(err), during: 'compaction' } });
    }
  }

  // ---------------------------------------------------------------- release

  private get leaseMs(): number {
    return this.options.releaseLeaseMs ?? 30_000;
  }

  private startRelease(id: string): void {
    if (this.releaseHandler === undefined || this.releasing.has(id) || this.closed) return;
    this.releasing.add(id);
    const task = this.release(id).finally(() => {
      this.releasing.delete(id);
      this.releaseTasks.delete(task);
    });
    this.releaseTasks.add(task);
  }

  private async release(id: string): Promise<void> {
    if (!(await this.persisted(id))) return; // the approval itself was not recorded
    let item = this.items.get(id);
    if (item === undefined || item.status !== ItemStatus.APPROVED || this.releaseHandler === undefined) return;
    const now = this.clock.now();
    const lease = item.releaseLease;
    if (lease === undefined || lease.owner !== this.nodeId || lease.until <= now) {
      // Recovered from the store: another instance sharing it may still be releasing.
      if (this.store.shared && lease !== undefined && lease.owner !== this.nodeId && lease.until > now) {
        this.schedule(item);
        this.arm();
        return;
      }
      const claimed = this.next(item, { releaseLease: { owner: this.nodeId, until: now + this.leaseMs }, updatedAt: now });
      if (!this.commit(item, claimed).ok || !(await this.persisted(id))) return;
      item = this.items.get(id)!;
      if (item.version !== claimed.version) return;
    }
    if (messageDigest(item.message) !== item.messageDigest) {
      this.counters.digestChanged++;
      const rejected = this.next(item, { status: ItemStatus.REJECTED, outcome: { result: 'rejected', reason: 'digest_changed', by: undefined, at: now }, updatedAt: now, releaseLease: undefined });
      if (this.commit(item, rejected).ok) this.afterPersist(rejected, () => this.afterOutcome(item, rejected));
      return;
    }
    try {
      await this.releaseHandler(item);
    } catch (err) {
      this.counters.releaseFailures++;
      const current = this.items.get(id) ?? item;
      const attempts = current.releaseAttempts + 1;
      const base = this.options.releaseRetryBaseMs ?? 1_000;
      const delay = Math.min(this.options.releaseRetryMaxMs ?? 60_000, base * 2 ** Math.min(20, attempts - 1));
      const at = this.clock.now();
      // the lease covers the backoff, so an instance sharing the store does not take over a retry in progress
      const failed = this.next(current, { releaseAttempts: attempts, releaseLease: { owner: this.nodeId, until: at + delay + this.leaseMs }, updatedAt: at });
      this.emit(DeliberationEventType.RELEASE_FAILED, current, { error: String(err), attempts, retryInMs: delay });
      const recorded = this.commit(current, failed).ok;
      this.retryAt.set(id, at + delay);
      this.schedule(recorded ? failed : current);
      this.arm();
      return;
    }
    const current = this.items.get(id)!;
    const at = this.clock.now();
    const released = this.next(current, { status: ItemStatus.RELEASED, releasedAt: at, releaseLease: undefined, updatedAt: at });
    const r = this.commit(current, released);
    if (!r.ok) return;
    this.retryAt.delete(id);
    if (!(await this.persisted(id))) return; // released but not recorded: the documented at-least-once window
    this.counters.released++;
    this.emit(DeliberationEventType.RELEASED, released, { attempts: released.releaseAttempts + 1 });
    this.maybeCompact();
  }

  private refuse(item: DeliberationItem, code: RefusalCode): void {
    this.refusedByCode.set(code, (this.refusedByCode.get(code) ?? 0) + 1);
    if (this.refuseHandler === undefined) {
      if (this.pendingRefusals.length >= MAX_PENDING_REFUSALS) this.counters.refusalsDropped++;
      else this.pendingRefusals.push([item.id, code]);
      return;
    }
    this.callRefuse(item, code);
  }

  private callRefuse(item: DeliberationItem, code: RefusalCode): void {
    try {
      this.refuseHandler!(item, code);
    } catch {
      this.counters.listenerErrors++;
    }
  }

  // ---------------------------------------------------------------- deadlines and escalation

  private nextDueAt(item: DeliberationItem): number {
    if (isOpen(item.status)) {
      const e = item.requirements.escalationMs;
      const escalateAt = e > 0 && item.escalationLevel < MAX_ESCALATION_LEVEL ? item.createdAt + e * item.escalationLevel : Infinity;
      return Math.min(item.deadlineAt, escalateAt);
    }
    if (item.status === ItemStatus.APPROVED) {
      const retry = this.retryAt.get(item.id);
      if (retry !== undefined) return retry;
      const lease = item.releaseLease;
      if (this.store.shared && lease !== undefined && lease.owner !== this.nodeId) return lease.until;
    }
    return Infinity;
  }

  /** Pushes the item's due time when it changed; older heap entries for it become stale and are skipped. */
  private schedule(item: DeliberationItem): void {
    const due = this.nextDueAt(item);
    if (due === Infinity) {
      this.scheduled.delete(item.id);
      return;
    }
    if (this.scheduled.get(item.id) === due) return;
    this.scheduled.set(item.id, due);
    this.heap.push(due, item.id);
  }

  private arm(): void {
    if (this.closed) return;
    const top = this.heap.peekAt();
    if (top === undefined || top >= this.armedAt) {
      if (top === undefined && this.timer !== undefined) {
        this.clock.clearTimer(this.timer);
        this.timer = undefined;
        this.armedAt = Infinity;
      }
      return;
    }
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.armedAt = top;
    this.timer = this.clock.setTimer(() => this.onTimer(), top - this.clock.now());
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    this.runDue();
    this.arm();
  }

  private runDue(): void {
    const now = this.clock.now();
    while (!this.closed) {
      const top = this.heap.peekAt();
      if (top === undefined || top > now) break;
      const { dueAt, id } = this.heap.pop()!;
      if (this.scheduled.get(id) !== dueAt) continue; // stale
      this.scheduled.delete(id);
      const item = this.items.get(id);
      if (item !== undefined) this.due(item, now);
    }
  }

  private due(item: DeliberationItem, now: number): void {
    if (item.status === ItemStatus.APPROVED) {
      this.retryAt.delete(item.id);
      this.startRelease(item.id);
      return;
    }
    if (!isOpen(item.status)) return;
    if (now >= item.deadlineAt) {
      const approve = this.defaults.onTimeout === 'approve';
      const next = this.next(item, {
        status: approve ? ItemStatus.APPROVED : ItemStatus.TIMED_OUT,
        outcome: { result: approve ? 'approved' : 'timed_out', reason: approve ? 'deadline_default_approve' : 'deadline', by: undefined, at: now },
        releaseLease: approve ? { owner: this.nodeId, until: now + this.leaseMs } : undefined,
        updatedAt: now,
      });
      if (this.commit(item, next).ok) this.afterPersist(next, () => this.afterOutcome(item, next));
      else this.retryLater(item, now);
      return;
    }
    const e = item.requirements.escalationMs;
    if (e <= 0) {
      this.schedule(item);
      return;
    }
    const level = Math.min(MAX_ESCALATION_LEVEL, 1 + Math.floor((now - item.createdAt) / e));
    if (level <= item.escalationLevel) {
      this.schedule(item);
      return;
    }
    const next = this.next(item, { status: ItemStatus.ESCALATED, escalationLevel: level, updatedAt: now });
    if (!this.commit(item, next).ok) {
      this.retryLater(item, now);
      return;
    }
    this.counters.escalations++;
    this.schedule(next);
    this.afterPersist(next, () => {
      this.emit(DeliberationEventType.ESCALATED, next, { from: item.escalationLevel, to: level });
      this.notify('escalated', next);
    });
  }

  /** A decision that arrives after the deadline but before the timer fired applies the deadline first. */
  private expiredNow(item: DeliberationItem): boolean {
    const now = this.clock.now();
    if (now < item.deadlineAt) return false;
    this.due(item, now);
    this.arm();
    return true;
  }

  /** A timed change that could not be written is tried again a second later. */
  private retryLater(item: DeliberationItem, now: number): void {
    this.scheduled.set(item.id, now + 1_000);
    this.heap.push(now + 1_000, item.id);
  }

  // ---------------------------------------------------------------- events and notifications

  private emit(type: DeliberationEventType, item: DeliberationItem, details: Record<string, unknown> | undefined): void {
    this.emitRaw({
      type,
      itemId: item.id,
      tenantId: item.tenantId,
      messageId: item.message.messageId,
      messageDigest: item.messageDigest,
      status: item.status,
      version: item.version,
      at: this.clock.now(),
      details,
    });
  }

  private emitRaw(e: DeliberationEvent): void {
    if (this.listeners.length === 0) {
      if (this.bufferedEvents.length >= (this.options.maxBufferedEvents ?? 10_000)) this.counters.eventsDropped++;
      else this.bufferedEvents.push(e);
      return;
    }
    this.deliverEvent(e);
  }

  private deliverEvent(e: DeliberationEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch {
        this.counters.listenerErrors++;
      }
    }
  }

  private notify(kind: Notification['kind'], item: DeliberationItem): void {
    if (this.dispatcher === undefined) return;
    let preview: string;
    try {
      preview = JSON.stringify(item.message.content).slice(0, 100);
    } catch {
      preview = '';
    }
    this.dispatcher.enqueue({
      kind,
      itemId: item.id,
      tenantId: item.tenantId,
      messageId: item.message.messageId,
      fromAgent: item.message.fromAgent,
      toAgent: item.message.toAgent,
      messageType: item.message.messageType,
      status: item.status,
      policyId: item.requirements.policyId,
      requiredRoles: item.requirements.requiredRoles,
      impactScore: item.impact?.score,
      reason: item.reason,
      escalationLevel: item.escalationLevel,
      deadlineAt: item.deadlineAt,
      preview,
    });
  }

  /** Resolves when every queued notification was sent or given up (tests, graceful stop). */
  notificationsIdle(): Promise<void> {
    return this.dispatcher?.idle() ?? Promise.resolve();
  }

  // ---------------------------------------------------------------- stats and lifecycle

  stats() {
    const byStatus = Object.fromEntries(this.counts) as Record<ItemStatus, number>;
    return {
      open: byStatus.pending + byStatus.under_review + byStatus.escalated,
      byStatus,
      items: this.items.size,
      ...this.counters,
      refusedByCode: Object.fromEntries(this.refusedByCode),
      fatigue: { flagged: this.fatigue.flagged, blocked: this.fatigue.blocked, trackedReviewers: this.fatigue.tracked, evicted: this.fatigue.evicted, mode: this.fatigue.options.mode },
      deadlines: { heapEntries: this.heap.size, scheduled: this.scheduled.size, nextDueAt: this.armedAt === Infinity ? undefined : this.armedAt },
      releasesInFlight: this.releasing.size,
      pendingRefusals: this.pendingRefusals.length,
      bufferedEvents: this.bufferedEvents.length,
      notifications:
        this.dispatcher === undefined
          ? undefined
          : { ...this.dispatcher.counters, queued: this.dispatcher.queued, failuresByChannel: Object.fromEntries(this.dispatcher.failuresByChannel) },
      store: this.store.stats(),
    };
  }

  /** Stops the timer, lets in-flight releases and writes finish, closes the store it opened. Idempotent. */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.closing = (async () => {
      await Promise.allSettled([...this.releaseTasks]);
      await this.flush();
      await this.dispatcher?.close();
      if (this.ownsStore) await this.store.close();
    })();
    return this.closing;
  }
}

/** An impact breakdown `{ score, factors }` (numeric factors only), or undefined when `value` is not one. */
function impactOf(value: unknown): DeliberationItem['impact'] {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { score?: unknown; factors?: unknown };
  if (typeof v.score !== 'number' || !Number.isFinite(v.score)) return undefined;
  const factors: Record<string, number> = {};
  if (typeof v.factors === 'object' && v.factors !== null) {
    for (const [k, f] of Object.entries(v.factors)) if (typeof f === 'number' && Number.isFinite(f)) factors[k] = f;
  }
  return { score: v.score, factors };
}

const NO_FIELDS: Readonly<Record<string, unknown>> = Object.freeze({});

/**
 * The fields of a caller's argument: the object itself, or no fields at all when it is missing or
 * not an object (`approve(id)`, `vote(id, null)`), so every check answers with its own code
 * (REVIEWER_REQUIRED, INVALID_VOTE, ...) instead of a TypeError.
 */
function fieldsOf<T extends object>(value: T | null | undefined): Partial<Record<keyof T, unknown>> {
  return typeof value === 'object' && value !== null ? (value as Partial<Record<keyof T, unknown>>) : (NO_FIELDS as Partial<Record<keyof T, unknown>>);
}

/** An id for a refusal reason; never throws (an object without a prototype has no string form). */
function describeId(id: unknown): string {
  if (typeof id === 'string') return id.length > 200 ? `${id.slice(0, 200)}…` : id;
  if (typeof id === 'number' || typeof id === 'boolean' || typeof id === 'bigint' || id === null || id === undefined) return String(id);
  return `(${typeof id})`;
}

const MESSAGE_STRING_FIELDS = ['messageId', 'fromAgent', 'tenantId', 'messageType', 'constitutionalHash'] as const;

/**
 * The hold request, checked far enough that the item can be built and stored: an object with a
 * message (an object whose ids, tenant, type and constitution hash are strings), a string reason,
 * and `details` / `annotations` that are objects when given. Anything else is a programming error
 * of the caller: BusError INVALID_ARGUMENT (nothing is held).
 */
function checkHoldRequest(req: unknown): HoldRequest {
  if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new BusError(ErrorCode.INVALID_ARGUMENT, 'hold request must be an object { message, reason }');
  const r = req as Partial<Record<keyof HoldRequest, unknown>>;
  const message = r.message;
  if (typeof message !== 'object' || message === null || Array.isArray(message)) throw new BusError(ErrorCode.INVALID_ARGUMENT, 'hold request.message must be a message object');
  for (const field of MESSAGE_STRING_FIELDS) {
    if (typeof (message as Record<string, unknown>)[field] !== 'string') throw new BusError(ErrorCode.INVALID_ARGUMENT, `hold request.message.${field} must be a string`);
  }
  if (typeof r.reason !== 'string') throw new BusError(ErrorCode.INVALID_ARGUMENT, 'hold request.reason must be a string');
  for (const field of ['details', 'annotations'] as const) {
    const v = r[field];
    if (v !== undefined && v !== null && (typeof v !== 'object' || Array.isArray(v))) throw new BusError(ErrorCode.INVALID_ARGUMENT, `hold request.${field} must be an object`);
  }
  return req as HoldRequest;
}

/** The message digest; a message JSON cannot hold (BigInt, cycles) is INVALID_ARGUMENT. */
function digestOf(message: AgentMessage): string {
  try {
    return messageDigest(message);
  } catch (err) {
    throw new BusError(ErrorCode.INVALID_ARGUMENT, `hold request.message cannot be digested: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

function parseElection(value: unknown): ElectionSpec | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { strategy?: unknown; participants?: unknown };
  const strategies: readonly string[] = Object.values(VotingStrategy);
  if (typeof v.strategy !== 'string' || !strategies.includes(v.strategy)) throw new BusError(ErrorCode.INVALID_ARGUMENT, 'details.election.strategy must be quorum, unanimous or super_majority');
  if (!Array.isArray(v.participants) || v.participants.length === 0 || !v.participants.every((p) => typeof p === 'string')) {
    throw new BusError(ErrorCode.INVALID_ARGUMENT, 'details.election.participants must be a non-empty list of agent ids');
  }
  return { strategy: v.strategy as VotingStrategy, participants: Object.freeze([...new Set(v.participants as string[])]) };
}

function compareKey(aAt: number, aId: string, bAt: number, bId: string): number {
  if (aAt !== bAt) return aAt - bAt;
  return aId < bId ? -1 : aId > bId ? 1 : 0;
}

function encodeCursor(createdAt: number, id: string): string {
  return Buffer.from(`${createdAt}:${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const i = text.indexOf(':');
  if (i <= 0) return undefined;
  const createdAt = Number(text.slice(0, i));
  return Number.isFinite(createdAt) ? { createdAt, id: text.slice(i + 1) } : undefined;
}

/**
 * Whether `cursor` is one `list` issues (a page's nextCursor), in its canonical spelling. `list`
 * reads any other cursor as "from the start"; an edge that takes cursors from callers checks with
 * this first, so a mangled cursor is an error rather than page 1 again.
 */
export function isListCursor(cursor: string): boolean {
  const decoded = decodeCursor(cursor);
  return decoded !== undefined && encodeCursor(decoded.createdAt, decoded.id) === cursor;
}

