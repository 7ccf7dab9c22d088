import { Type, type TSchema } from '@sinclair/typebox';
import { ITEM_STATUSES } from '../deliberation/types.js';
import { REJECTION_CODES } from '../errors.js';
import { MessageInputSchema } from '../message/schema.js';

/**
 * Route schemas: the request side is validated by ajv (except message bodies, which the bus
 * validates after the wire codec maps snake_case names), the response side drives serialization,
 * and all of it is published in /openapi.json.
 */

/** A deep copy without `$id`, so one schema can appear in several routes and in the document. */
export function inline<T extends TSchema>(schema: T, extra: Record<string, unknown> = {}): T {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (typeof v !== 'object' || v === null) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== '$id') out[k] = strip(x);
    return out;
  };
  return { ...(strip(schema) as T), ...extra };
}

/** Marks a body schema as documentation only: the handler validates it itself. */
export const BUS_VALIDATED = 'x-validated-by-bus';

export const MessageBody = inline(MessageInputSchema, {
  [BUS_VALIDATED]: true,
  description:
    'An agent message. Field names may also be given in the original snake_case (from_agent, to_agent, tenant_id, constitutional_hash, message_type, message_id, conversation_id, correlation_id, created_at, expires_at, required_capabilities); priority may be a name (LOW, NORMAL, MEDIUM, HIGH, CRITICAL); createdAt/expiresAt may be ISO-8601 strings. With authentication, fromAgent and tenantId default to the caller\'s and must match them.',
});

const AnyObject = Type.Object({}, { additionalProperties: true });

export const AgentMessageSchema = Type.Object(
  {
    messageId: Type.String(),
    conversationId: Type.String(),
    correlationId: Type.Optional(Type.String()),
    fromAgent: Type.String(),
    toAgent: Type.Optional(Type.String()),
    messageType: Type.String(),
    content: AnyObject,
    payload: Type.Optional(AnyObject),
    headers: Type.Optional(Type.Record(Type.String(), Type.String())),
    tenantId: Type.String(),
    priority: Type.Integer(),
    constitutionalHash: Type.String(),
    createdAt: Type.Integer(),
    expiresAt: Type.Optional(Type.Integer()),
    requiredCapabilities: Type.Optional(Type.Array(Type.String())),
    metadata: Type.Optional(AnyObject),
  },
  { description: 'A message as the bus accepted it (defaults filled, tenant normalised).' },
);

export const ErrorSchema = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: `A rejection code (${REJECTION_CODES.join(', ')}), a bus error code, or a server code (UNAUTHENTICATED, FORBIDDEN, IDENTITY_MISMATCH, NOT_CONFIGURED, ...).` }),
        message: Type.String(),
      },
      { additionalProperties: true },
    ),
  },
  { description: 'Every error answer.' },
);

const DeliveryOutcome = Type.Object({
  agentId: Type.String(),
  ok: Type.Boolean(),
  code: Type.Optional(Type.String()),
  reason: Type.Optional(Type.String()),
});

export const SendResultSchema = Type.Object(
  {
    ok: Type.Boolean(),
    status: Type.String({ description: 'delivered or held' }),
    messageId: Type.String(),
    recipients: Type.Array(Type.String()),
    lane: Type.Optional(Type.String()),
    deliberationId: Type.Optional(Type.String()),
    code: Type.Optional(Type.String()),
    reason: Type.Optional(Type.String()),
    failures: Type.Optional(Type.Array(DeliveryOutcome)),
    reply: Type.Optional(AgentMessageSchema),
    details: Type.Optional(AnyObject),
  },
  { description: 'Accepted: delivered (200) or held for deliberation (202). Refusals are error answers.' },
);

export const AgentSchema = Type.Object({
  agentId: Type.String(),
  tenantId: Type.String(),
  agentType: Type.String(),
  capabilities: Type.Array(Type.String()),
  metadata: AnyObject,
  registeredAt: Type.Integer(),
  lastSeen: Type.Integer(),
});

