import { BusError, ErrorCode } from '../errors.js';

/** One problem in a policy bundle, located in its file (1-based line and column; 0 when unknown). */
export interface BundleIssue {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly policyId?: string;
}

/**
 * A bundle that cannot be activated: code INVALID_POLICY_BUNDLE, with every issue (file, line, column, message).
 */
export class PolicyBundleError extends BusError {
  readonly issues: readonly BundleIssue[];

  constructor(issues: readonly BundleIssue[], source?: string) {
    const first = issues[0];
    const where = first === undefined ? '' : `${first.file}:${first.line}:${first.column}: ${first.message}`;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    super(ErrorCode.INVALID_POLICY_BUNDLE, `invalid policy bundle${source === undefined ? '' : ' ' + source}: ${where}${more}`, {
      details: { issues },
    });
    this.name = 'PolicyBundleError';
    this.issues = issues;
  }
}

/** 1-based line and column of a UTF-8 byte offset (Cedar reports byte offsets). */
export function lineColumnAt(text: string, byteOffset: number): { line: number; column: number } {
  const bytes = Buffer.from(text, 'utf8');
  const prefix = bytes.subarray(0, Math.max(0, Math.min(byteOffset, bytes.length))).toString('utf8');
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < prefix.length; i++) {
    if (prefix.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: prefix.length - lineStart + 1 };
}

/** Line and column of a JSON.parse error, from the "position N" V8 puts in its message. */
export function jsonErrorLocation(text: string, error: unknown): { line: number; column: number } {
  const m = /position (\d+)/.exec(error instanceof Error ? error.message : '');
  if (m === null) return { line: 0, column: 0 };
  return lineColumnAt(text, Buffer.byteLength(text.slice(0, Number(m[1])), 'utf8'));
}
