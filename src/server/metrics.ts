import { Counter, Gauge, Registry } from 'prom-client';
import type { AgentBus } from '../bus.js';
import type { DeliveryLedgerStats } from '../delivery/ledger.js';
import type { BusMetrics } from '../metrics/collector.js';
import type { HealthReport } from '../resilience/index.js';
import type { AuthStats } from './auth.js';
import type { HttpResponseStats } from './http-stats.js';
import type { QuotaStats } from './quotas.js';
import type { SessionStats } from './sessions.js';

export interface ServerStatsSource {
  bus: AgentBus;
  sessions(): SessionStats;
  quotas(): QuotaStats;
  auth(): AuthStats;
  websockets(): number;
  http(): HttpResponseStats[];
}

interface Snapshot {
  bus: BusMetrics;
  ledger: DeliveryLedgerStats | undefined;
  health: Partial<HealthReport> & { score: number; status: string };
  sessions: SessionStats;
  quotas: QuotaStats;
  auth: AuthStats;
  websockets: number;
  http: HttpResponseStats[];
}

const QUANTILES = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.99', 'p99'],
  ['0.999', 'p999'],
] as const;

/**
 * Prometheus exposition. Nothing is counted per message here: each scrape takes one snapshot of
 * the bus and server counters, and every metric's collect() copies its figures from that snapshot.
 */
export class PrometheusExporter {
  readonly registry = new Registry();
  private snap: Snapshot | undefined;

