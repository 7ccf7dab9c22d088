import { BusError, ErrorCode } from '../errors.js';
import { normalizeTenantId } from '../message/tenant.js';
import type { AgentRegistry, RegistryStats, RemovalReason } from './registry.js';
import type { AgentQuery, AgentRecord, AgentRegistration } from './types.js';
import { validateRegistration } from './validate.js';

export interface InMemoryRegistryOptions {
  /** Most agents kept at once; 0 = unbounded (default). */
  readonly maxAgents?: number;
  /** When full: evict the stalest agent (default) or refuse the registration with REGISTRY_FULL. */
  readonly whenFull?: 'evict-stalest' | 'refuse';
  readonly clock?: () => number;
}

class Record_ implements AgentRecord {
  lastSeen: number;
  /** False once unregistered, evicted or replaced by a re-registration (index lists drop it lazily). */
  active = true;
  /** lastSeen when the entry last took its place in the eviction order. */
  orderedAt: number;

  constructor(
    readonly agentId: string,
    readonly tenantId: string,
    readonly agentType: string,
    readonly capabilities: readonly string[],
    readonly metadata: Readonly<Record<string, unknown>>,
    readonly registeredAt: number,
    now: number,
  ) {
    this.lastSeen = now;
    this.orderedAt = now;
  }

  toJSON(): AgentRecord {
    const { agentId, tenantId, agentType, capabilities, metadata, registeredAt, lastSeen } = this;
    return { agentId, tenantId, agentType, capabilities, metadata, registeredAt, lastSeen };
  }
}

/**
 * A list with O(1) append, lazy O(1) removal (inactive entries are skipped and compacted away once
 * they are half the list) and a round-robin cursor.
 */
class AgentList {
  items: Record_[] = [];
  stale = 0;
  cursor = 0;

  add(record: Record_): void {
    this.items.push(record);
  }

  markStale(): void {
    if (++this.stale * 2 > this.items.length) this.compact();
  }

  compact(): void {
    this.items = this.items.filter((r) => r.active);
    this.stale = 0;
    if (this.cursor >= this.items.length) this.cursor = 0;
  }

  get live(): number {
    return this.items.length - this.stale;
  }
}

class TenantIndex {
  readonly agents = new Map<string, Record_>();
  readonly byCapability = new Map<string, AgentList>();
  readonly byType = new Map<string, AgentList>();
}

function listFor(map: Map<string, AgentList>, key: string): AgentList {
  let list = map.get(key);
  if (list === undefined) {
    list = new AgentList();
    map.set(key, list);
  }
  return list;
}

/**
 * The embedded registry. Every lookup the send path makes is O(1) in the number of agents:
 * agents are indexed by id, by tenant, by (tenant, capability) and by (tenant, agentType).
 * With `maxAgents`, the stalest agent (oldest lastSeen) is evicted: the id map's insertion order
 * is the eviction order, and an agent seen since it took its place is moved to the back instead
 * of being evicted (a CLOCK-style second chance, so sends never reorder the map).
 */
export class InMemoryAgentRegistry implements AgentRegistry {
  private readonly byId = new Map<string, Record_>();
  private readonly tenants = new Map<string, TenantIndex>();
  private readonly removeListeners: Array<(agentId: string, reason: RemovalReason) => void> = [];
  private readonly maxAgents: number;
  private readonly whenFull: 'evict-stalest' | 'refuse';
  private readonly clock: () => number;
  private readonly counters = { registrations: 0, unregistrations: 0, evictions: 0 };

