import path from 'node:path';
import { fileURLToPath } from 'node:url';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { AgentBus } from '../bus.js';
import { ErrorCode, isBusError, RejectionCode } from '../errors.js';
import { Authenticator } from './auth.js';
import { DEFAULT_CONFIG, validateServerConfig, type ServerConfig } from './config.js';
import { sendFailure, type ServerContext } from './context.js';
import { failure, HttpFailure, ServerErrorCode } from './errors.js';
import { ForbiddenKeyError, parseJsonBody } from './messaging.js';
import { PrometheusExporter } from './metrics.js';
import { OpenApiCollector } from './openapi.js';
import type { DeliberationPort, JournalPort } from './ports.js';
import { Quotas } from './quotas.js';
import { agentRoutes } from './routes/agents.js';
import { chaosRoutes } from './routes/chaos.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { deliberationRoutes } from './routes/deliberations.js';
import { messageRoutes } from './routes/messages.js';
import { systemRoutes } from './routes/system.js';
import { InvalidRequest, requestValidatorCompiler } from './schemas.js';
import { HttpStats } from './http-stats.js';
import { SessionManager } from './sessions.js';
import { websocketRoutes } from './websocket.js';

export interface BuildServerOptions {
  /** Defaults to DEFAULT_CONFIG; a partial object is merged and validated by loadServerConfig, not here. */
  config?: ServerConfig;
  /** The bus to serve; a new AgentBus from config.bus when absent (started by buildServer). */
  bus?: AgentBus;
  deliberation?: DeliberationPort;
  journal?: JournalPort;
  /** A pino logger; one at config.logLevel on stderr when absent. */
  logger?: Logger;
  /** Folder of web assets (the dashboard lives in <webRoot>/dashboard). Default: the package's web/. */
  webRoot?: string;
}

export type AgentBusServer = FastifyInstance & { busContext: ServerContext };

const here = path.dirname(fileURLToPath(import.meta.url));
/** src/server → ../../web and dist/server → ../../web: the same depth in both trees. */
export const DEFAULT_WEB_ROOT = path.resolve(here, '..', '..', 'web');

const VERSION = '0.1.0';

/**
 * Builds the HTTP + WebSocket server around a bus. The returned fastify instance is ready for
 * inject() or listen(); closing it closes the sessions but not the bus (see serve.ts for the
 * whole shutdown sequence). When buildServer creates the bus itself, it also stops it on close.
 */
