/**
 * Every code a user of the bus can see, in one place.
 *
 * - `RejectionCode`: governance and delivery refusals. They are *values* carried by a
 *   `SendResult` (no exception, no stack trace on the hot path).
 * - `ErrorCode`: programming and configuration errors, thrown as `BusError`.
 *
 * Codes are stable strings: a retired code is never reused. Each is documented in
 * `docs/errors.md` (a test checks both ways).
 */

export const RejectionCode = {
  CONSTITUTIONAL_HASH_MISMATCH: 'CONSTITUTIONAL_HASH_MISMATCH',
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  MESSAGE_TOO_LARGE: 'MESSAGE_TOO_LARGE',
  EXPIRED: 'EXPIRED',
  DUPLICATE: 'DUPLICATE',
  UNKNOWN_SENDER: 'UNKNOWN_SENDER',
  UNKNOWN_RECIPIENT: 'UNKNOWN_RECIPIENT',
  TENANT_MISMATCH: 'TENANT_MISMATCH',
  CONTENT_BLOCKED: 'CONTENT_BLOCKED',
  POLICY_DENIED: 'POLICY_DENIED',
  POLICY_UNAVAILABLE: 'POLICY_UNAVAILABLE',
  NO_ROUTE: 'NO_ROUTE',
  BACKPRESSURE: 'BACKPRESSURE',
  HANDLER_FAILED: 'HANDLER_FAILED',
  TIMEOUT: 'TIMEOUT',
  RATE_LIMITED: 'RATE_LIMITED',
  DELIBERATION_REJECTED: 'DELIBERATION_REJECTED',
  DELIBERATION_TIMED_OUT: 'DELIBERATION_TIMED_OUT',
  STAGE_FAILED: 'STAGE_FAILED',
  BUS_STOPPING: 'BUS_STOPPING',
} as const;
export type RejectionCode = (typeof RejectionCode)[keyof typeof RejectionCode];

/** All rejection codes in a fixed order; metrics index their counters by this order. */
export const REJECTION_CODES: readonly RejectionCode[] = Object.freeze(Object.values(RejectionCode));

/** What each rejection code means, and the HTTP status the server maps it to. */
export const REJECTION_INFO: Readonly<Record<RejectionCode, { readonly httpStatus: number; readonly description: string }>> = {
  CONSTITUTIONAL_HASH_MISMATCH: { httpStatus: 403, description: 'The message names a constitutional hash the bus does not accept.' },
  INVALID_MESSAGE: { httpStatus: 400, description: 'The message does not match the schema (missing, extra or malformed fields).' },
  MESSAGE_TOO_LARGE: { httpStatus: 413, description: 'Content, payload or metadata exceed the size or nesting limits.' },
  EXPIRED: { httpStatus: 400, description: 'The message expiresAt is in the past.' },
  DUPLICATE: { httpStatus: 409, description: 'A message with the same messageId was already accepted within the duplicate window.' },
  UNKNOWN_SENDER: { httpStatus: 403, description: 'The sender is not a registered agent.' },
  UNKNOWN_RECIPIENT: { httpStatus: 404, description: 'The recipient named in toAgent is not a registered agent.' },
  TENANT_MISMATCH: { httpStatus: 403, description: 'Sender or recipient belong to another tenant than the message.' },
  CONTENT_BLOCKED: { httpStatus: 403, description: 'A content string matched a prompt-injection or script pattern.' },
  POLICY_DENIED: { httpStatus: 403, description: 'The policy engine denied the message.' },
  POLICY_UNAVAILABLE: { httpStatus: 503, description: 'The policy engine could not decide (error, deadline or open breaker); the bus fails closed.' },
  NO_ROUTE: { httpStatus: 404, description: 'No agent of the tenant can receive the message (no toAgent, or no agent with the required capabilities).' },
  BACKPRESSURE: { httpStatus: 503, description: 'The recipient inbox or a bus queue is full; retry later.' },
  HANDLER_FAILED: { httpStatus: 502, description: 'The recipient handler threw or rejected while processing the message.' },
  TIMEOUT: { httpStatus: 504, description: 'The handler or the reply did not complete within the deadline.' },
  RATE_LIMITED: { httpStatus: 429, description: 'A tenant or agent rate limit was exceeded; see Retry-After.' },
  DELIBERATION_REJECTED: { httpStatus: 403, description: 'The held message was rejected during deliberation.' },
  DELIBERATION_TIMED_OUT: { httpStatus: 403, description: 'The held message was not approved before its deadline (fail-closed).' },
  STAGE_FAILED: { httpStatus: 500, description: 'A governance stage threw instead of returning a verdict; the bus fails closed.' },
  BUS_STOPPING: { httpStatus: 503, description: 'The bus is stopping and accepts no new messages.' },
};

