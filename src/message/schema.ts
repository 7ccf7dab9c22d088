import { Type, type Static, type TString } from '@sinclair/typebox';
import {
  CAPABILITY_PATTERN_SOURCE,
  DEFAULT_LIMITS,
  ID_PATTERN_SOURCE,
  MESSAGE_TYPES,
  type MessageLimits,
  type MessageType,
  type Priority,
} from './constants.js';

/**
 * The one schema of a message. It is the source of the TypeScript input type, the runtime
 * validator (compiled by ajv in ./validate.ts) and the JSON Schema the HTTP API publishes.
 *
 * Free-form JSON objects (content, payload, metadata) are declared as `{ type: 'object' }` only:
 * their depth, size and leaf types are checked by one walk in ./content.ts, which is far cheaper
 * than letting the validator test every key against a pattern.
 */
const JsonObject = Type.Unsafe<Record<string, unknown>>({ type: 'object' });

function id(limits: MessageLimits, description: string): TString {
  return Type.String({ minLength: 1, maxLength: limits.maxIdLength, pattern: ID_PATTERN_SOURCE, description });
}

export function buildMessageInputSchema(limits: MessageLimits = DEFAULT_LIMITS) {
  return Type.Object(
    {
      messageId: Type.Optional(id(limits, 'Unique message id; a UUID v4 is generated when absent.')),
      conversationId: Type.Optional(id(limits, 'Groups related messages; defaults to the messageId.')),
      correlationId: Type.Optional(id(limits, 'On a response: the messageId of the request it answers.')),
      fromAgent: id(limits, 'The sending agent; must be registered in tenantId.'),
      toAgent: Type.Optional(id(limits, 'Direct recipient. Without it, requiredCapabilities select one.')),
      // An enum rather than a union of literals: ajv checks an enum in one loop, while a union
      // builds an error object for every branch that does not match.
      messageType: Type.Optional(Type.Unsafe<MessageType>({ type: 'string', enum: [...MESSAGE_TYPES], description: 'Defaults to "command".' })),
      content: JsonObject,
      payload: Type.Optional(JsonObject),
      headers: Type.Optional(
        Type.Record(Type.String({ maxLength: 128 }), Type.String({ maxLength: limits.maxHeaderValueLength }), {
          maxProperties: limits.maxHeaders,
        }),
      ),
      tenantId: Type.String({ minLength: 1, maxLength: 256, description: 'Normalised: trimmed, lower-cased.' }),
      priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 3, description: 'LOW 0, NORMAL 1, HIGH 2, CRITICAL 3.' })),
      constitutionalHash: Type.String({ minLength: 1, maxLength: 64 }),
      createdAt: Type.Optional(Type.Integer({ minimum: 0, description: 'Epoch milliseconds; defaults to now.' })),
      expiresAt: Type.Optional(Type.Integer({ minimum: 0, description: 'Epoch milliseconds after which the message is refused.' })),
      requiredCapabilities: Type.Optional(
        Type.Array(Type.String({ pattern: CAPABILITY_PATTERN_SOURCE }), { maxItems: limits.maxCapabilities }),
      ),
      metadata: Type.Optional(JsonObject),
    },
    { additionalProperties: false, $id: 'AgentMessageInput' },
  );
}

export const MessageInputSchema = buildMessageInputSchema();
type RawInput = Static<typeof MessageInputSchema>;

/** What a caller passes to `send`: the message without the fields the bus fills in. */
export type MessageInput = Omit<RawInput, 'messageType' | 'priority' | 'content' | 'payload' | 'metadata'> & {
  messageType?: MessageType;
  priority?: Priority;
  content: Record<string, unknown>;
  payload?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
};

/** A message accepted by the schema stage: every field present, defaults filled, tenant normalised. */
export interface AgentMessage {
  readonly messageId: string;
  readonly conversationId: string;
  readonly correlationId: string | undefined;
  readonly fromAgent: string;
  readonly toAgent: string | undefined;
  readonly messageType: MessageType;
  readonly content: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>> | undefined;
  readonly headers: Readonly<Record<string, string>> | undefined;
  readonly tenantId: string;
  readonly priority: Priority;
  readonly constitutionalHash: string;
  readonly createdAt: number;
  readonly expiresAt: number | undefined;
  readonly requiredCapabilities: readonly string[] | undefined;
  readonly metadata: Readonly<Record<string, unknown>> | undefined;
}
