import type { DeliberationItem } from './types.js';

/** Why a decision, vote or cancel was refused. Stable strings; each is listed in docs/deliberation.md. */
export const DecisionCode = {
  NOT_FOUND: 'NOT_FOUND',
  /** The item is already decided (approved, released, rejected, timed out or cancelled). */
  CONFLICT: 'CONFLICT',
  SELF_APPROVAL: 'SELF_APPROVAL',
  /** The reviewer already approved or rejected this item. */
  DUPLICATE_DECISION: 'DUPLICATE_DECISION',
  REASON_REQUIRED: 'REASON_REQUIRED',
  REVIEWER_REQUIRED: 'REVIEWER_REQUIRED',
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  HASH_MISMATCH: 'HASH_MISMATCH',
  TENANT_MISMATCH: 'TENANT_MISMATCH',
  ROLE_REQUIRED: 'ROLE_REQUIRED',
  FATIGUE: 'FATIGUE',
  /** The item has no agent election. */
  NO_ELECTION: 'NO_ELECTION',
  NOT_A_PARTICIPANT: 'NOT_A_PARTICIPANT',
  ALREADY_VOTED: 'ALREADY_VOTED',
  INVALID_VOTE: 'INVALID_VOTE',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  /** The store refused or failed the write; nothing changed. */
  STORE_FAILED: 'STORE_FAILED',
  /** The service is closed. */
  CLOSED: 'CLOSED',
} as const;
export type DecisionCode = (typeof DecisionCode)[keyof typeof DecisionCode];
export const DECISION_CODES: readonly DecisionCode[] = Object.freeze(Object.values(DecisionCode));

export type DecisionResult =
  | { readonly ok: true; readonly item: DeliberationItem }
  | { readonly ok: false; readonly code: DecisionCode; readonly reason: string };

export function refused(code: DecisionCode, reason: string): DecisionResult {
  return { ok: false, code, reason };
}
