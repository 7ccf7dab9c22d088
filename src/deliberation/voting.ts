import type { ElectionSpec, Vote } from './types.js';

export type ElectionOutcome =
  | { readonly decided: false; readonly approvals: number; readonly rejections: number; readonly abstentions: number }
  | {
      readonly decided: true;
      readonly result: 'approve' | 'reject';
      /** 'quorum' | 'unanimous' | 'super_majority' rule that fired, or 'no_majority' when every participant voted and none did. */
      readonly rule: string;
      readonly approvals: number;
      readonly rejections: number;
      readonly abstentions: number;
    };

/**
 * The original's arithmetic (voting_service.py), N = number of participants:
 *   quorum          approve when approvals > N/2;      reject when rejections >= N/2
 *   unanimous       approve when approvals = N;        reject on any rejection
 *   super_majority  approve when approvals >= 2N/3;    reject when rejections > N/3
 * The approve rule is tested first. Unlike the original, a fully voted election in which neither
 * rule fired (abstentions) closes as a rejection ('no_majority'), so every election ends with a
 * reported outcome; an election still open at the deadline is a rejection too (the item times out).
 */
export function tally(spec: ElectionSpec, votes: readonly Vote[]): ElectionOutcome {
  const n = spec.participants.length;
  let approvals = 0;
  let rejections = 0;
  let abstentions = 0;
  for (const v of votes) {
    if (v.vote === 'approve') approvals++;
    else if (v.vote === 'reject') rejections++;
    else abstentions++;
  }
  const counts = { approvals, rejections, abstentions };
  switch (spec.strategy) {
    case 'quorum':
      if (approvals * 2 > n) return { decided: true, result: 'approve', rule: 'quorum', ...counts };
      if (rejections * 2 >= n) return { decided: true, result: 'reject', rule: 'quorum', ...counts };
      break;
    case 'unanimous':
      if (approvals === n) return { decided: true, result: 'approve', rule: 'unanimous', ...counts };
      if (rejections > 0) return { decided: true, result: 'reject', rule: 'unanimous', ...counts };
      break;
    case 'super_majority':
      if (approvals * 3 >= n * 2) return { decided: true, result: 'approve', rule: 'super_majority', ...counts };
      if (rejections * 3 > n) return { decided: true, result: 'reject', rule: 'super_majority', ...counts };
      break;
  }
  if (approvals + rejections + abstentions >= n) return { decided: true, result: 'reject', rule: 'no_majority', ...counts };
  return { decided: false, ...counts };
}
