import { ERROR_INFO, ErrorCode, REJECTION_INFO, type RejectionCode } from '../errors.js';

/** The codes only the server produces; they are part of the one errors module (src/errors.ts). */
export const ServerErrorCode = {
  UNAUTHENTICATED: ErrorCode.UNAUTHENTICATED,
  FORBIDDEN: ErrorCode.FORBIDDEN,
  IDENTITY_MISMATCH: ErrorCode.IDENTITY_MISMATCH,
  NOT_CONFIGURED: ErrorCode.NOT_CONFIGURED,
  ROUTE_NOT_FOUND: ErrorCode.ROUTE_NOT_FOUND,
  SHUTTING_DOWN: ErrorCode.SHUTTING_DOWN,
  INTERNAL: ErrorCode.INTERNAL,
} as const;
export type ServerErrorCode = (typeof ServerErrorCode)[keyof typeof ServerErrorCode];

/** Any code the API returns, with its HTTP status (src/errors.ts is the one table). */
export function statusOf(code: string): number {
  if (Object.prototype.hasOwnProperty.call(REJECTION_INFO, code)) return REJECTION_INFO[code as RejectionCode].httpStatus;
  if (Object.prototype.hasOwnProperty.call(ERROR_INFO, code)) return ERROR_INFO[code as ErrorCode].httpStatus;
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