  constructor(options: InMemoryRegistryOptions = {}) {
    this.maxAgents = options.maxAgents ?? 0;
    if (!Number.isInteger(this.maxAgents) || this.maxAgents < 0) {
      throw new BusError(ErrorCode.INVALID_OPTIONS, 'registry maxAgents must be a non-negative integer');
    }
    this.whenFull = options.whenFull ?? 'evict-stalest';
    this.clock = options.clock ?? Date.now;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Synchronous form of register(), for bulk loading and benchmarks. */
  registerSync(registration: AgentRegistration): AgentRecord {
    const valid = validateRegistration(registration);
    const now = this.clock();
    const previous = this.byId.get(valid.agentId);
    if (previous !== undefined) {
      // Moving to another tenant is leaving the old one: its inbox and requests must not follow.
      if (previous.tenantId !== valid.tenantId) this.remove(previous, 'unregistered');
      else this.detach(previous);
    } else if (this.maxAgents > 0 && this.byId.size >= this.maxAgents) {
      if (this.whenFull === 'refuse') {
        throw new BusError(ErrorCode.REGISTRY_FULL, `the registry holds its maximum of ${this.maxAgents} agents`);
      }
      this.evictStalest();
    }
    const record = new Record_(valid.agentId, valid.tenantId, valid.agentType, valid.capabilities, valid.metadata, previous?.registeredAt ?? now, now);
    this.byId.set(record.agentId, record);
    let tenant = this.tenants.get(record.tenantId);
    if (tenant === undefined) {
      tenant = new TenantIndex();
      this.tenants.set(record.tenantId, tenant);
    }
    tenant.agents.set(record.agentId, record);
    listFor(tenant.byType, record.agentType).add(record);
    for (const capability of record.capabilities) listFor(tenant.byCapability, capability).add(record);
    this.counters.registrations++;
    return record;
  }

  register(registration: AgentRegistration): Promise<AgentRecord> {
    try {
      return Promise.resolve(this.registerSync(registration));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  unregister(agentId: string): Promise<boolean> {
    const record = this.byId.get(agentId);
    if (record === undefined) return Promise.resolve(false);
    this.remove(record, 'unregistered');
    this.counters.unregistrations++;
    return Promise.resolve(true);
  }

  get(agentId: string): Promise<AgentRecord | undefined> {
    return Promise.resolve(this.byId.get(agentId));
  }

  lookup(agentId: string): AgentRecord | undefined {
    return this.byId.get(agentId);
  }

  heartbeat(agentId: string): Promise<AgentRecord | undefined> {
    const record = this.byId.get(agentId);
    if (record !== undefined) record.lastSeen = this.clock();
    return Promise.resolve(record);
  }

  list(query: AgentQuery = {}): Promise<AgentRecord[]> {
    if (query.tenantId !== undefined) {
      const tenantId = normalizeTenantId(query.tenantId);
      if (tenantId === undefined) return Promise.resolve([]);
      return Promise.resolve([...this.tenantAgents(tenantId, query)]);
    }
    const out: AgentRecord[] = [];
    for (const record of this.byId.values()) {
      if (query.agentType !== undefined && record.agentType !== query.agentType) continue;
      if (query.capability !== undefined && !record.capabilities.includes(query.capability)) continue;
      out.push(record);
    }
    return Promise.resolve(out);
  }

  *tenantAgents(tenantId: string, filter: { agentType?: string; capability?: string } = {}): Iterable<AgentRecord> {
    const tenant = this.tenants.get(tenantId);
    if (tenant === undefined) return;
    const { agentType, capability } = filter;
    if (capability !== undefined) {
      const list = tenant.byCapability.get(capability);
      if (list === undefined) return;
      for (const r of list.items) if (r.active && (agentType === undefined || r.agentType === agentType)) yield r;
      return;
    }
    if (agentType !== undefined) {
      const list = tenant.byType.get(agentType);
      if (list === undefined) return;
      for (const r of list.items) if (r.active) yield r;
      return;
    }
    yield* tenant.agents.values();
  }

  pickByCapabilities(tenantId: string, capabilities: readonly string[], exclude: string | undefined): AgentRecord | undefined {
    const tenant = this.tenants.get(tenantId);
    if (tenant === undefined || capabilities.length === 0) return undefined;
    // Walk the shortest candidate list; the others are checked per candidate.
    let list: AgentList | undefined;
    for (const capability of capabilities) {
      const l = tenant.byCapability.get(capability);
      if (l === undefined || l.live === 0) return undefined;
      if (list === undefined || l.live < list.live) list = l;
    }
    const items = list!.items;
    const n = items.length;
    for (let step = 0; step < n; step++) {
      const index = (list!.cursor + step) % n;
      const candidate = items[index]!;
      if (!candidate.active || candidate.agentId === exclude) continue;
      if (capabilities.length > 1 && !hasAll(candidate.capabilities, capabilities)) continue;
      list!.cursor = index + 1 === n ? 0 : index + 1;
      return candidate;
    }
    return undefined;
  }

  onRemove(listener: (agentId: string, reason: RemovalReason) => void): void {
    this.removeListeners.push(listener);
  }

  stats(): RegistryStats {
    return { agents: this.byId.size, tenants: this.tenants.size, ...this.counters };
  }

  /** Drops an agent from every index. */
  private detach(record: Record_): void {
    record.active = false;
    this.byId.delete(record.agentId);
    const tenant = this.tenants.get(record.tenantId);
    if (tenant === undefined) return;
    tenant.agents.delete(record.agentId);
    tenant.byType.get(record.agentType)?.markStale();
    for (const capability of record.capabilities) tenant.byCapability.get(capability)?.markStale();
    if (tenant.agents.size === 0) this.tenants.delete(record.tenantId);
  }

  private remove(record: Record_, reason: RemovalReason): void {
    this.detach(record);
    for (const listener of this.removeListeners) {
      try {
        listener(record.agentId, reason);
      } catch {
        // A listener's failure must not leave the registry half-updated; listeners own their errors.
      }
    }
  }

  private evictStalest(): void {
    for (let guard = this.byId.size * 2; guard > 0; guard--) {
      const head = this.byId.values().next();
      if (head.done === true) return;
      const record = head.value;
      if (record.lastSeen > record.orderedAt) {
        record.orderedAt = record.lastSeen;
        this.byId.delete(record.agentId);
        this.byId.set(record.agentId, record);
        continue;
      }
      this.remove(record, 'evicted');
      this.counters.evictions++;
      return;
    }
  }
}

function hasAll(have: readonly string[], need: readonly string[]): boolean {
  for (const n of need) if (!have.includes(n)) return false;
  return true;
}
