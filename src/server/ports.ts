/**
 * What the server needs from the deliberation service and the journal. Both are optional: a
 * server without them answers their routes with 503 NOT_CONFIGURED. The shapes match
 * DeliberationService (src/deliberation) and Journal + verifyJournal (src/journal) structurally,
 * so the real objects plug in directly (the journal through `journalPort`).
 */

import type { ItemStatus } from '../deliberation/types.js';
import type { AgentVoteInput, ReviewerDecision } from '../deliberation/service.js';

type MaybePromise<T> = T | Promise<T>;

/** A held message as the API shows it; the real item has more fields, all passed through. */
export interface DeliberationItemView {
  readonly id: string;
  readonly tenantId: string;
  readonly status: string;
  readonly message?: { readonly fromAgent: string };
}

export type DeliberationResult =
  | { readonly ok: true; readonly item: DeliberationItemView }
  | { readonly ok: false; readonly code: string; readonly reason: string };

export interface DeliberationPort {
  list(query: { tenantId?: string; status?: ItemStatus; limit?: number; cursor?: string }): MaybePromise<{ items: readonly DeliberationItemView[]; nextCursor: string | undefined }>;
  /** Whether a cursor is one this port's `list` issued; without it, every cursor is passed on to `list`. */
  isCursor?(cursor: string): boolean;
  get(id: string): MaybePromise<DeliberationItemView | undefined>;
  approve(id: string, decision: ReviewerDecisionInput): MaybePromise<DeliberationResult>;
  reject(id: string, decision: ReviewerDecisionInput): MaybePromise<DeliberationResult>;
  vote(id: string, vote: AgentVoteInput): MaybePromise<DeliberationResult>;
}

/** The deliberation service's own input types: the port passes them through unchanged. */
export type ReviewerDecisionInput = ReviewerDecision;
export type { AgentVoteInput };

export interface JournalPort {
  stats(): Record<string, unknown> | object;
  tail(n: number): Promise<ReadonlyArray<Record<string, unknown>>>;
  /** Verifies the journal on disk (flushes first); `ok` false when tampered or unreadable. */
  verify(): Promise<{ ok: boolean } & Record<string, unknown>>;
}

/** Adapts a Journal and its directory (plus verifyJournal) to JournalPort. */
export function journalPort(
  journal: { stats(): object; tail(n: number): Promise<ReadonlyArray<object>>; flush(): Promise<void> },
  dir: string,
  verify: (dir: string) => Promise<{ ok: boolean } & object>,
): JournalPort {
  return {
    stats: () => journal.stats(),
    tail: async (n) => (await journal.tail(n)) as ReadonlyArray<Record<string, unknown>>,
    verify: async () => {
      await journal.flush();
      return (await verify(dir)) as { ok: boolean } & Record<string, unknown>;
    },
  };
}
