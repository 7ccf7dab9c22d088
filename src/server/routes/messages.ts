import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { sendAnswer, type Req, type ServerContext } from '../context.js';
import { sendThroughBus } from '../messaging.js';
import { BroadcastQuery, DetailsFlag, ErrorSchema, MessageBody, RequestQuery, SendResultSchema } from '../schemas.js';

const TAGS = ['messages'];
const ERRORS = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 413: ErrorSchema, 429: ErrorSchema, 503: ErrorSchema };
const SendQuery = Type.Object(
  {
    awaitDelivery: Type.Optional(Type.Boolean({ description: 'Wait until push recipients handled the message; report their failures.' })),
    details: DetailsFlag,
  },
  { additionalProperties: false },
);

export function messageRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const { bus, quotas } = ctx;

  app.post(
    '/v1/messages',
    {
      schema: {
        summary: 'Send a message to toAgent, or to one agent having requiredCapabilities',
        tags: TAGS,
        querystring: SendQuery,
        body: MessageBody,
        response: { 200: SendResultSchema, 202: SendResultSchema, ...ERRORS },
      },
    },
    async (request: Req<unknown, Static<typeof SendQuery>>, reply) =>
      sendAnswer(reply, await sendThroughBus(bus, quotas, request.principal, request.body, 'send', { awaitDelivery: request.query.awaitDelivery === true, details: request.query.details === true })),
  );

  app.post(
    '/v1/messages/broadcast',
    {
      schema: {
        summary: "Send a message to every agent of the sender's tenant (optionally of one type or capability), sender excluded",
        tags: TAGS,
        querystring: BroadcastQuery,
        body: MessageBody,
        response: { 200: SendResultSchema, 202: SendResultSchema, ...ERRORS },
      },
    },
    async (request: Req<unknown, Static<typeof BroadcastQuery>>, reply) =>
      sendAnswer(reply, await sendThroughBus(bus, quotas, request.principal, request.body, 'broadcast', request.query)),
  );

  app.post(
    '/v1/messages/request',
    {
      schema: {
        summary: 'Send a message and wait for the reply whose correlationId is its messageId',
        tags: TAGS,
        querystring: RequestQuery,
        body: MessageBody,
        response: { 200: SendResultSchema, 202: SendResultSchema, ...ERRORS, 504: ErrorSchema },
      },
    },
    async (request: Req<unknown, Static<typeof RequestQuery>>, reply) =>
      sendAnswer(reply, await sendThroughBus(bus, quotas, request.principal, request.body, 'request', request.query)),
  );
}
