export {
  DeliberationService,
  isListCursor,
  type AgentVoteInput,
  type CancelRequest,
  type DeliberationDefaults,
  type DeliberationOptions,
  type HoldRequest,
  type ListPage,
  type ListQuery,
  type RefusalCode,
  type ReviewerDecision,
} from './service.js';
export { DecisionCode, DECISION_CODES, type DecisionResult } from './codes.js';
export {
  DeliberationEventType,
  ItemStatus,
  ITEM_STATUSES,
  VotingStrategy,
  isFinal,
  isOpen,
  type ApprovalRequirements,
  type Decision,
  type DeliberationEvent,
  type DeliberationItem,
  type ElectionSpec,
  type Outcome,
  type Vote,
  type VoteChoice,
} from './types.js';
export {
  ApproverRole,
  BUILTIN_POLICIES,
  EscalationLevel,
  definePolicy,
  policyIdForScore,
  selectPolicyId,
  type ApprovalPolicy,
  type ApprovalPolicyInput,
  type PolicySelectionOptions,
} from './policies.js';
export { tally, type ElectionOutcome } from './voting.js';
export { signVote, verifyVote, votePayload, toEd25519PublicKey } from './signatures.js';
export { ManualClock, systemClock, type Clock } from './clock.js';
export { DEFAULT_FATIGUE, type FatigueOptions } from './fatigue.js';
export type { DeliberationStore } from './store/types.js';
export { MemoryDeliberationStore } from './store/memory.js';
export { FileDeliberationStore, type FileStoreOptions } from './store/file.js';
export { RedisDeliberationStore, type RedisStoreOptions } from './store/redis.js';
export type { Notification, NotificationChannel } from './notifications/types.js';
export { WebhookChannel, type WebhookOptions } from './notifications/webhook.js';
export { slackPayload, teamsPayload, slackChannel, teamsChannel, riskColour } from './notifications/payloads.js';
export { NotificationDispatcher, type DispatcherOptions } from './notifications/dispatcher.js';
