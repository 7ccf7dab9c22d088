import type { FastifyInstance } from 'fastify';
import type { AgentRecord } from '../../registry/types.js';
import { ErrorCode, isBusError } from '../../errors.js';
import { normalizeTenantId } from '../../message/tenant.js';
import { actsAs, hasRole, inTenant, Role, type Principal } from '../auth.js';
import { listedTenant, notYourTenant, sendFailure, type Req, type ServerContext } from '../context.js';
import { failure, HttpFailure, ServerErrorCode } from '../errors.js';
import {
  AckBody,
  AckResponse,
  AgentIdParams,
  AgentQuerySchema,
  AgentSchema,
  ErrorSchema,
  PullQuery,
  PullResponse,
  RegistrationBody,
} from '../schemas.js';
import { Type, type Static } from '@sinclair/typebox';
import { toDelivery } from '../sessions.js';

const TAGS = ['agents'];

/** The agent, when the caller may see it; other tenants' agents are reported as not found. */
export async function visibleAgent(ctx: ServerContext, principal: Principal, agentId: string): Promise<AgentRecord | HttpFailure> {
  const agent = await ctx.bus.getAgent(agentId);
  if (agent === undefined || !inTenant(principal, agent.tenantId)) return failure(ErrorCode.UNKNOWN_AGENT, `agent ${agentId} is not registered`);
  return agent;
}

/** Self, or an admin of the agent's tenant. */
function mayManage(principal: Principal, agentId: string, tenantId: string): HttpFailure | undefined {
  if (principal.kind === 'dev') return undefined;
  if (!hasRole(principal, Role.ADMIN) && principal.agentId !== agentId) {
    return principal.agentId === undefined ? failure(ServerErrorCode.FORBIDDEN, 'the admin role (or a credential of this agent) is required') : actsAs(principal, agentId);
  }
  return inTenant(principal, tenantId) ? undefined : notYourTenant(principal, tenantId);
}

