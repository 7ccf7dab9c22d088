import { RejectionCode } from '../../errors.js';
import type { HashAuthority } from '../hash-authority.js';
import { reject, type Reject } from '../verdict.js';

/**
 * The pin stage runs before schema validation: a wrong hash is the most common refusal and a
 * string comparison is the cheapest check there is. Exact match only: no trimming, no case folding.
 */
export function checkPin(input: unknown, authority: HashAuthority, now: number): Reject | undefined {
  const hash = typeof input === 'object' && input !== null ? (input as { constitutionalHash?: unknown }).constitutionalHash : undefined;
  if (typeof hash === 'string' && authority.accepts(hash, now)) return undefined;
  return reject(
    RejectionCode.CONSTITUTIONAL_HASH_MISMATCH,
    typeof hash === 'string'
      ? `constitutional hash mismatch: expected ${authority.activeHash}`
      : `constitutionalHash is required (the active constitution is ${authority.activeHash})`,
  );
}
