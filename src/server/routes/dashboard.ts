import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { RejectionCode } from '../../errors.js';
import type { DeliberationEvent } from '../../deliberation/types.js';
import { hasRole, inTenant, Role, tenantScope, type Principal } from '../auth.js';
import { sendFailure, type ServerContext } from '../context.js';
import { failure, ServerErrorCode } from '../errors.js';

/**
 * What the reviewer dashboard (web/dashboard) needs beyond the API: who the credential is
 * (`GET /v1/whoami`) and a live stream (`GET /v1/events`, Server-Sent Events) of metrics snapshots
 * every second and of deliberation changes as they happen. The page reads the stream with fetch so
 * that it can send the bearer header (EventSource cannot).
 */
export interface DashboardOptions {
  /** Interval between metrics snapshots (default 1,000 ms). */
  intervalMs?: number;
  /** Concurrent event streams; more are refused with 429 (default 32). */
  maxStreams?: number;
}

export interface EventStreamStats {
  open: number;
  opened: number;
  refused: number;
  /** Events not written because a client was not reading (it gets a `resync` event once it drains). */
  dropped: number;
}

interface Viewer {
  readonly principal: Principal;
  /** Tenant the viewer is limited to; undefined = every tenant. */
  readonly scope: string | undefined;
  readonly admin: boolean;
}

function whoami(p: Principal) {
  return {
    mode: p.kind === 'dev' ? 'dev' : 'authenticated',
    kind: p.kind,
    subject: p.subject,
    agentId: p.agentId ?? null,
    tenantId: p.tenantId ?? null,
    roles: [...p.roles],
    approverRoles: [...p.approverRoles],
  };
}

const END_GRACE_MS = 250;

/** One SSE response. Writes are skipped (and counted) while the socket is not drained. */
class EventStream {
  private congested = false;
  closed = false;

  constructor(
    readonly viewer: Viewer,
    private readonly raw: ServerResponse,
    private readonly counters: EventStreamStats,
  ) {
    raw.on('drain', () => {
      if (!this.congested || this.closed) return;
      this.congested = false;
      this.send('resync', { reason: 'events were dropped while the connection was slow; reload the queue' });
    });
  }

  send(event: string, data: unknown): void {
    if (this.closed) return;
    if (this.congested) {
      this.counters.dropped++;
      return;
    }
    if (!this.raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)) this.congested = true;
  }

  /** Ends the response; a client that does not read the rest is cut off after a short grace, so shutdown never waits on it. */
  end(): void {
    if (this.closed) return;
    this.closed = true;
    this.raw.end();
    if (!this.raw.writableFinished) setTimeout(() => this.raw.destroy(), END_GRACE_MS).unref();
  }
}

