/** One registered agent. Records are owned by the registry: treat them as read-only. */
export interface AgentRecord {
  readonly agentId: string;
  readonly tenantId: string;
  readonly agentType: string;
  readonly capabilities: readonly string[];
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly registeredAt: number;
  /** Last registration, heartbeat or send by this agent (epoch ms). */
  lastSeen: number;
}

export interface AgentRegistration {
  agentId: string;
  tenantId: string;
  agentType?: string;
  capabilities?: readonly string[];
  metadata?: Record<string, unknown>;
}

export interface AgentQuery {
  tenantId?: string;
  agentType?: string;
  capability?: string;
}