export function agentRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { bus, sessions, config } = ctx;

  app.post(
    '/v1/agents',
    {
      schema: {
        summary: 'Register (or re-register) an agent',
        tags: TAGS,
        body: RegistrationBody,
        response: { 201: Type.Object({ agent: AgentSchema }), 400: ErrorSchema, 403: ErrorSchema, 409: ErrorSchema },
      },
    },
    async (request: Req<unknown, unknown, Static<typeof RegistrationBody>>, reply) => {
      const p = request.principal;
      const b = request.body;
      const agentId = b.agentId ?? b.agent_id ?? p.agentId;
      const rawTenant = b.tenantId ?? b.tenant_id ?? (p.tenantId === '*' ? undefined : p.tenantId);
      if (agentId === undefined || rawTenant === undefined) return sendFailure(reply, failure(ErrorCode.INVALID_AGENT, 'agentId and tenantId are required'));
      const tenantId = normalizeTenantId(rawTenant) ?? rawTenant;
      const refused = mayManage(p, agentId, tenantId);
      if (refused !== undefined) return sendFailure(reply, refused);
      const existing = bus.registry.lookup(agentId);
      if (existing !== undefined && existing.tenantId !== tenantId && !inTenant(p, existing.tenantId)) {
        return sendFailure(reply, failure(ErrorCode.CONFLICT, `agent id ${agentId} is taken in another tenant`));
      }
      try {
        const agent = await bus.registerAgent({
          agentId,
          tenantId,
          agentType: b.agentType ?? b.agent_type,
          capabilities: b.capabilities,
          metadata: b.metadata,
        });
        return reply.code(201).send({ agent });
      } catch (error) {
        if (isBusError(error)) return sendFailure(reply, failure(error.code, error.message));
        throw error;
      }
    },
  );

  app.get(
    '/v1/agents',
    {
      schema: {
        summary: "List agents of the caller's tenant",
        tags: TAGS,
        querystring: AgentQuerySchema,
        response: { 200: Type.Object({ agents: Type.Array(AgentSchema) }), 403: ErrorSchema },
      },
    },
    async (request: Req<unknown, Static<typeof AgentQuerySchema>>, reply) => {
      const p = request.principal;
      const q = request.query;
      const wanted = listedTenant(p, q.tenantId);
      if (wanted instanceof HttpFailure) return sendFailure(reply, wanted);
      const query: { tenantId?: string; agentType?: string; capability?: string } = {};
      if (wanted !== undefined) query.tenantId = wanted;
      if (q.agentType !== undefined) query.agentType = q.agentType;
      if (q.capability !== undefined) query.capability = q.capability;
      return { agents: await bus.listAgents(query) };
    },
  );

  app.get(
    '/v1/agents/:agentId',
    {
      schema: { summary: 'One agent', tags: TAGS, params: AgentIdParams, response: { 200: Type.Object({ agent: AgentSchema }), 404: ErrorSchema } },
    },
    async (request: Req<Static<typeof AgentIdParams>>, reply) => {
      const agent = await visibleAgent(ctx, request.principal, request.params.agentId);
      if (!('agentId' in agent)) return sendFailure(reply, agent);
      return { agent };
    },
  );

  app.delete(
    '/v1/agents/:agentId',
    {
      schema: {
        summary: 'Unregister an agent (its undelivered messages are discarded and counted)',
        tags: TAGS,
        params: AgentIdParams,
        response: { 200: Type.Object({ removed: Type.Boolean() }), 403: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request: Req<Static<typeof AgentIdParams>>, reply) => {
      const agent = await visibleAgent(ctx, request.principal, request.params.agentId);
      if (!('agentId' in agent)) return sendFailure(reply, agent);
      const refused = mayManage(request.principal, agent.agentId, agent.tenantId);
      if (refused !== undefined) return sendFailure(reply, refused);
      const removed = await bus.unregisterAgent(agent.agentId);
      ctx.quotas.forgetAgent(agent.tenantId, agent.agentId);
      return { removed };
    },
  );

  app.post(
    '/v1/agents/:agentId/heartbeat',
    {
      schema: { summary: 'Heartbeat: marks the agent as alive', tags: TAGS, params: AgentIdParams, response: { 200: Type.Object({ agent: AgentSchema }), 403: ErrorSchema, 404: ErrorSchema } },
    },
    async (request: Req<Static<typeof AgentIdParams>>, reply) => {
      const agent = await visibleAgent(ctx, request.principal, request.params.agentId);
      if (!('agentId' in agent)) return sendFailure(reply, agent);
      const refused = mayManage(request.principal, agent.agentId, agent.tenantId);
      if (refused !== undefined) return sendFailure(reply, refused);
      const updated = await bus.heartbeat(agent.agentId);
      if (updated === undefined) return sendFailure(reply, failure(ErrorCode.UNKNOWN_AGENT, `agent ${agent.agentId} is not registered`));
      return { agent: updated };
    },
  );

  app.get(
    '/v1/agents/:agentId/messages',
    {
      schema: {
        summary: 'Pull: lease up to `max` messages, waiting up to `waitMs` for the first (long poll)',
        description: 'Returned messages are leased for leaseMs; acknowledge them with POST /v1/agents/{agentId}/acks, or they are delivered again (same deliveryId, higher attempt).',
        tags: ['delivery'],
        params: AgentIdParams,
        querystring: PullQuery,
        response: { 200: PullResponse, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 429: ErrorSchema },
      },
    },
    async (request: Req<Static<typeof AgentIdParams>, Static<typeof PullQuery>>, reply) => {
      const p = request.principal;
      const agentId = request.params.agentId;
      const mismatch = actsAs(p, agentId);
      if (mismatch !== undefined) return sendFailure(reply, mismatch);
      const agent = await visibleAgent(ctx, p, agentId);
      if (!('agentId' in agent)) return sendFailure(reply, agent);
      let session;
      try {
        session = sessions.open(agent.agentId, agent.tenantId);
      } catch (error) {
        if (isBusError(error)) return sendFailure(reply, failure(error.code, error.message));
        throw error;
      }
      const { max, waitMs } = request.query;
      const leaseMs = Math.min(request.query.leaseMs ?? config.delivery.pullLeaseMs, config.delivery.maxPullLeaseMs);
      let entries = session.take(max, leaseMs);
      if (entries.length === 0 && waitMs > 0 && !ctx.state.shuttingDown) {
        const entered = ctx.quotas.enter(agent.tenantId, agent.agentId);
        if (entered !== undefined) return sendFailure(reply, entered);
        try {
          if (await session.waitForWork(Math.min(waitMs, config.delivery.maxPullWaitMs))) entries = session.take(max, leaseMs);
        } finally {
          ctx.quotas.leave(agent.tenantId, agent.agentId);
        }
      }
      return { deliveries: entries.map(toDelivery) };
    },
  );

  app.post(
    '/v1/agents/:agentId/acks',
    {
      schema: {
        summary: 'Acknowledge pulled or pushed deliveries',
        tags: ['delivery'],
        params: AgentIdParams,
        body: AckBody,
        response: { 200: AckResponse, 403: ErrorSchema, 404: ErrorSchema },
      },
    },
    async (request: Req<Static<typeof AgentIdParams>, unknown, Static<typeof AckBody>>, reply) => {
      const p = request.principal;
      const agentId = request.params.agentId;
      const mismatch = actsAs(p, agentId);
      if (mismatch !== undefined) return sendFailure(reply, mismatch);
      const agent = await visibleAgent(ctx, p, agentId);
      if (!('agentId' in agent)) return sendFailure(reply, agent);
      const ids = request.body.deliveryIds ?? request.body.delivery_ids ?? [];
      const session = sessions.get(agent.agentId);
      if (session === undefined) return { acked: [], unknown: ids };
      return session.ack(ids);
    },
  );
}
