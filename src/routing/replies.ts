import type { AgentMessage } from '../message/schema.js';

/** Why a request ended without a reply. */
export type ReplyEnd = 'timeout' | 'left' | 'stopped';

export interface PendingReply {
  readonly requestId: string;
  readonly requester: string;
  readonly tenantId: string;
  /** Agents the request went to: only they may answer it. */
  readonly recipients: readonly string[];
  readonly resolve: (reply: AgentMessage | undefined, why?: ReplyEnd) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * Request/reply correlation: a request registers here before it is delivered; a later message
 * whose correlationId names it, sent by one of its recipients in the same tenant to the requester,
 * completes it instead of going to the requester's inbox.
 */
export class ReplyTracker {
  private readonly pending = new Map<string, PendingReply>();

  get size(): number {
    return this.pending.size;
  }

  expect(requestId: string, requester: string, tenantId: string, recipients: readonly string[], timeoutMs: number): Promise<{ reply: AgentMessage | undefined; why?: ReplyEnd }> {
    return new Promise((resolve) => {
      const entry: PendingReply = {
        requestId,
        requester,
        tenantId,
        recipients,
        timer: undefined,
        resolve: (reply, why) => {
          if (!this.pending.delete(requestId)) return;
          if (entry.timer !== undefined) clearTimeout(entry.timer);
          resolve(why === undefined ? { reply } : { reply, why });
        },
      };
      entry.timer = setTimeout(() => entry.resolve(undefined, 'timeout'), timeoutMs);
      this.pending.set(requestId, entry);
    });
  }

  /** The pending request this message answers, if it answers one. */
  match(message: AgentMessage): PendingReply | undefined {
    if (message.correlationId === undefined) return undefined;
    const entry = this.pending.get(message.correlationId);
    if (entry === undefined) return undefined;
    if (entry.tenantId !== message.tenantId) return undefined;
    if (message.toAgent !== undefined && message.toAgent !== entry.requester) return undefined;
    if (!entry.recipients.includes(message.fromAgent)) return undefined;
    return entry;
  }

  /** Drops a request whose message was not delivered after all (nobody awaits its reply). */
  cancel(requestId: string): void {
    this.pending.get(requestId)?.resolve(undefined, 'stopped');
  }

  /** Ends every request made by an agent that left, or all of them when the bus stops. */
  closeWhere(predicate: (entry: PendingReply) => boolean, why: 'left' | 'stopped'): void {
    for (const entry of [...this.pending.values()]) if (predicate(entry)) entry.resolve(undefined, why);
  }
}
