import { isDeepStrictEqual } from 'node:util';
import { Type, type TSchema } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { ITEM_STATUSES } from '../deliberation/types.js';
import { ErrorCode, REJECTION_CODES } from '../errors.js';
import { MessageInputSchema } from '../message/schema.js';
import { describeSchemaError } from '../message/schema-errors.js';

/**
 * Route schemas: the request side is validated by ajv (except message bodies, which the bus
 * validates after the wire codec maps snake_case names; see requestValidatorCompiler), the
 * response side drives serialization, and all of it is published in /openapi.json.
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

/** The code a body schema's malformed fields answer (default INVALID_ARGUMENT); an unknown field is INVALID_ARGUMENT always. */
export const INVALID_FIELD_CODE = 'x-invalid-field-code';

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
  {
    additionalProperties: false,
    [INVALID_FIELD_CODE]: ErrorCode.INVALID_AGENT,
    description:
      "agentId and tenantId are required (camelCase or snake_case; both spellings of one field must agree); with an agent credential they default to the caller's. A malformed field answers INVALID_AGENT, an unknown one INVALID_ARGUMENT.",
  },
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
    reason: Type.Optional(Type.String({ maxLength: 2000, description: 'Required: a missing or blank reason answers REASON_REQUIRED.' })),
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

// ---------------------------------------------------------------- request validation

/** A request part that does not fit its route's schema; the message names the field, e.g. "body.capabilities must be an array of strings". */
export class InvalidRequest extends Error {
  override readonly name = 'InvalidRequest';

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type RequestPart = 'body' | 'querystring' | 'params' | 'headers';
type Validator = (data: unknown) => true | { error: InvalidRequest };

/** How messages name each part: "query.max", "body.agentId". */
const PART_NAMES: Readonly<Record<RequestPart, string>> = { body: 'body', querystring: 'query', params: 'params', headers: 'headers' };

/**
 * fastify's validator compiler for every route. Bodies are JSON and are taken as typed (123 is not
 * a string, "plan" is not a list); query strings and path parameters are text, so their numbers
 * and booleans are read from it. A body that gives a field in both spellings (agentId, agent_id)
 * with different values is refused too: which one wins would otherwise be a silent guess.
 */
export function requestValidatorCompiler(): (route: { schema: Record<string, unknown>; httpPart?: string }) => Validator {
  const options = { useDefaults: true, removeAdditional: false, allErrors: false, strict: false, verbose: true } as const;
  const typed = new Ajv(options);
  const fromText = new Ajv({ ...options, coerceTypes: true });
  return ({ schema, httpPart }) => {
    if (schema[BUS_VALIDATED] === true) return () => true;
    const part = (httpPart ?? 'body') as RequestPart;
    const isBody = part === 'body';
    const validate = (isBody ? typed : fromText).compile(schema);
    const fieldCode = typeof schema[INVALID_FIELD_CODE] === 'string' ? schema[INVALID_FIELD_CODE] : ErrorCode.INVALID_ARGUMENT;
    const name = PART_NAMES[part] ?? part;
    return (data) => {
      if (!validate(data)) {
        // The last error is the one to report: a failed union (anyOf) lists its branches' errors first.
        const error = validate.errors?.at(-1);
        const code = error?.keyword === 'additionalProperties' ? ErrorCode.INVALID_ARGUMENT : fieldCode;
        return { error: new InvalidRequest(code, describeSchemaError(name, error, isBody ? 'field' : 'parameter')) };
      }
      const conflict = isBody ? disagreeingSpellings(name, data) : undefined;
      return conflict === undefined ? true : { error: new InvalidRequest(fieldCode, conflict) };
    };
  };
}

/** Why `body` is refused when it gives a field in camelCase and snake_case with different values; undefined otherwise. */
export function disagreeingSpellings(name: string, body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const fields = body as Record<string, unknown>;
  for (const snake of Object.keys(fields)) {
    if (!snake.includes('_')) continue;
    const camel = snake.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
    if (Object.hasOwn(fields, camel) && !isDeepStrictEqual(fields[camel], fields[snake])) {
      return `${name}.${camel} and ${name}.${snake} disagree: give one of them, or both with the same value`;
    }
  }
  return undefined;
}
