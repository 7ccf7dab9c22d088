import { ERROR_INFO, REJECTION_INFO, type ErrorCode, type RejectionCode } from '../errors.js';

/**
 * Codes only the server produces (authentication, authorisation, optional components). They are
 * proposed for src/errors.ts; until they move there they live here with their HTTP status.
 */
export const ServerErrorCode = {
  /** No credential, or one that is malformed, unknown, expired, replayed or badly signed. */
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  /** The credential is valid but lacks the role or scope for the operation. */
  FORBIDDEN: 'FORBIDDEN',
  /** The request acts as an agent (fromAgent, agentId) other than the authenticated one. */
  IDENTITY_MISMATCH: 'IDENTITY_MISMATCH',
  /** The server was started without the component the route needs (deliberation, journal). */
  NOT_CONFIGURED: 'NOT_CONFIGURED',
  /** A route that does not exist. */
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  /** The server is shutting down. */
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  INTERNAL: 'INTERNAL',
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

export const SERVER_ERROR_INFO: Readonly<Record<ServerErrorCode, { httpStatus: number; description: string }>> = {
  UNAUTHENTICATED: { httpStatus: 401, description: 'Missing, malformed, unknown, expired, replayed or badly signed credential.' },
  FORBIDDEN: { httpStatus: 403, description: 'The credential lacks the role or tenant scope for this operation.' },
  IDENTITY_MISMATCH: { httpStatus: 403, description: 'The request names an agent other than the authenticated one.' },
  NOT_CONFIGURED: { httpStatus: 503, description: 'The server runs without the component this route needs.' },
  ROUTE_NOT_FOUND: { httpStatus: 404, description: 'No such route.' },
  SHUTTING_DOWN: { httpStatus: 503, description: 'The server is shutting down.' },
  INTERNAL: { httpStatus: 500, description: 'An unexpected server error (logged).' },
};

/**
 * Deliberation decision codes (src/deliberation/codes.ts) and their HTTP status. A decision on an
 * item of another tenant answers 404, so items of other tenants cannot be probed.
 */
export const DECISION_STATUS: Readonly<Record<string, number>> = {
  NOT_FOUND: 404,
  TENANT_MISMATCH: 404,
  CONFLICT: 409,
  DUPLICATE_DECISION: 409,
  ALREADY_VOTED: 409,
  NO_ELECTION: 409,
  DIGEST_MISMATCH: 409,
  HASH_MISMATCH: 409,
  SELF_APPROVAL: 403,
  ROLE_REQUIRED: 403,
  NOT_A_PARTICIPANT: 403,
  BAD_SIGNATURE: 403,
  REASON_REQUIRED: 400,
  REVIEWER_REQUIRED: 400,
  INVALID_VOTE: 400,
  FATIGUE: 429,
  STORE_FAILED: 503,
  CLOSED: 503,
};

/** Any code the API returns, with its status: rejection codes, bus error codes, server codes, decision codes. */
export function statusOf(code: string): number {
  if (Object.prototype.hasOwnProperty.call(REJECTION_INFO, code)) return REJECTION_INFO[code as RejectionCode].httpStatus;
  if (Object.prototype.hasOwnProperty.call(ERROR_INFO, code)) return ERROR_INFO[code as ErrorCode].httpStatus;
  if (Object.prototype.hasOwnProperty.call(SERVER_ERROR_INFO, code)) return SERVER_ERROR_INFO[code as ServerErrorCode].httpStatus;
  if (Object.prototype.hasOwnProperty.call(DECISION_STATUS, code)) return DECISION_STATUS[code]!;
  return 500;
}

export interface ErrorBody {
  error: { code: string; message: string; [extra: string]: unknown };
}

/** A refusal carried as a value through route code: `{ status, body }`. */
export class HttpFailure {
  readonly status: number;
  readonly body: ErrorBody;
  /** Seconds, for 429 and 503 answers. */
  readonly retryAfter: number | undefined;

  constructor(code: string, message: string, extra?: Record<string, unknown>, retryAfter?: number) {
    this.status = statusOf(code);
    this.body = { error: { code, message, ...extra } };
    this.retryAfter = retryAfter;
  }
}

export function failure(code: string, message: string, extra?: Record<string, unknown>, retryAfter?: number): HttpFailure {
  return new HttpFailure(code, message, extra, retryAfter);
}
