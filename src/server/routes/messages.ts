import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { sendAnswer, type Req, type ServerContext } from '../context.js';
import { sendThroughBus, type SendMode, type SendRequestOptions } from '../messaging.js';
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
  const routes: Array<{ mode: SendMode; url: string; summary: string; querystring: TSchema; extraErrors?: Record<number, TSchema> }> = [
    { mode: 'send', url: '/v1/messages', summary: 'Send a message to toAgent, or to one agent having requiredCapabilities', querystring: SendQuery },
    {
      mode: 'broadcast',
      url: '/v1/messages/broadcast',
      summary: "Send a message to every agent of the sender's tenant (optionally of one type or capability), sender excluded",
      querystring: BroadcastQuery,
    },
    {
      mode: 'request',
      url: '/v1/messages/request',
      summary: 'Send a message and wait for the reply whose correlationId is its messageId',
      querystring: RequestQuery,
      extraErrors: { 504: ErrorSchema },
    },
  ];
  for (const { mode, url, summary, querystring, extraErrors } of routes) {
    app.post(
      url,
      {
        schema: {
          summary,
          tags: TAGS,
          querystring,
          body: MessageBody,
          response: { 200: SendResultSchema, 202: SendResultSchema, ...ERRORS, ...extraErrors },
        },
      },
      // The validated query is the send options (awaitDelivery, details, agentType, capability, timeoutMs).
      async (request: Req<unknown, SendRequestOptions>, reply) => sendAnswer(reply, await sendThroughBus(bus, quotas, request.principal, request.body, mode, request.query)),
    );
  }
}
