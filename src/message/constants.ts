/** The constitution the bus enforces when no bundle says otherwise (the original's pinned hash). */
export const CONSTITUTIONAL_HASH = 'cdd01ef066bc6cf2';

export const MessageType = {
  COMMAND: 'command',
  QUERY: 'query',
  RESPONSE: 'response',
  EVENT: 'event',
  NOTIFICATION: 'notification',
  HEARTBEAT: 'heartbeat',
  GOVERNANCE_REQUEST: 'governance_request',
  GOVERNANCE_RESPONSE: 'governance_response',
  CONSTITUTIONAL_VALIDATION: 'constitutional_validation',
  TASK_REQUEST: 'task_request',
  TASK_RESPONSE: 'task_response',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];
export const MESSAGE_TYPES: readonly MessageType[] = Object.freeze(Object.values(MessageType));

/** Higher is more urgent. MEDIUM is an alias of NORMAL, as in the original. */
export const Priority = {
  LOW: 0,
  NORMAL: 1,
  MEDIUM: 1,
  HIGH: 2,
  CRITICAL: 3,
} as const;
export type Priority = 0 | 1 | 2 | 3;
export const PRIORITY_LEVELS = 4;

/** Priority names accepted on input (case-insensitive), including the alias. */
export const PRIORITY_BY_NAME: Readonly<Record<string, Priority>> = Object.freeze({
  low: 0,
  normal: 1,
  medium: 1,
  high: 2,
  critical: 3,
});

export const PRIORITY_NAMES: readonly string[] = ['LOW', 'NORMAL', 'HIGH', 'CRITICAL'];

/** Limits applied to every message; each can be lowered or raised through bus options. */
export interface MessageLimits {
  /** Serialized JSON size of content + payload + metadata, in bytes. */
  readonly maxContentBytes: number;
  /** Nesting depth of content, payload and metadata (the object itself is depth 1). */
  readonly maxDepth: number;
  /** Length of any id (messageId, agent ids, conversationId, correlationId). */
  readonly maxIdLength: number;
  /** Number of headers, and length of each header value. */
  readonly maxHeaders: number;
  readonly maxHeaderValueLength: number;
  /** Number of required capabilities on one message. */
  readonly maxCapabilities: number;
}

export const DEFAULT_LIMITS: MessageLimits = Object.freeze({
  maxContentBytes: 256 * 1024,
  maxDepth: 32,
  maxIdLength: 128,
  maxHeaders: 64,
  maxHeaderValueLength: 4096,
  maxCapabilities: 32,
});

/** Tenant ids after normalisation (trim, lower-case). */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{2,63}$/;
/** Agent, message, conversation and correlation ids: printable, no spaces, no control characters. */
export const ID_PATTERN_SOURCE = '^[A-Za-z0-9][A-Za-z0-9._:@/+=-]*$';
export const CAPABILITY_PATTERN_SOURCE = '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$';
