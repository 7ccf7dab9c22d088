import type { AgentQuery, AgentRecord, AgentRegistration } from './types.js';

export type RemovalReason = 'unregistered' | 'evicted';

/**
 * Where agents are registered. Management calls are async (a Redis registry needs I/O); the
 * governance and routing path uses the synchronous methods, which read the local view the
 * registry keeps (in memory, or a replica a shared registry keeps in sync).
 */
export interface AgentRegistry {
  register(registration: AgentRegistration): Promise<AgentRecord>;
  unregister(agentId: string): Promise<boolean>;
  get(agentId: string): Promise<AgentRecord | undefined>;
  list(query?: AgentQuery): Promise<AgentRecord[]>;
  heartbeat(agentId: string): Promise<AgentRecord | undefined>;

  /** Synchronous lookup in the local view. */
  lookup(agentId: string): AgentRecord | undefined;
  /** Round-robin choice of an agent of the tenant that has every capability, other than `exclude`. */
  pickByCapabilities(tenantId: string, capabilities: readonly string[], exclude: string | undefined): AgentRecord | undefined;
  /** Agents of one tenant, optionally of one type and/or with one capability. */
  tenantAgents(tenantId: string, filter?: { agentType?: string; capability?: string }): Iterable<AgentRecord>;
  /** Called when an agent leaves (unregistered or evicted), so per-agent state can be dropped. */
  onRemove(listener: (agentId: string, reason: RemovalReason) => void): void;
  readonly size: number;
  stats(): RegistryStats;
}

export interface RegistryStats {
  agents: number;
  tenants: number;
  registrations: number;
  unregistrations: number;
  evictions: number;
}
