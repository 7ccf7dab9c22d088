import { SpanStatusCode } from '@opentelemetry/api';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ErrorCode } from '../../errors.js';
import { hasRole, inTenant, Role, type Principal } from '../auth.js';
import { listedTenant, sendFailure, type Req, type ServerContext } from '../context.js';
import { failure, HttpFailure, ServerErrorCode } from '../errors.js';
import { tracer } from '../messaging.js';
import type { DeliberationItemView, DeliberationPort, DeliberationResult } from '../ports.js';
import { DecisionBody, DeliberationItemSchema, DeliberationListQuery, ErrorSchema, IdParams, VoteBody } from '../schemas.js';

const TAGS = ['deliberations'];
const ItemResponse = Type.Object({ item: DeliberationItemSchema });
const ERRORS = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };

function notConfigured(): HttpFailure {
  return failure(ServerErrorCode.NOT_CONFIGURED, 'this server runs without a deliberation service');
}

function reviewerOrAdmin(p: Principal): HttpFailure | undefined {
  return hasRole(p, Role.REVIEWER) || hasRole(p, Role.ADMIN) ? undefined : failure(ServerErrorCode.FORBIDDEN, 'the reviewer or admin role is required');
}

function notFound(id: string): HttpFailure {
  return failure('NOT_FOUND', `no deliberation item ${id}`);
}

/** The item when it exists in the caller's tenant scope; otherwise NOT_FOUND (no probing across tenants). */
async function visibleItem(port: DeliberationPort, p: Principal, id: string): Promise<DeliberationItemView | HttpFailure> {
  const item = await port.get(id);
  if (item === undefined || !inTenant(p, item.tenantId)) return notFound(id);
  return item;
}

function answerDecision(reply: FastifyReply, result: DeliberationResult): FastifyReply {
  if (result.ok) return reply.send({ item: result.item });
  // An item of another tenant is reported like an unknown one, so items cannot be probed across tenants.
  if (result.code === 'TENANT_MISMATCH') return sendFailure(reply, failure('NOT_FOUND', result.reason));
  return sendFailure(reply, failure(result.code, result.reason));
}

