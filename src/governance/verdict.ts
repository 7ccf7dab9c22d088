import type { RejectionCode } from '../errors.js';

/**
 * The closed vocabulary every governance stage answers with. Refusals are values: building one
 * allocates a small object and no stack trace.
 */
export interface Proceed {
  readonly kind: 'proceed';
}
export interface Reject {
  readonly kind: 'reject';
  readonly code: RejectionCode;
  readonly reason: string;
  /** Extra facts for the journal and the caller (e.g. the matched pattern, the deciding policies). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
}
export interface Hold {
  readonly kind: 'hold';
  readonly reason: string;
  readonly details: Readonly<Record<string, unknown>> | undefined;
}
export type Verdict = Proceed | Reject | Hold;

export const PROCEED: Proceed = Object.freeze({ kind: 'proceed' });

export function reject(code: RejectionCode, reason: string, details?: Record<string, unknown>): Reject {
  return { kind: 'reject', code, reason, details };
}

export function hold(reason: string, details?: Record<string, unknown>): Hold {
  return { kind: 'hold', reason, details };
}

export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
