import type { RouteOptions } from 'fastify';
import { BUS_VALIDATED, ErrorSchema, INVALID_FIELD_CODE, inline } from './schemas.js';

/**
 * OpenAPI 3.1 document built from the route schemas as fastify registers them (onRoute hook).
 * OpenAPI 3.1 uses JSON Schema 2020-12, so the TypeBox schemas go in as they are.
 */

interface CollectedRoute {
  method: string;
  url: string;
  schema: Record<string, unknown>;
  open: boolean;
  websocket: boolean;
}

const STATUS_TEXT: Readonly<Record<string, string>> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted (held for deliberation)',
  '400': 'Invalid request (INVALID_MESSAGE, INVALID_ARGUMENT, INVALID_AGENT, EXPIRED, ...)',
  '401': 'Not authenticated (UNAUTHENTICATED)',
  '403': 'Forbidden (FORBIDDEN, IDENTITY_MISMATCH, TENANT_MISMATCH, POLICY_DENIED, CONTENT_BLOCKED, ...)',
  '404': 'Not found (UNKNOWN_AGENT, UNKNOWN_RECIPIENT, NO_ROUTE, NOT_FOUND)',
  '409': 'Conflict (DUPLICATE, CONFLICT, ALREADY_SUBSCRIBED, ...)',
  '413': 'Too large (MESSAGE_TOO_LARGE)',
  '429': 'Rate limited (RATE_LIMITED; see Retry-After)',
  '503': 'Unavailable (BACKPRESSURE, BUS_STOPPING, NOT_CONFIGURED, ...)',
  '504': 'No reply in time (TIMEOUT)',
};

export class OpenApiCollector {
  private readonly routes: CollectedRoute[] = [];
  private cached: Record<string, unknown> | undefined;

  constructor(private readonly info: { title: string; version: string; description: string }) {}

  readonly onRoute = (route: RouteOptions): void => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD' || method === 'OPTIONS') continue;
      const schema = (route.schema ?? {}) as Record<string, unknown>;
      if (schema.hide === true) continue;
      const config = (route.config ?? {}) as { auth?: boolean };
      this.routes.push({ method: method.toLowerCase(), url: route.url, schema, open: config.auth === false, websocket: (route as { websocket?: boolean }).websocket === true });
    }
    this.cached = undefined;
  };

  document(): Record<string, unknown> {
    if (this.cached !== undefined) return this.cached;
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of this.routes) {
      const url = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const op: Record<string, unknown> = {
        operationId: operationId(r.method, r.url),
        summary: r.schema.summary,
        tags: r.schema.tags,
      };
      if (r.schema.description !== undefined) op.description = r.schema.description;
      const parameters: unknown[] = [];
      for (const [where, key] of [
        ['path', 'params'],
        ['query', 'querystring'],
      ] as const) {
        const s = r.schema[key] as { properties?: Record<string, Record<string, unknown>>; required?: string[] } | undefined;
        for (const [name, prop] of Object.entries(s?.properties ?? {})) {
          const { description, ...schema } = prop;
          parameters.push({ name, in: where, required: where === 'path' || (s?.required ?? []).includes(name), ...(description !== undefined ? { description } : {}), schema: inline(schema as never) });
        }
      }
      if (parameters.length > 0) op.parameters = parameters;
      if (r.schema.body !== undefined) {
        const body = { ...(r.schema.body as Record<string, unknown>) };
        // The server's own markers, not part of the body's contract.
        delete body[BUS_VALIDATED];
        delete body[INVALID_FIELD_CODE];
        op.requestBody = { required: true, content: { 'application/json': { schema: body } } };
      }
      const responses: Record<string, unknown> = {};
      if (r.websocket) {
        responses['101'] = { description: 'Switching Protocols: the WebSocket protocol described in docs/server.md' };
      }
      for (const [status, schema] of Object.entries((r.schema.response ?? {}) as Record<string, unknown>)) {
        responses[status] = { description: STATUS_TEXT[status] ?? 'Response', content: { 'application/json': { schema } } };
      }
      if (Object.keys(responses).length === 0) responses['200'] = { description: 'OK' };
      if (!r.open) {
        responses['401'] ??= { description: STATUS_TEXT['401'], content: { 'application/json': { schema: ErrorSchema } } };
        op.security = [{ bearerAuth: [] }, { apiKeyAuth: [] }];
      }
      responses.default = { description: 'Error', content: { 'application/json': { schema: ErrorSchema } } };
      op.responses = responses;
      (paths[url] ??= {})[r.method] = op;
    }
    this.cached = JSON.parse(
      JSON.stringify({
        openapi: '3.1.0',
        info: this.info,
        paths,
        components: {
          securitySchemes: {
            bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT (HS256) or API key', description: 'An HS256 JWT bound to an agent and tenant, or an API key.' },
            apiKeyAuth: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
          },
        },
      }),
    ) as Record<string, unknown>;
    return this.cached;
  }
}

function operationId(method: string, url: string): string {
  const words = url
    .split('/')
    .filter((s) => s.length > 0 && s !== 'v1')
    .map((s) => (s.startsWith(':') ? `by_${s.slice(1)}` : s.replace(/[^A-Za-z0-9]+/g, '_')));
  return [method, ...words].join('_') || method;
}