export function dashboardRoutes(app: FastifyInstance, ctx: ServerContext, options: DashboardOptions = {}): void {
  const intervalMs = options.intervalMs ?? 1000;
  const maxStreams = options.maxStreams ?? 32;
  const streams = new Set<EventStream>();
  const counters: EventStreamStats = { open: 0, opened: 0, refused: 0, dropped: 0 };
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const snapshot = () => {
    const m = ctx.bus.metrics();
    const journal = ctx.journal?.stats() as { writable?: boolean; head?: unknown; appended?: number; recordsWritten?: number; sealedBatches?: number; lost?: number; error?: unknown } | undefined;
    const journalOk = journal === undefined || journal.writable !== false;
    return {
      at: Date.now(),
      bus: {
        running: m.running,
        startedAt: m.startedAt,
        constitutionalHash: m.constitutionalHash,
        sent: m.sent,
        delivered: m.delivered,
        held: m.held,
        rejected: m.rejected,
        recipientDeliveries: m.recipientDeliveries,
        deliveryFailures: m.deliveryFailures,
        byCode: m.byCode,
        agents: m.agents,
        sendLatency: m.sendLatency,
        stages: m.stages,
      },
      tenants: m.tenants,
      otherTenants: m.otherTenants,
      health: { live: true, ready: ctx.bus.isRunning && !ctx.state.shuttingDown && journalOk, shuttingDown: ctx.state.shuttingDown, journal: journal === undefined ? 'none' : journalOk ? 'writable' : 'not_writable' },
      sessions: ctx.sessions.stats(),
      journal:
        journal === undefined
          ? undefined
          : { head: journal.head, appended: journal.appended, recordsWritten: journal.recordsWritten, sealedBatches: journal.sealedBatches, lost: journal.lost, writable: journal.writable, error: journal.error ?? null },
      streams: { ...counters, open: streams.size },
    };
  };
  type Snapshot = ReturnType<typeof snapshot>;

  /** The snapshot as one viewer may see it: its own tenant's counters; journal details for admins. */
  const viewOf = (s: Snapshot, viewer: Viewer) => {
    if (viewer.scope === undefined && viewer.admin) return s;
    const tenants = viewer.scope === undefined ? s.tenants : Object.fromEntries(Object.entries(s.tenants).filter(([t]) => t === viewer.scope));
    return { ...s, tenants, otherTenants: viewer.scope === undefined ? s.otherTenants : undefined, journal: viewer.admin ? s.journal : undefined };
  };

  const tick = () => {
    if (streams.size === 0) return;
    const s = snapshot();
    for (const stream of streams) stream.send('metrics', viewOf(s, stream.viewer));
  };

  const closeAll = () => {
    stopped = true;
    if (timer !== undefined) clearInterval(timer);
    timer = undefined;
    for (const stream of streams) {
      stream.send('shutdown', { reason: 'the server is shutting down' });
      stream.end();
    }
    streams.clear();
  };

  // One listener for the server's lifetime; the DeliberationService keeps its listeners.
  const source = ctx.deliberation as { onEvent?: (fn: (e: DeliberationEvent) => void) => void } | undefined;
  if (typeof source?.onEvent === 'function') {
    source.onEvent((e) => {
      if (stopped || streams.size === 0) return;
      const data = { type: e.type, itemId: e.itemId, tenantId: e.tenantId, messageId: e.messageId, status: e.status, version: e.version, at: e.at, details: e.details ?? null };
      for (const stream of streams) if (inTenant(stream.viewer.principal, e.tenantId)) stream.send('deliberation', data);
    });
  }

  app.addHook('preClose', async () => closeAll());

  app.get(
    '/v1/whoami',
    { schema: { summary: 'The caller as the server sees it: mode (dev or authenticated), subject, tenant, roles', tags: ['dashboard'] } },
    async (request) => whoami(request.principal),
  );

  app.get(
    '/v1/events',
    {
      schema: {
        summary: 'Live dashboard updates as Server-Sent Events (reviewer or admin)',
        description:
          'text/event-stream. Events: `hello` (the caller, the interval), `metrics` (a snapshot every interval: bus counters and latency, per-tenant counters of the caller\'s tenant, health, sessions, journal head for admins), `deliberation` (a held message changed: held, decision, approved, released, rejected, ...), `resync` (events were dropped; reload), `shutdown`. Send the credential as a header (read the stream with fetch).',
        tags: ['dashboard'],
      },
    },
    async (request, reply) => {
      const p = request.principal;
      if (!hasRole(p, Role.REVIEWER) && !hasRole(p, Role.ADMIN)) return sendFailure(reply, failure(ServerErrorCode.FORBIDDEN, 'the reviewer or admin role is required'));
      if (stopped || ctx.state.shuttingDown) return sendFailure(reply, failure(ServerErrorCode.SHUTTING_DOWN, 'the server is shutting down'));
      if (streams.size >= maxStreams) {
        counters.refused++;
        return sendFailure(reply, failure(RejectionCode.RATE_LIMITED, `at most ${maxStreams} event streams are served at once`, { retryAfterMs: 5000 }, 5));
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-store', 'x-accel-buffering': 'no' });
      const viewer: Viewer = { principal: p, scope: tenantScope(p), admin: hasRole(p, Role.ADMIN) };
      const stream = new EventStream(viewer, raw, counters);
      streams.add(stream);
      counters.opened++;
      request.raw.socket.setNoDelay(true);
      const forget = () => {
        stream.closed = true;
        streams.delete(stream);
        if (streams.size === 0 && timer !== undefined) {
          clearInterval(timer);
          timer = undefined;
        }
      };
      raw.on('close', forget);
      raw.on('error', forget);
      stream.send('hello', { ...whoami(p), intervalMs });
      stream.send('metrics', viewOf(snapshot(), viewer));
      if (timer === undefined) {
        timer = setInterval(tick, intervalMs);
        timer.unref();
      }
    },
  );
}