export const ErrorCode = {
  BUS_NOT_STARTED: 'BUS_NOT_STARTED',
  INVALID_OPTIONS: 'INVALID_OPTIONS',
  INVALID_POLICY_BUNDLE: 'INVALID_POLICY_BUNDLE',
  INVALID_AGENT: 'INVALID_AGENT',
  UNKNOWN_AGENT: 'UNKNOWN_AGENT',
  ALREADY_SUBSCRIBED: 'ALREADY_SUBSCRIBED',
  AGENT_SUBSCRIBED: 'AGENT_SUBSCRIBED',
  REGISTRY_FULL: 'REGISTRY_FULL',
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  // Deliberation decisions (approve, reject, vote, cancel) refused as values by the service.
  SELF_APPROVAL: 'SELF_APPROVAL',
  DUPLICATE_DECISION: 'DUPLICATE_DECISION',
  REASON_REQUIRED: 'REASON_REQUIRED',
  REVIEWER_REQUIRED: 'REVIEWER_REQUIRED',
  DIGEST_MISMATCH: 'DIGEST_MISMATCH',
  HASH_MISMATCH: 'HASH_MISMATCH',
  ROLE_REQUIRED: 'ROLE_REQUIRED',
  FATIGUE: 'FATIGUE',
  NO_ELECTION: 'NO_ELECTION',
  NOT_A_PARTICIPANT: 'NOT_A_PARTICIPANT',
  ALREADY_VOTED: 'ALREADY_VOTED',
  INVALID_VOTE: 'INVALID_VOTE',
  BAD_SIGNATURE: 'BAD_SIGNATURE',
  STORE_FAILED: 'STORE_FAILED',
  CLOSED: 'CLOSED',
  // The server: authentication, authorisation and optional components.
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  IDENTITY_MISMATCH: 'IDENTITY_MISMATCH',
  NOT_CONFIGURED: 'NOT_CONFIGURED',
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  INTERNAL: 'INTERNAL',
  // Resilience: the chaos engine and the recovery orchestrator.
  CHAOS_DISABLED: 'CHAOS_DISABLED',
  CHAOS_STOPPED: 'CHAOS_STOPPED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export const ERROR_INFO: Readonly<Record<ErrorCode, { readonly httpStatus: number; readonly description: string }>> = {
  BUS_NOT_STARTED: { httpStatus: 503, description: 'The bus was used before start() or after stop().' },
  INVALID_OPTIONS: { httpStatus: 500, description: 'Bus options are malformed; the message names the option.' },
  INVALID_POLICY_BUNDLE: { httpStatus: 422, description: 'A constitution bundle was refused (syntax, schema validation); details name file, line and message. The last good bundle stays active.' },
  INVALID_AGENT: { httpStatus: 400, description: 'An agent registration is malformed (agentId, tenantId, capabilities or metadata).' },
  UNKNOWN_AGENT: { httpStatus: 404, description: 'The agent is not registered.' },
  ALREADY_SUBSCRIBED: { httpStatus: 409, description: 'The agent already has a push subscription.' },
  AGENT_SUBSCRIBED: { httpStatus: 409, description: 'Pull receive was called for an agent that has a push subscription.' },
  REGISTRY_FULL: { httpStatus: 503, description: 'The registry reached maxAgents and eviction is disabled.' },
  INVALID_ARGUMENT: { httpStatus: 400, description: 'An API argument is malformed; the message names it.' },
  NOT_FOUND: { httpStatus: 404, description: 'The named item does not exist.' },
  CONFLICT: { httpStatus: 409, description: 'The operation conflicts with the current state of the item (e.g. the deliberation is already decided).' },
  SELF_APPROVAL: { httpStatus: 403, description: 'The sender of a held message cannot approve it.' },
  DUPLICATE_DECISION: { httpStatus: 409, description: 'This reviewer already approved or rejected the item.' },
  REASON_REQUIRED: { httpStatus: 400, description: 'Deliberation decisions need a non-empty reason.' },
  REVIEWER_REQUIRED: { httpStatus: 400, description: 'Deliberation decisions need a reviewer id.' },
  DIGEST_MISMATCH: { httpStatus: 409, description: 'The approval names another message digest than the held message (an approval cannot be reused).' },
  HASH_MISMATCH: { httpStatus: 409, description: 'The approval names another constitutional hash than the held message.' },
  ROLE_REQUIRED: { httpStatus: 403, description: 'The reviewer holds none of the roles the approval policy requires.' },
  FATIGUE: { httpStatus: 429, description: 'The reviewer approved too many items too fast (approval-fatigue guard in block mode).' },
  NO_ELECTION: { httpStatus: 400, description: 'The item has no agent election to vote in.' },
  NOT_A_PARTICIPANT: { httpStatus: 403, description: 'The agent is not a listed participant of the election.' },
  ALREADY_VOTED: { httpStatus: 409, description: 'The agent already voted in this election; votes cannot be changed.' },
  INVALID_VOTE: { httpStatus: 400, description: 'The vote is not approve, reject or abstain.' },
  BAD_SIGNATURE: { httpStatus: 403, description: 'The vote signature is missing or does not verify with the agent\'s registered Ed25519 key.' },
  STORE_FAILED: { httpStatus: 503, description: 'The deliberation store failed the write; nothing changed.' },
  CLOSED: { httpStatus: 503, description: 'The deliberation service is closed.' },
  UNAUTHENTICATED: { httpStatus: 401, description: 'Missing, malformed, unknown, expired, replayed or badly signed credential.' },
  FORBIDDEN: { httpStatus: 403, description: 'The credential lacks the role or tenant scope for this operation.' },
  IDENTITY_MISMATCH: { httpStatus: 403, description: 'The request acts as an agent other than the authenticated one (forged identity).' },
  NOT_CONFIGURED: { httpStatus: 503, description: 'The server runs without the component this route needs (deliberation, journal).' },
  ROUTE_NOT_FOUND: { httpStatus: 404, description: 'No such route.' },
  SHUTTING_DOWN: { httpStatus: 503, description: 'The server is shutting down.' },
  INTERNAL: { httpStatus: 500, description: 'An unexpected server error (logged).' },
  CHAOS_DISABLED: { httpStatus: 403, description: 'Chaos injection is not enabled in this bus (chaos.enabled), or NODE_ENV=production without chaos.allowInProduction.' },
  CHAOS_STOPPED: { httpStatus: 409, description: 'The chaos emergency stop is in force; no scenario starts until it is reset.' },
};

/** A programming or configuration error. Governance refusals are never thrown. */
export class BusError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BusError';
    this.code = code;
    this.details = options?.details;
  }

  get httpStatus(): number {
    return ERROR_INFO[this.code].httpStatus;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Readonly<Record<string, unknown>> } {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isBusError(value: unknown): value is BusError {
  return value instanceof BusError;
}

/** Why something failed, as text. Never throws: a thrown value may itself be hostile (a getter, a proxy, no prototype). */
export function errorText(error: unknown): string {
  try {
    const text: unknown = error instanceof Error ? error.message : String(error);
    return typeof text === 'string' ? text : String(text);
  } catch {
    return 'unreadable error';
  }
}
