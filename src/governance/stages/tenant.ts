import { RejectionCode } from '../../errors.js';
import type { AgentMessage } from '../../message/schema.js';
import type { AgentRecord } from '../../registry/types.js';
import type { GovernanceContext, GovernanceStage } from '../stage.js';
import { PROCEED, reject, type Verdict } from '../verdict.js';

/** The synchronous view of the registry the tenant stage needs. */
export interface AgentLookup {
  lookup(agentId: string): AgentRecord | undefined;
}

/**
 * Tenant isolation: the sender must be registered in the message's tenant, and a direct recipient
 * must be registered in the same tenant. Capability and broadcast routes only ever choose agents
 * from the message's tenant, and delivery re-checks every recipient.
 */
export class TenantStage implements GovernanceStage {
  readonly name = 'tenant';

  constructor(private readonly agents: AgentLookup) {}

  evaluate(message: AgentMessage, ctx: GovernanceContext): Verdict {
    const sender = this.agents.lookup(message.fromAgent);
    if (sender === undefined) {
      return reject(RejectionCode.UNKNOWN_SENDER, `sender ${message.fromAgent} is not registered`);
    }
    if (sender.tenantId !== message.tenantId) {
      return reject(RejectionCode.TENANT_MISMATCH, `message tenant ${message.tenantId} does not match the sender's tenant`);
    }
    ctx.sender = sender;
    sender.lastSeen = ctx.now;
    if (message.toAgent !== undefined) {
      const recipient = this.agents.lookup(message.toAgent);
      if (recipient === undefined) {
        return reject(RejectionCode.UNKNOWN_RECIPIENT, `recipient ${message.toAgent} is not registered`);
      }
      if (recipient.tenantId !== message.tenantId) {
        // Says nothing about the other tenant: the recipient's tenant is not the sender's business.
        return reject(RejectionCode.TENANT_MISMATCH, `recipient ${message.toAgent} is not in tenant ${message.tenantId}`);
      }
      ctx.recipient = recipient;
    }
    return PROCEED;
  }
}
