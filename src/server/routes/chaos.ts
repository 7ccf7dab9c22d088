import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isBusError } from '../../errors.js';
import { ChaosKind, RecoveryStrategy, type Resilience } from '../../resilience/index.js';
import { hasRole, Role } from '../auth.js';
import { sendFailure, type Req, type ServerContext } from '../context.js';
import { failure, ServerErrorCode } from '../errors.js';
import { ErrorSchema } from '../schemas.js';

/**
 * Admin routes for resilience: chaos scenarios (only when the bus was built with chaos enabled —
 * the engine itself refuses otherwise), breaker resets, recoveries (manual ones awaiting an
 * operator), and the health history.
 */

const AnyObject = Type.Object({}, { additionalProperties: true });
const ERRORS = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 503: ErrorSchema };

const ScenarioBody = Type.Object(
  {
    kind: Type.Union(Object.values(ChaosKind).map((k) => Type.Literal(k))),
    target: Type.String({ minLength: 1, maxLength: 200 }),
    durationMs: Type.Number({ exclusiveMinimum: 0 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    delayMs: Type.Optional(Type.Number({ minimum: 0, maximum: 60_000 })),
    errorRate: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    blastRadius: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 64 })),
  },
  { additionalProperties: false },
);
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) });
const ScheduleBody = Type.Object(
  {
    strategy: Type.Optional(Type.Union(Object.values(RecoveryStrategy).map((s) => Type.Literal(s)))),
    priority: Type.Optional(Type.Number()),
  },
  { additionalProperties: false },
);
const HistoryQuery = Type.Object({ sinceMs: Type.Optional(Type.Number({ minimum: 0 })) });