export const RegistrationBody = Type.Object(
  {
    agentId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    agent_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    tenantId: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    tenant_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    agentType: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    agent_type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    capabilities: Type.Optional(Type.Array(Type.String(), { maxItems: 64 })),
    metadata: Type.Optional(AnyObject),
  },
  { additionalProperties: false, description: 'agentId and tenantId are required (camelCase or snake_case); with an agent credential they default to the caller\'s.' },
);

export const AgentIdParams = Type.Object({ agentId: Type.String({ minLength: 1, maxLength: 128 }) });
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 256 }) });

export const AgentQuerySchema = Type.Object(
  {
    tenantId: Type.Optional(Type.String({ maxLength: 256 })),
    agentType: Type.Optional(Type.String({ maxLength: 64 })),
    capability: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const PullQuery = Type.Object(
  {
    max: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Most messages returned.' }),
    waitMs: Type.Integer({ minimum: 0, default: 0, description: 'Long-poll: wait up to this long for a first message (capped by delivery.maxPullWaitMs).' }),
    leaseMs: Type.Optional(Type.Integer({ minimum: 50, description: 'Lease of the returned messages; unacked ones are redelivered after it (default delivery.pullLeaseMs).' })),
  },
  { additionalProperties: false },
);

export const DeliverySchema = Type.Object({
  deliveryId: Type.Integer({ description: 'Acknowledge with this id. A redelivery keeps the id.' }),
  attempt: Type.Integer({ description: '1 on first delivery, higher on redelivery.' }),
  message: AgentMessageSchema,
});

export const PullResponse = Type.Object({ deliveries: Type.Array(DeliverySchema) });

export const AckBody = Type.Object(
  {
    deliveryIds: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 10_000 })),
    delivery_ids: Type.Optional(Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 10_000 })),
  },
  { additionalProperties: false },
);

export const AckResponse = Type.Object({ acked: Type.Array(Type.Integer()), unknown: Type.Array(Type.Integer()) });

export const DetailsFlag = Type.Optional(
  Type.Boolean({ description: "Include the stages' annotations (policy decision, impact breakdown) in a delivered result; held results always have them." }),
);

export const BroadcastQuery = Type.Object(
  {
    details: DetailsFlag,
    agentType: Type.Optional(Type.String({ maxLength: 64 })),
    capability: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const RequestQuery = Type.Object(
  {
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 300_000, description: 'How long to wait for the reply (default bus.requestTimeoutMs).' })),
    details: DetailsFlag,
  },
  { additionalProperties: false },
);

export const DecisionBody = Type.Object(
  {
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
    messageDigest: Type.Optional(Type.String({ maxLength: 128 })),
    message_digest: Type.Optional(Type.String({ maxLength: 128 })),
    constitutionalHash: Type.Optional(Type.String({ maxLength: 64 })),
    reviewerId: Type.Optional(Type.String({ maxLength: 128, description: 'Dev mode only: who decides (with authentication it is the credential subject).' })),
    roles: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32, description: 'Dev mode only: approver roles (with authentication they come from the credential).' })),
  },
  { additionalProperties: false },
);

export const VoteBody = Type.Object(
  {
    vote: Type.Union([Type.Literal('approve'), Type.Literal('reject'), Type.Literal('abstain')]),
    reason: Type.Optional(Type.String({ maxLength: 2000 })),
    signature: Type.Optional(Type.String({ maxLength: 512 })),
    agentId: Type.Optional(Type.String({ maxLength: 128, description: 'Dev mode only: the voting agent (with authentication it is the caller).' })),
  },
  { additionalProperties: false },
);

export const DeliberationListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union(ITEM_STATUSES.map((s) => Type.Literal(s)))),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 256 })),
    tenantId: Type.Optional(Type.String({ maxLength: 256, description: 'Admins with every-tenant scope may pick a tenant; others see their own.' })),
  },
  { additionalProperties: false },
);

export const DeliberationItemSchema = Type.Object(
  { id: Type.String(), tenantId: Type.String(), status: Type.String() },
  { additionalProperties: true, description: 'A held message with its requirements, decisions, votes, deadline and outcome.' },
);

export const TailQuery = Type.Object({ n: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }) }, { additionalProperties: false });

export const HealthSchema = Type.Object({ status: Type.String() }, { additionalProperties: true });