  constructor(private readonly source: ServerStatsSource) {
    const s = (): Snapshot => this.snap ?? this.take();
    // Every metric is filled from the scrape's snapshot when prom-client collects it.
    const metric = <M extends Counter<string> | Gauge<string>>(
      Kind: new (config: { name: string; help: string; labelNames: string[]; registers: Registry[]; collect: (this: M) => void }) => M,
      name: string,
      help: string,
      labelNames: string[],
      fill: (m: M, snap: Snapshot) => void,
    ): M =>
      new Kind({
        name,
        help,
        labelNames,
        registers: [this.registry],
        collect() {
          this.reset();
          fill(this, s());
        },
      });
    const counter = (name: string, help: string, labelNames: string[], fill: (c: Counter<string>, snap: Snapshot) => void) => metric(Counter<string>, name, help, labelNames, fill);
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>, snap: Snapshot) => void) => metric(Gauge<string>, name, help, labelNames, fill);

    counter('agent_bus_messages_total', 'Messages offered to the bus, by outcome.', ['outcome'], (c, { bus }) => {
      c.inc({ outcome: 'sent' }, bus.sent);
      c.inc({ outcome: 'delivered' }, bus.delivered);
      c.inc({ outcome: 'held' }, bus.held);
      c.inc({ outcome: 'rejected' }, bus.rejected);
    });
    counter('agent_bus_recipient_deliveries_total', 'Deliveries to individual recipients (a broadcast counts once per recipient).', [], (c, { bus }) => c.inc(bus.recipientDeliveries));
    counter('agent_bus_delivery_failures_total', 'Handler failures and timeouts after acceptance.', [], (c, { bus }) => c.inc(bus.deliveryFailures));
    counter('agent_bus_refusals_total', 'Refusals and delivery failures by code.', ['code'], (c, { bus }) => {
      for (const [code, n] of Object.entries(bus.byCode)) c.inc({ code }, n ?? 0);
    });
    counter('agent_bus_tenant_messages_total', 'Messages per tenant by outcome (tenants beyond the tracked limit are summed as "_other").', ['tenant', 'outcome'], (c, { bus }) => {
      const add = (tenant: string, t: BusMetrics['otherTenants']) => {
        c.inc({ tenant, outcome: 'sent' }, t.sent);
        c.inc({ tenant, outcome: 'delivered' }, t.delivered);
        c.inc({ tenant, outcome: 'held' }, t.held);
        c.inc({ tenant, outcome: 'rejected' }, t.rejected);
      };
      for (const [tenant, t] of Object.entries(bus.tenants)) add(tenant, t);
      if (bus.otherTenants.sent > 0) add('_other', bus.otherTenants);
    });
    gauge('agent_bus_send_latency_microseconds', 'Whole send path latency (sampled), by quantile.', ['quantile'], (g, { bus }) => {
      for (const [q, k] of QUANTILES) g.set({ quantile: q }, bus.sendLatency[k]);
    });
    gauge('agent_bus_stage_latency_microseconds', 'Governance stage latency (sampled), by stage and quantile.', ['stage', 'quantile'], (g, { bus }) => {
      for (const [stage, p] of Object.entries(bus.stages)) for (const [q, k] of QUANTILES) g.set({ stage, quantile: q }, p[k]);
    });
    gauge('agent_bus_up', '1 while the bus accepts messages.', [], (g, { bus }) => g.set(bus.running ? 1 : 0));
    gauge('agent_bus_agents', 'Registered agents.', [], (g, { bus }) => g.set(bus.agents));
    gauge('agent_bus_inbox_queued', 'Messages waiting in bus inboxes.', [], (g, { bus }) => g.set(bus.delivery.queued ?? 0));
    gauge('agent_bus_pending_replies', 'request() calls waiting for a reply.', [], (g, { bus }) => g.set(bus.delivery.pendingReplies ?? 0));

    gauge('agent_bus_server_sessions', 'Delivery sessions (agents pulling or connected).', ['state'], (g, { sessions, websockets }) => {
      g.set({ state: 'open' }, sessions.sessions);
      g.set({ state: 'attached' }, sessions.attached);
      g.set({ state: 'websockets' }, websockets);
    });
    gauge('agent_bus_server_retained_messages', 'Messages held by sessions until acked, and of those the leased ones.', ['state'], (g, { sessions }) => {
      g.set({ state: 'retained' }, sessions.retained);
      g.set({ state: 'leased' }, sessions.leased);
    });
    counter('agent_bus_server_deliveries_total', 'Session deliveries by event.', ['event'], (c, { sessions }) => {
      c.inc({ event: 'pushed' }, sessions.pushed);
      c.inc({ event: 'pulled' }, sessions.pulled);
      c.inc({ event: 'acked' }, sessions.acked);
      c.inc({ event: 'redelivered' }, sessions.redelivered);
      c.inc({ event: 'expired' }, sessions.expired);
      c.inc({ event: 'discarded' }, sessions.discarded);
    });
    counter('agent_bus_server_quota_refusals_total', 'Requests refused by quotas.', ['kind'], (c, { quotas }) => {
      c.inc({ kind: 'rate' }, quotas.rateLimited);
      c.inc({ kind: 'in_flight' }, quotas.inFlightRefused);
    });
    gauge('agent_bus_server_quota_buckets', 'Token buckets kept.', ['scope'], (g, { quotas }) => {
      g.set({ scope: 'tenant' }, quotas.tenantBuckets);
      g.set({ scope: 'agent' }, quotas.agentBuckets);
    });
    const httpLabels = (r: HttpResponseStats) => ({ method: r.method, route: r.route, status: String(r.status) });
    counter('agent_bus_http_responses_total', 'HTTP responses by route and status (WebSocket frames are not counted here).', ['method', 'route', 'status'], (c, { http }) => {
      for (const r of http) c.inc(httpLabels(r), r.count);
    });
    counter('agent_bus_http_response_seconds_total', 'Sum of HTTP response times by route and status (with agent_bus_http_responses_total: the mean).', ['method', 'route', 'status'], (c, { http }) => {
      for (const r of http) c.inc(httpLabels(r), r.seconds);
    });
    counter('agent_bus_server_auth_total', 'Authentication outcomes.', ['outcome'], (c, { auth }) => {
      c.inc({ outcome: 'accepted' }, auth.accepted);
      c.inc({ outcome: 'refused' }, auth.refused);
      c.inc({ outcome: 'replayed' }, auth.replayed);
    });
    gauge('agent_bus_delivery_ledger_entries', 'Delivery ledger entries not finished: open in this process, and recovered after a crash but waiting for their agent to return.', ['state'], (g, { ledger }) => {
      if (ledger === undefined) return;
      g.set({ state: 'open' }, ledger.open);
      g.set({ state: 'awaiting_agent' }, ledger.awaitingAgent);
    });
    counter('agent_bus_delivery_ledger_events_total', 'Delivery ledger events (absent without a ledger).', ['event'], (c, { ledger }) => {
      if (ledger === undefined) return;
      c.inc({ event: 'accepted' }, ledger.accepted);
      c.inc({ event: 'done' }, ledger.done);
      c.inc({ event: 'restored' }, ledger.restored);
      c.inc({ event: 'write' }, ledger.writes);
      c.inc({ event: 'write_error' }, ledger.writeErrors);
      c.inc({ event: 'compaction' }, ledger.compactions);
      c.inc({ event: 'compaction_error' }, ledger.compactionErrors);
    });
    gauge('agent_bus_health_score', 'Health score over the dependency breakers (closed 1, half-open 0.5, open 0).', [], (g, { health }) => g.set(health.score));
    gauge('agent_bus_health_status', '1 for the current health status (HEALTHY, DEGRADED, CRITICAL).', ['status'], (g, { health }) => {
      for (const status of ['HEALTHY', 'DEGRADED', 'CRITICAL']) g.set({ status }, health.status === status ? 1 : 0);
    });
    gauge('agent_bus_breaker_state', 'Dependency breaker state: 0 closed, 1 half-open, 2 open.', ['breaker', 'dependency_class'], (g, { health }) => {
      for (const b of health.breakerDetails ?? []) g.set({ breaker: b.name, dependency_class: b.dependencyClass }, b.state === 'closed' ? 0 : b.state === 'half-open' ? 1 : 2);
    });
    counter('agent_bus_breaker_rejections_total', 'Calls refused by an open breaker.', ['breaker'], (c, { health }) => {
      for (const b of health.breakerDetails ?? []) c.inc({ breaker: b.name }, b.rejections);
    });
    gauge('agent_bus_paused_subscribers', 'Push subscribers paused by their breaker (messages wait in the inbox).', [], (g, { bus }) => g.set(bus.delivery.pausedSubscribers ?? 0));
    counter('agent_bus_shed_total', 'Messages shed under load (BACKPRESSURE), by rule.', ['rule'], (c, { health }) => {
      for (const [rule, n] of Object.entries(health.shedding?.byRule ?? {})) c.inc({ rule }, n);
    });
    gauge('agent_bus_event_loop_lag_milliseconds', 'Smoothed event-loop lag the load shedder acts on.', [], (g, { health }) => g.set(health.shedding?.lagMs ?? 0));
    gauge('agent_bus_chaos_active_scenarios', 'Chaos scenarios active now.', [], (g, { health }) => g.set(health.chaos?.active ?? 0));
    gauge('agent_bus_process_memory_bytes', 'Process memory.', ['kind'], (g) => {
      const m = process.memoryUsage();
      g.set({ kind: 'rss' }, m.rss);
      g.set({ kind: 'heap_used' }, m.heapUsed);
    });
  }

  private take(): Snapshot {
    const src = this.source;
    return { bus: src.bus.metrics(), ledger: src.bus.deliveryLedger(), health: src.bus.health(), sessions: src.sessions(), quotas: src.quotas(), auth: src.auth(), websockets: src.websockets(), http: src.http() };
  }

  /** The exposition text; one snapshot serves every metric of this scrape. */
  async scrape(): Promise<string> {
    this.snap = this.take();
    try {
      return await this.registry.metrics();
    } finally {
      this.snap = undefined;
    }
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