export function chaosRoutes(app: FastifyInstance, ctx: ServerContext): void {
  /** The bus's resilience for an admin caller, or the refusal already sent. */
  const guard = (request: { principal: Req['principal'] }, reply: FastifyReply): Resilience | undefined => {
    if (!hasRole(request.principal, Role.ADMIN)) {
      sendFailure(reply, failure(ServerErrorCode.FORBIDDEN, 'the admin role is required'));
      return undefined;
    }
    const r = ctx.bus.resilience;
    if (r === undefined) sendFailure(reply, failure(ServerErrorCode.NOT_CONFIGURED, 'this bus runs without resilience'));
    return r;
  };
  const fail = (reply: FastifyReply, error: unknown) => {
    if (isBusError(error)) return sendFailure(reply, failure(error.code, error.message));
    throw error;
  };

  app.get('/v1/chaos', { schema: { summary: 'Chaos engine state and active scenarios (admin)', tags: ['resilience'], response: { 200: AnyObject, ...ERRORS } } }, async (request, reply) => {
    const r = guard(request, reply);
    if (r === undefined) return reply;
    return r.chaos.stats();
  });

  app.post(
    '/v1/chaos/scenarios',
    { schema: { summary: 'Start a chaos scenario (admin; refused unless chaos is enabled)', tags: ['resilience'], body: ScenarioBody, response: { 201: AnyObject, ...ERRORS } } },
    async (request: Req<unknown, unknown, Static<typeof ScenarioBody>>, reply) => {
      const r = guard(request, reply);
      if (r === undefined) return reply;
      try {
        const scenario = await r.chaos.inject(request.body);
        ctx.log.warn({ scenario, by: request.principal.subject }, 'chaos scenario started');
        return reply.code(201).send({ scenario });
      } catch (error) {
        return fail(reply, error);
      }
    },
  );

  app.delete(
    '/v1/chaos/scenarios/:name',
    { schema: { summary: 'End a chaos scenario (admin)', tags: ['resilience'], params: NameParams, response: { 200: AnyObject, ...ERRORS } } },
    async (request: Req<Static<typeof NameParams>>, reply) => {
      const r = guard(request, reply);
      if (r === undefined) return reply;
      const ended = await r.chaos.deactivate(request.params.name);
      if (!ended) return sendFailure(reply, failure('NOT_FOUND', `no active chaos scenario ${request.params.name}`));
      return { ended: request.params.name };
    },
  );

  app.post('/v1/chaos/emergency-stop', { schema: { summary: 'End every chaos scenario and refuse new ones until reset (admin)', tags: ['resilience'], response: { 200: AnyObject, ...ERRORS } } }, async (request, reply) => {
    const r = guard(request, reply);
    if (r === undefined) return reply;
    const ended = await r.chaos.emergencyStop();
    ctx.log.warn({ ended, by: request.principal.subject }, 'chaos emergency stop');
    return { ended, emergencyStopped: true };
  });

  app.post('/v1/chaos/reset', { schema: { summary: 'Lift the chaos emergency stop (admin)', tags: ['resilience'], response: { 200: AnyObject, ...ERRORS } } }, async (request, reply) => {
    const r = guard(request, reply);
    if (r === undefined) return reply;
    r.chaos.reset();
    return { emergencyStopped: false };
  });

  app.get(
    '/v1/resilience/health',
    { schema: { summary: 'Health report with breakers, shedding, recoveries and the snapshot history (admin)', tags: ['resilience'], querystring: HistoryQuery, response: { 200: AnyObject, ...ERRORS } } },
    async (request: Req<unknown, Static<typeof HistoryQuery>>, reply) => {
      const r = guard(request, reply);
      if (r === undefined) return reply;
      return { ...r.report(), history: r.health.history(request.query.sinceMs) };
    },
  );

  app.post(
    '/v1/resilience/breakers/:name/reset',
    { schema: { summary: 'Close a breaker now (admin)', tags: ['resilience'], params: NameParams, response: { 200: AnyObject, ...ERRORS } } },
    async (request: Req<Static<typeof NameParams>>, reply) => {
      const r = guard(request, reply);
      if (r === undefined) return reply;
      const breaker = r.breakers.get(request.params.name);
      if (breaker === undefined) return sendFailure(reply, failure('NOT_FOUND', `no breaker ${request.params.name}`));
      breaker.reset();
      ctx.log.warn({ breaker: breaker.name, by: request.principal.subject }, 'breaker reset by an operator');
      return { breaker: breaker.snapshot() };
    },
  );

  app.get('/v1/resilience/recoveries', { schema: { summary: 'Recoveries, including manual ones awaiting an operator (admin)', tags: ['resilience'], response: { 200: AnyObject, ...ERRORS } } }, async (request, reply) => {
    const r = guard(request, reply);
    if (r === undefined) return reply;
    return { ...r.recovery.status(), awaiting: r.recovery.awaitingManual() };
  });

  app.post(
    '/v1/resilience/recoveries/:name',
    { schema: { summary: 'Schedule a recovery of a dependency (admin)', tags: ['resilience'], params: NameParams, body: ScheduleBody, response: { 201: AnyObject, ...ERRORS } } },
    async (request: Req<Static<typeof NameParams>, unknown, Static<typeof ScheduleBody>>, reply) => {
      const r = guard(request, reply);
      if (r === undefined) return reply;
      try {
        return reply.code(201).send({ recovery: r.recovery.schedule(request.params.name, request.body?.strategy, request.body?.priority) });
      } catch (error) {
        return fail(reply, error);
      }
    },
  );

  app.post(
    '/v1/resilience/recoveries/:name/approve',
    { schema: { summary: 'Run one attempt of a waiting (manual) recovery now (admin)', tags: ['resilience'], params: NameParams, response: { 200: AnyObject, ...ERRORS } } },
    async (request: Req<Static<typeof NameParams>>, reply) => {
      const r = guard(request, reply);
      if (r === undefined) return reply;
      try {
        const result = await r.recovery.approve(request.params.name);
        ctx.log.warn({ result, by: request.principal.subject }, 'manual recovery attempt');
        return { result };
      } catch (error) {
        return fail(reply, error);
      }
    },
  );
}
