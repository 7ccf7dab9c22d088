import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { hasRole, Role, tenantScope, type Principal } from '../auth.js';
import { redactConfig } from '../config.js';
import { sendFailure, type Req, type ServerContext } from '../context.js';
import { failure, ServerErrorCode, type HttpFailure } from '../errors.js';
import { ErrorSchema, HealthSchema, TailQuery } from '../schemas.js';

const OPEN = { auth: false };
const AnyObject = Type.Object({}, { additionalProperties: true });
const HealthzQuery = Type.Object({ details: Type.Optional(Type.Boolean()) });

const PLACEHOLDER = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Enhanced Agent Bus</title></head>
<body><h1>Enhanced Agent Bus</h1><p>The dashboard is not built into this copy. The API is described at
<a href="/openapi.json">/openapi.json</a>; metrics are at <a href="/metrics">/metrics</a>; health at <a href="/healthz">/healthz</a>.</p></body></html>`;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.ico': 'image/x-icon',
};

/** The health report without the recovery history (that one is admin-only, at /v1/resilience/health). */
function healthDetails(ctx: ServerContext): Record<string, unknown> {
  const report = ctx.bus.health() as Record<string, unknown>;
  const { recovery, ...rest } = report as { recovery?: { active: number; awaitingManual: number } };
  return recovery === undefined ? rest : { ...rest, recovery: { active: recovery.active, awaitingManual: recovery.awaitingManual } };
}

export function systemRoutes(app: FastifyInstance, ctx: ServerContext, openapi: () => unknown): void {
  app.get(
    '/healthz',
    {
      config: OPEN,
      schema: { summary: 'Liveness: the process answers; ?details=true adds the health score, status and breakers', tags: ['system'], querystring: HealthzQuery, response: { 200: HealthSchema } },
    },
    async (request: Req<unknown, Static<typeof HealthzQuery>>) => (request.query.details === true ? { status: 'ok', health: healthDetails(ctx) } : { status: 'ok' }),
  );

  app.get(
    '/readyz',
    { config: OPEN, schema: { summary: 'Readiness: the bus accepts messages', tags: ['system'], response: { 200: HealthSchema, 503: HealthSchema } } },
    async (_request, reply) => {
      const ready = ctx.bus.isRunning && !ctx.state.shuttingDown;
      const journal = ctx.journal?.stats() as { writable?: boolean } | undefined;
      const journalOk = journal === undefined || journal.writable !== false;
      // Not ready while the dependency breakers score CRITICAL (a load balancer sends traffic elsewhere).
      const health = ctx.bus.health();
      const healthOk = health.status !== 'CRITICAL';
      const ok = ready && journalOk && healthOk;
      const body = { status: ok ? 'ready' : 'not_ready', bus: ctx.bus.isRunning, shuttingDown: ctx.state.shuttingDown, journal: journal === undefined ? 'none' : journalOk ? 'writable' : 'not_writable', health: health.status, healthScore: health.score };
      return reply.code(ok ? 200 : 503).send(body);
    },
  );

  app.get('/metrics', { config: OPEN, schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['system'] } }, async (_request, reply) => {
    const text = await ctx.exporter.scrape();
    return reply.header('content-type', ctx.exporter.contentType).send(text);
  });

  app.get('/openapi.json', { config: OPEN, schema: { summary: 'This document', tags: ['system'] } }, async () => openapi());

  app.get(
    '/v1/config',
    { schema: { summary: 'The effective configuration, secrets redacted (admin)', tags: ['system'], response: { 200: AnyObject, 403: ErrorSchema } } },
    async (request, reply) => {
      const refused = everyTenantAdmin(request.principal, 'the configuration');
      if (refused !== undefined) return sendFailure(reply, refused);
      return redactConfig(ctx.config);
    },
  );

  const journalGuard = (request: { principal: Req['principal'] }, reply: Parameters<typeof sendFailure>[0]) => {
    if (ctx.journal === undefined) return sendFailure(reply, failure(ServerErrorCode.NOT_CONFIGURED, 'this server runs without a journal'));
    const refused = everyTenantAdmin(request.principal, 'the journal');
    return refused === undefined ? undefined : sendFailure(reply, refused);
  };

  app.get(
    '/v1/journal/verify',
    { schema: { summary: 'Verify the hash chain and seals of the journal on disk (admin)', tags: ['journal'], response: { 200: AnyObject, 403: ErrorSchema, 409: AnyObject, 503: ErrorSchema } } },
    async (request, reply) => {
      const refused = journalGuard(request, reply);
      if (refused !== undefined) return refused;
      const report = await ctx.journal!.verify();
      return reply.code(report.ok ? 200 : 409).send(report);
    },
  );

  app.get(
    '/v1/journal/tail',
    { schema: { summary: 'The last n journal records (admin)', tags: ['journal'], querystring: TailQuery, response: { 200: Type.Object({ records: Type.Array(AnyObject) }), 403: ErrorSchema, 503: ErrorSchema } } },
    async (request: Req<unknown, Static<typeof TailQuery>>, reply) => {
      const refused = journalGuard(request, reply);
      if (refused !== undefined) return refused;
      return { records: await ctx.journal!.tail(request.query.n) };
    },
  );

  app.get(
    '/v1/journal/stats',
    { schema: { summary: 'Journal counters and chain head (admin)', tags: ['journal'], response: { 200: AnyObject, 403: ErrorSchema, 503: ErrorSchema } } },
    async (request, reply) => {
      const refused = journalGuard(request, reply);
      if (refused !== undefined) return refused;
      return ctx.journal!.stats();
    },
  );

  // The dashboard (web/dashboard/) when it is built into the package, otherwise a pointer page.
  const dashboardRoot = path.join(ctx.webRoot, 'dashboard');
  const serveFile = async (relative: string, reply: Parameters<typeof sendFailure>[0]) => {
    const file = path.resolve(dashboardRoot, relative);
    if (file !== dashboardRoot && !file.startsWith(dashboardRoot + path.sep)) return sendFailure(reply, failure(ServerErrorCode.ROUTE_NOT_FOUND, 'not found'));
    try {
      const body = await readFile(file);
      return reply.header('content-type', CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream').send(body);
    } catch {
      if (relative === 'index.html') return reply.header('content-type', 'text/html; charset=utf-8').send(PLACEHOLDER);
      return sendFailure(reply, failure(ServerErrorCode.ROUTE_NOT_FOUND, 'not found'));
    }
  };
  app.get('/', { config: OPEN, schema: { summary: 'The reviewer dashboard', tags: ['dashboard'] } }, async (_request, reply) => serveFile('index.html', reply));
  app.get(
    '/ui/*',
    { config: OPEN, schema: { summary: 'Dashboard assets', tags: ['dashboard'], hide: true } },
    async (request: Req<{ '*': string }>, reply) => serveFile(request.params['*'], reply),
  );
}

/** The journal and the configuration span every tenant: only an admin of every tenant may read them. */
function everyTenantAdmin(principal: Principal, what: string): HttpFailure | undefined {
  if (!hasRole(principal, Role.ADMIN)) return failure(ServerErrorCode.FORBIDDEN, 'the admin role is required');
  if (tenantScope(principal) !== undefined) return failure(ServerErrorCode.FORBIDDEN, `${what} spans every tenant: an admin of every tenant (tenantId "*") is required`);
  return undefined;
}
