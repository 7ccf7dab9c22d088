import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { AgentBus } from '../bus.js';
import { normalizeTenantId } from '../message/tenant.js';
import { tenantScope, type Authenticator, type Principal } from './auth.js';
import type { ServerConfig } from './config.js';
import { failure, ServerErrorCode, type HttpFailure } from './errors.js';
import type { Answer } from './messaging.js';
import type { PrometheusExporter } from './metrics.js';
import type { DeliberationPort, JournalPort } from './ports.js';
import type { Quotas } from './quotas.js';
import type { SessionManager } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifySchema {
    summary?: string;
    description?: string;
    tags?: readonly string[];
    /** Left out of /openapi.json. */
    hide?: boolean;
  }
  interface FastifyContextConfig {
    /** false for open routes (health, metrics, OpenAPI, dashboard). Default: authenticated. */
    auth?: boolean;
  }
}

/** Everything a route module needs; built once by buildServer. */
export interface ServerContext {
  bus: AgentBus;
  config: ServerConfig;
  auth: Authenticator;
  quotas: Quotas;
  sessions: SessionManager;
  exporter: PrometheusExporter;
  deliberation: DeliberationPort | undefined;
  journal: JournalPort | undefined;
  log: Logger;
  webRoot: string;
  state: { shuttingDown: boolean; websockets: number };
}

/** The refusal for acting in a tenant the credential does not belong to. */
export function notYourTenant(principal: Principal, tenantId: string): HttpFailure {
  return failure(ServerErrorCode.FORBIDDEN, `tenant ${tenantId} is not yours: the credential belongs to tenant ${principal.tenantId}`);
}

/**
 * The tenant a listing shows: the one asked for (normalised), else the credential's; undefined
 * for every tenant (an every-tenant admin asking for none). Another tenant than the credential's is refused.
 */
export function listedTenant(principal: Principal, requested: string | undefined): string | undefined | HttpFailure {
  const scope = tenantScope(principal);
  if (requested === undefined) return scope;
  const wanted = normalizeTenantId(requested) ?? requested;
  return scope !== undefined && wanted !== scope ? notYourTenant(principal, wanted) : wanted;
}

/** Sends an error value. */
export function sendFailure(reply: FastifyReply, f: HttpFailure): FastifyReply {
  if (f.retryAfter !== undefined) reply.header('retry-after', String(f.retryAfter));
  return reply.code(f.status).send(f.body);
}

export function sendAnswer(reply: FastifyReply, answer: Answer): FastifyReply {
  if (answer.retryAfter !== undefined) reply.header('retry-after', String(answer.retryAfter));
  return reply.code(answer.status).send(answer.body);
}

export type Req<P = unknown, Q = unknown, B = unknown> = FastifyRequest<{ Params: P; Querystring: Q; Body: B }>;
