import type { ApprovalRequirements, Decision, DeliberationItem, ElectionSpec, Vote } from './types.js';
import { tally } from './voting.js';

/** Whether the human approvals recorded so far satisfy the requirements (count and role coverage). */
export function approvalsMet(req: ApprovalRequirements, decisions: readonly Decision[]): boolean {
  let count = 0;
  const covered = new Set<string>();
  for (const d of decisions) {
    if (d.decision !== 'approve') continue;
    count++;
    for (const r of d.roles) covered.add(r);
  }
  if (count < req.minApprovers) return false;
  if (req.requireAllRoles) for (const r of req.requiredRoles) if (!covered.has(r)) return false;
  return true;
}

/** The roles still missing from the approvals (for notifications and the dashboard). */
export function missingRoles(req: ApprovalRequirements, decisions: readonly Decision[]): string[] {
  if (!req.requireAllRoles) return [];
  const covered = new Set<string>();
  for (const d of decisions) if (d.decision === 'approve') for (const r of d.roles) covered.add(r);
  return req.requiredRoles.filter((r) => !covered.has(r));
}

export function electionResult(election: ElectionSpec | undefined, votes: readonly Vote[]): 'approve' | 'reject' | 'open' | 'none' {
  if (election === undefined) return 'none';
  const t = tally(election, votes);
  return t.decided ? t.result : 'open';
}

/** Every gate the item has (human approvals, agent election) approves. */
export function allGatesApprove(item: Pick<DeliberationItem, 'requirements' | 'decisions' | 'votes'>): boolean {
  const e = electionResult(item.requirements.election, item.votes);
  if (e === 'open' || e === 'reject') return false;
  return item.requirements.minApprovers === 0 || approvalsMet(item.requirements, item.decisions);
}
