import { ErrorCode, RejectionCode } from '../errors.js';
import type { DeliberationItem } from './types.js';

/** Why a decision, vote or cancel was refused: a subset of the codes in src/errors.ts (docs/errors.md). */
export const DecisionCode = {
  NOT_FOUND: ErrorCode.NOT_FOUND,
  /** The item is already decided (approved, released, rejected, timed out or cancelled). */
  CONFLICT: ErrorCode.CONFLICT,
  SELF_APPROVAL: ErrorCode.SELF_APPROVAL,
  /** The reviewer already approved or rejected this item. */
  DUPLICATE_DECISION: ErrorCode.DUPLICATE_DECISION,
  REASON_REQUIRED: ErrorCode.REASON_REQUIRED,
  REVIEWER_REQUIRED: ErrorCode.REVIEWER_REQUIRED,
  DIGEST_MISMATCH: ErrorCode.DIGEST_MISMATCH,
  HASH_MISMATCH: ErrorCode.HASH_MISMATCH,
  TENANT_MISMATCH: RejectionCode.TENANT_MISMATCH,
  ROLE_REQUIRED: ErrorCode.ROLE_REQUIRED,
  FATIGUE: ErrorCode.FATIGUE,
  /** The item has no agent election. */
  NO_ELECTION: ErrorCode.NO_ELECTION,
  NOT_A_PARTICIPANT: ErrorCode.NOT_A_PARTICIPANT,
  ALREADY_VOTED: ErrorCode.ALREADY_VOTED,
  INVALID_VOTE: ErrorCode.INVALID_VOTE,
  BAD_SIGNATURE: ErrorCode.BAD_SIGNATURE,
  /** The store refused or failed the write; nothing changed. */
  STORE_FAILED: ErrorCode.STORE_FAILED,
  /** The service is closed. */
  CLOSED: ErrorCode.CLOSED,
} as const;
export type DecisionCode = (typeof DecisionCode)[keyof typeof DecisionCode];
export const DECISION_CODES: readonly DecisionCode[] = Object.freeze(Object.values(DecisionCode));

export type DecisionResult =
  | { readonly ok: true; readonly item: DeliberationItem }
  | { readonly ok: false; readonly code: DecisionCode; readonly reason: string };

export function refused(code: DecisionCode, reason: string): DecisionResult {
  return { ok: false, code, reason };
}
