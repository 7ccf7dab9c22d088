import type { GovernanceContext } from '../../src/governance/stage.js';
import { CONSTITUTIONAL_HASH, type MessageType, type Priority } from '../../src/message/constants.js';
import type { AgentMessage } from '../../src/message/schema.js';
import type { Verdict } from '../../src/governance/verdict.js';
import type { AgentRecord } from '../../src/registry/types.js';

/** Wednesday 2026-01-07 10:00 UTC: inside business hours. */
export const BUSINESS_HOURS = Date.UTC(2026, 0, 7, 10, 0, 0);
/** Saturday 2026-01-10 03:00 UTC: outside business hours. */
export const WEEKEND_NIGHT = Date.UTC(2026, 0, 10, 3, 0, 0);

export function agent(agentId: string, opts: { tenantId?: string; agentType?: string; roles?: string[]; capabilities?: string[] } = {}): AgentRecord {
  return {
    agentId,
    tenantId: opts.tenantId ?? 'acme',
    agentType: opts.agentType ?? 'worker',
    capabilities: opts.capabilities ?? [],
    metadata: opts.roles === undefined ? {} : { roles: opts.roles },
    registeredAt: 0,
    lastSeen: 0,
  };
}

let seq = 0;

export function message(
  from: AgentRecord,
  opts: {
    to?: AgentRecord | string;
    messageType?: MessageType;
    tenantId?: string;
    priority?: Priority;
    labels?: unknown;
    constitutionalHash?: string;
    requiredCapabilities?: string[];
    content?: Record<string, unknown>;
  } = {},
): AgentMessage {
  const id = `m-${++seq}`;
  return {
    messageId: id,
    conversationId: id,
    correlationId: undefined,
    fromAgent: from.agentId,
    toAgent: typeof opts.to === 'string' ? opts.to : opts.to?.agentId,
    messageType: opts.messageType ?? 'command',
    content: opts.content ?? { text: 'hello' },
    payload: undefined,
    headers: undefined,
    tenantId: opts.tenantId ?? from.tenantId,
    priority: opts.priority ?? 1,
    constitutionalHash: opts.constitutionalHash ?? CONSTITUTIONAL_HASH,
    createdAt: 0,
    expiresAt: undefined,
    requiredCapabilities: opts.requiredCapabilities,
    metadata: opts.labels === undefined ? undefined : { labels: opts.labels },
  };
}

export function context(
  sender: AgentRecord | undefined,
  recipient: AgentRecord | undefined,
  opts: { now?: number; contentBytes?: number } = {},
): GovernanceContext {
  // A size a test states is the exact size (as the bus marks it once measured).
  return { now: opts.now ?? BUSINESS_HOURS, idGenerated: false, contentBytes: opts.contentBytes ?? 100, contentBytesExact: true, sender, recipient, annotations: {} };
}

/** The verdict of a stage that must have answered synchronously. */
export function sync(verdict: Verdict | PromiseLike<Verdict>): Verdict {
  if (typeof (verdict as { then?: unknown }).then === 'function') throw new Error('expected a synchronous verdict');
  return verdict as Verdict;
}