export function deliberationRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    '/v1/deliberations',
    {
      schema: {
        summary: "List held messages of the caller's tenant (reviewer or admin)",
        tags: TAGS,
        querystring: DeliberationListQuery,
        response: { 200: Type.Object({ items: Type.Array(DeliberationItemSchema), nextCursor: Type.Optional(Type.String()) }), ...ERRORS },
      },
    },
    async (request: Req<unknown, Static<typeof DeliberationListQuery>>, reply) => {
      const port = ctx.deliberation;
      if (port === undefined) return sendFailure(reply, notConfigured());
      const p = request.principal;
      const refused = reviewerOrAdmin(p);
      if (refused !== undefined) return sendFailure(reply, refused);
      const q = request.query;
      const wanted = listedTenant(p, q.tenantId);
      if (wanted instanceof HttpFailure) return sendFailure(reply, wanted);
      const query: Parameters<DeliberationPort['list']>[0] = { limit: q.limit };
      if (wanted !== undefined) query.tenantId = wanted;
      if (q.status !== undefined) query.status = q.status;
      if (q.cursor !== undefined) {
        if (port.isCursor?.(q.cursor) === false) return sendFailure(reply, failure(ErrorCode.INVALID_ARGUMENT, 'query.cursor is not a cursor this server issued: pass the nextCursor of a previous page, or no cursor for the first page'));
        query.cursor = q.cursor;
      }
      const page = await port.list(query);
      return { items: page.items, nextCursor: page.nextCursor };
    },
  );

  app.get(
    '/v1/deliberations/:id',
    { schema: { summary: 'One held message with its decisions, votes and outcome', tags: TAGS, params: IdParams, response: { 200: ItemResponse, ...ERRORS } } },
    async (request: Req<Static<typeof IdParams>>, reply) => {
      const port = ctx.deliberation;
      if (port === undefined) return sendFailure(reply, notConfigured());
      const p = request.principal;
      const refused = reviewerOrAdmin(p);
      if (refused !== undefined) return sendFailure(reply, refused);
      const item = await visibleItem(port, p, request.params.id);
      if (!('id' in item)) return sendFailure(reply, item);
      return { item };
    },
  );

  for (const kind of ['approve', 'reject'] as const) {
    app.post(
      `/v1/deliberations/:id/${kind}`,
      {
        schema: {
          summary: kind === 'approve' ? 'Approve a held message (reviewer)' : 'Reject a held message (reviewer)',
          description: 'The decision is bound to the reviewer (the credential subject), their tenant and, when given, the message digest.',
          tags: TAGS,
          params: IdParams,
          body: DecisionBody,
          response: { 200: ItemResponse, ...ERRORS },
        },
        // No body at all is a decision without a reason (REASON_REQUIRED below), not a malformed request.
        preValidation: async (request: { body: unknown }) => {
          request.body ??= {};
        },
      },
      async (request: Req<Static<typeof IdParams>, unknown, Static<typeof DecisionBody>>, reply) => {
        const port = ctx.deliberation;
        if (port === undefined) return sendFailure(reply, notConfigured());
        const p = request.principal;
        if (!hasRole(p, Role.REVIEWER)) return sendFailure(reply, failure(ServerErrorCode.FORBIDDEN, 'the reviewer role is required'));
        const item = await visibleItem(port, p, request.params.id);
        if (!('id' in item)) return sendFailure(reply, item);
        const b = request.body;
        // Required here whatever the item's policy says (requireReason); the service's own code for it.
        if (b.reason === undefined || b.reason.trim() === '') return sendFailure(reply, failure(ErrorCode.REASON_REQUIRED, 'a non-empty body.reason is required: it is recorded with the decision'));
        const dev = p.kind === 'dev';
        const decision = {
          reviewerId: dev ? (b.reviewerId ?? 'dev-reviewer') : p.subject,
          reason: b.reason,
          roles: dev ? (b.roles ?? []) : [...p.approverRoles],
          tenantId: item.tenantId,
          ...(b.messageDigest ?? b.message_digest) !== undefined ? { messageDigest: (b.messageDigest ?? b.message_digest)! } : {},
          ...(b.constitutionalHash !== undefined ? { constitutionalHash: b.constitutionalHash } : {}),
        };
        const span = tracer.startSpan(`agent_bus.deliberation.${kind}`, { attributes: { 'agent_bus.deliberation_id': item.id, 'agent_bus.tenant': item.tenantId } });
        try {
          const result = await (kind === 'approve' ? port.approve(item.id, decision) : port.reject(item.id, decision));
          if (!result.ok) {
            span.setAttribute('agent_bus.code', result.code);
            span.setStatus({ code: SpanStatusCode.ERROR, message: result.code });
          } else {
            ctx.log.info({ deliberationId: item.id, tenantId: item.tenantId, reviewer: decision.reviewerId, decision: kind }, 'deliberation decision');
          }
          return answerDecision(reply, result);
        } finally {
          span.end();
        }
      },
    );
  }

  app.post(
    '/v1/deliberations/:id/vote',
    {
      schema: {
        summary: "An agent's vote in a held message's election",
        tags: TAGS,
        params: IdParams,
        body: VoteBody,
        response: { 200: ItemResponse, ...ERRORS },
      },
    },
    async (request: Req<Static<typeof IdParams>, unknown, Static<typeof VoteBody>>, reply) => {
      const port = ctx.deliberation;
      if (port === undefined) return sendFailure(reply, notConfigured());
      const p = request.principal;
      const agentId = p.kind === 'dev' ? request.body.agentId : p.agentId;
      if (agentId === undefined) return sendFailure(reply, failure(ServerErrorCode.FORBIDDEN, 'only an agent credential may vote'));
      const item = await visibleItem(port, p, request.params.id);
      if (!('id' in item)) return sendFailure(reply, item);
      const b = request.body;
      const span = tracer.startSpan('agent_bus.deliberation.vote', { attributes: { 'agent_bus.deliberation_id': item.id, 'agent_bus.agent': agentId } });
      try {
        const vote = { agentId, vote: b.vote, ...(b.reason !== undefined ? { reason: b.reason } : {}), ...(b.signature !== undefined ? { signature: b.signature } : {}) };
        return answerDecision(reply, await port.vote(item.id, vote));
      } finally {
        span.end();
      }
    },
  );
}