export async function buildServer(options: BuildServerOptions = {}): Promise<AgentBusServer> {
  const config = options.config ?? validateServerConfig(structuredClone(DEFAULT_CONFIG) as unknown as Record<string, unknown>);
  const log = options.logger ?? pino({ level: config.logLevel, base: { service: 'agent-bus' } }, pino.destination(2));
  const ownsBus = options.bus === undefined;
  const bus =
    options.bus ??
    new AgentBus({
      inboxCapacity: config.bus.inboxCapacity,
      drainTimeoutMs: config.bus.drainTimeoutMs,
      requestTimeoutMs: config.bus.requestTimeoutMs,
      maxAgents: config.bus.maxAgents,
    });
  if (!bus.isRunning) await bus.start();

  const auth = new Authenticator(config.auth);
  const quotas = new Quotas(config.quotas);
  const sessions = new SessionManager(bus, config.delivery, config.quotas.maxUnackedPerTenant);
  const state = { shuttingDown: false, websockets: 0 };
  const httpStats = new HttpStats();
  const exporter = new PrometheusExporter({
    bus,
    sessions: () => sessions.stats(),
    quotas: () => quotas.stats(),
    auth: () => auth.stats(),
    websockets: () => state.websockets,
    http: () => httpStats.snapshot(),
  });
  const ctx: ServerContext = {
    bus,
    config,
    auth,
    quotas,
    sessions,
    exporter,
    deliberation: options.deliberation,
    journal: options.journal,
    log,
    webRoot: options.webRoot ?? DEFAULT_WEB_ROOT,
    state,
  };
  sessions.onExpired = (agentId, count) => log.warn({ agentId, count }, 'messages expired unacknowledged (retention or expiresAt passed)');

  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    // No per-request child logger (fastify's default binds reqId): requests are not logged, and the
    // few error logs name the method and URL themselves.
    childLoggerFactory: (logger) => logger,
    bodyLimit: config.bodyLimitBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Agent ids are up to 128 characters, and a percent-encoded one up to three times that.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 384 },
  });
  app.setValidatorCompiler(requestValidatorCompiler() as never);
  // JSON bodies go through the WebSocket frames' parser: both edges refuse the same keys with the same code.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  const openapi = new OpenApiCollector({
    title: 'Enhanced Agent Bus',
    version: VERSION,
    description: 'A governed message bus for multi-agent AI systems. Errors are { error: { code, message } }.',
  });
  app.addHook('onRoute', openapi.onRoute);
  app.decorateRequest('principal', undefined as never);
  app.decorate('busContext', ctx);

  app.addHook('onRequest', (request, reply, done) => {
    if (request.routeOptions.config.auth === false) return done();
    const principal = auth.authenticateHeaders(request.headers, 'http');
    if (principal instanceof HttpFailure) {
      sendFailure(reply, principal);
      return;
    }
    request.principal = principal;
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    httpStats.record(request.routeOptions.config, request.method, reply.statusCode, reply.elapsedTime);
    done();
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof InvalidRequest) return sendFailure(reply, failure(error.code, error.message));
    if (error instanceof ForbiddenKeyError) return sendFailure(reply, failure(RejectionCode.INVALID_MESSAGE, `the body is refused: ${error.message}`));
    if (error instanceof SyntaxError) return sendFailure(reply, failure(RejectionCode.INVALID_MESSAGE, 'the body is not valid JSON'));
    if (error.code === 'FST_ERR_VALIDATION') return sendFailure(reply, failure(ErrorCode.INVALID_ARGUMENT, error.message));
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendFailure(reply, failure(RejectionCode.MESSAGE_TOO_LARGE, `the body exceeds ${config.bodyLimitBytes} bytes`));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return reply.code(415).send({ error: { code: RejectionCode.INVALID_MESSAGE, message: 'send application/json' } });
    }
    if (error.statusCode === 400) {
      return sendFailure(reply, failure(RejectionCode.INVALID_MESSAGE, `the body is not acceptable JSON: ${error.message}`));
    }
    if (isBusError(error)) return sendFailure(reply, failure(error.code, error.message));
    if (error.statusCode === 503 && state.shuttingDown) return sendFailure(reply, failure(ServerErrorCode.SHUTTING_DOWN, 'the server is shutting down'));
    request.log.error({ err: error, url: request.url, method: request.method }, 'request failed');
    return sendFailure(reply, failure(ServerErrorCode.INTERNAL, 'internal error'));
  });
  app.setNotFoundHandler((request, reply) => sendFailure(reply, failure(ServerErrorCode.ROUTE_NOT_FOUND, `no route ${request.method} ${request.url.split('?')[0]}`)));

  await app.register(websocket, {
    options: { maxPayload: config.bodyLimitBytes },
    preClose(done) {
      for (const client of app.websocketServer.clients) client.close(1001, 'server shutting down');
      done();
    },
  });
  app.addHook('preClose', async () => {
    state.shuttingDown = true;
    sessions.wakeLongPolls();
  });
  app.addHook('onClose', async () => {
    if (ownsBus) {
      await bus.stop();
      sessions.closeAll();
    }
  });

  const routes = app as unknown as FastifyInstance;
  agentRoutes(routes, ctx);
  messageRoutes(routes, ctx);
  deliberationRoutes(routes, ctx);
  websocketRoutes(routes, ctx);
  systemRoutes(routes, ctx, () => openapi.document());
  chaosRoutes(routes, ctx);
  dashboardRoutes(routes, ctx);

  return app as unknown as AgentBusServer;
}
