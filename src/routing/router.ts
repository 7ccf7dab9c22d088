import { RejectionCode } from '../errors.js';
import type { GovernanceContext } from '../governance/stage.js';
import { reject, type Reject } from '../governance/verdict.js';
import type { AgentMessage } from '../message/schema.js';
import type { AgentRegistry } from '../registry/registry.js';
import type { AgentRecord } from '../registry/types.js';
import type { PendingReply, ReplyTracker } from './replies.js';

export interface BroadcastFilter {
  agentType?: string;
  capability?: string;
}

/**
 * Chooses recipients. Every candidate comes from the message's own tenant index, so no route can
 * cross tenants; delivery re-checks each recipient's tenant all the same.
 */
export class Router {
  constructor(
    private readonly registry: AgentRegistry,
    private readonly replies: ReplyTracker,
  ) {}

  /** Direct (toAgent), a reply to a pending request, or one agent with the required capabilities. */
  route(message: AgentMessage, ctx: GovernanceContext): AgentRecord | PendingReply | Reject {
    if (message.correlationId !== undefined && this.replies.size > 0) {
      const pending = this.replies.match(message);
      if (pending !== undefined) return pending;
    }
    if (message.toAgent !== undefined) {
      const recipient = ctx.recipient ?? this.registry.lookup(message.toAgent);
      if (recipient === undefined) return reject(RejectionCode.UNKNOWN_RECIPIENT, `recipient ${message.toAgent} is not registered`);
      return recipient;
    }
    const capabilities = message.requiredCapabilities;
    if (capabilities !== undefined && capabilities.length > 0) {
      const chosen = this.registry.pickByCapabilities(message.tenantId, capabilities, message.fromAgent);
      if (chosen === undefined) {
        return reject(RejectionCode.NO_ROUTE, `no agent in tenant ${message.tenantId} has all of: ${capabilities.join(', ')}`);
      }
      return chosen;
    }
    return reject(RejectionCode.NO_ROUTE, 'the message names neither toAgent nor requiredCapabilities');
  }

  /** Every agent of the tenant matching the filter and the message's required capabilities, sender excluded. */
  broadcast(message: AgentMessage, filter: BroadcastFilter): AgentRecord[] {
    const out: AgentRecord[] = [];
    const required = message.requiredCapabilities;
    for (const agent of this.registry.tenantAgents(message.tenantId, filter)) {
      if (agent.agentId === message.fromAgent) continue;
      if (required !== undefined && required.length > 0 && !required.every((c) => agent.capabilities.includes(c))) continue;
      out.push(agent);
    }
    return out;
  }
}
