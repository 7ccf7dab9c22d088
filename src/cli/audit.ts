import { verifyJournal, type VerifyReport } from '../journal/index.js';

export const AuditExitCode = {
  INTACT: 0,
  TAMPERED: 1,
  UNREADABLE: 2,
} as const;
export type AuditExitCode = (typeof AuditExitCode)[keyof typeof AuditExitCode];

function exitCodeOf(report: VerifyReport): AuditExitCode {
  if (!report.readable) return AuditExitCode.UNREADABLE;
  return report.ok ? AuditExitCode.INTACT : AuditExitCode.TAMPERED;
}

function where(issue: VerifyReport['issues'][number]): string {
  const parts = [issue.file + (issue.line === undefined ? '' : `:${issue.line}`)];
  if (issue.seq !== undefined) parts.push(`seq ${issue.seq}`);
  if (issue.batch !== undefined) parts.push(`batch ${issue.batch}`);
  return parts.join(', ');
}

function humanReport(report: VerifyReport): string {
  const lines: string[] = [];
  if (!report.readable) {
    lines.push(`UNREADABLE  ${report.error ?? report.dir}`);
  } else if (report.ok) {
    lines.push(`INTACT  ${report.dir}`);
  } else {
    lines.push(`TAMPERED  ${report.dir}  (${report.issues.length + report.issuesOmitted} issue(s))`);
  }
  lines.push(`files ${report.files.length}, records ${report.records}, seals ${report.seals}`);
  if (report.head !== null) lines.push(`head: seal ${report.head.seal}, seq ${report.head.seq}, hash ${report.head.hash}`);
  for (const seal of report.recoverySeals) {
    lines.push(`note: recovery seal (batch ${seal.batch}) at ${seal.file}:${seal.line} resealed ${seal.resealed} record(s) after a crash; ${seal.tornBytes} torn byte(s), ${seal.discarded} line(s) discarded`);
  }
  for (const issue of report.issues) lines.push(`${issue.kind.padEnd(11)} ${issue.target.padEnd(6)} ${where(issue)}: ${issue.detail}`);
  if (report.issuesOmitted > 0) lines.push(`... and ${report.issuesOmitted} more issue(s)`);
  return lines.join('\n') + '\n';
}

/**
 * `agent-bus audit verify <dir>`: verifies a journal directory. Exit code 0 intact, 1 tampered
 * (or incomplete), 2 unreadable. `json` prints the VerifyReport as one JSON document.
 */
export async function auditVerify(dir: string, opts: { json: boolean; expectHead?: { hash: string; seq?: number } }): Promise<{ exitCode: number; output: string }> {
  let report: VerifyReport;
  try {
    report = await verifyJournal(dir, opts.expectHead === undefined ? {} : { expectHead: opts.expectHead });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const output = opts.json ? JSON.stringify({ ok: false, readable: false, dir, error: message }) + '\n' : `UNREADABLE  ${message}\n`;
    return { exitCode: AuditExitCode.UNREADABLE, output };
  }
  return { exitCode: exitCodeOf(report), output: opts.json ? JSON.stringify(report, null, 2) + '\n' : humanReport(report) };
}
