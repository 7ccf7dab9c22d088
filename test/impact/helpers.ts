import type { AgentMessage } from '../../src/message/schema.js';
import type { GovernanceContext } from '../../src/governance/stage.js';

/** 14:00 UTC on a weekday: a daytime instant for scorers configured with timeZone 'UTC'. */
export const DAYTIME = Date.UTC(2025, 2, 12, 14, 0, 0);
/** 03:00 UTC: inside the original's night window (hours 1–5). */
export const NIGHT = Date.UTC(2025, 2, 12, 3, 0, 0);

let counter = 0;

export function message(overrides: Partial<AgentMessage> = {}): AgentMessage {
  counter++;
  return {
    messageId: `m-${counter}`,
    conversationId: `m-${counter}`,
    correlationId: undefined,
    fromAgent: 'agent-a',
    toAgent: 'agent-b',
    messageType: 'command',
    content: { text: 'summarise the weekly sales numbers' },
    payload: undefined,
    headers: undefined,
    tenantId: 'acme',
    priority: 1,
    constitutionalHash: 'cdd01ef066bc6cf2',
    createdAt: DAYTIME,
    expiresAt: undefined,
    requiredCapabilities: undefined,
    metadata: undefined,
    ...overrides,
  };
}

export function governanceContext(now: number = DAYTIME): GovernanceContext {
  return { now, idGenerated: true, contentBytes: 0, sender: undefined, recipient: undefined, annotations: {} };
}
