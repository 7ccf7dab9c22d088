import { RejectionCode } from '../errors.js';
import { reject, type Reject } from '../governance/verdict.js';
import { PRIORITY_BY_NAME } from './constants.js';
import type { AgentMessage } from './schema.js';

/**
 * Wire codec for messages arriving from outside the process (HTTP, WebSocket, CLI, cluster).
 * Accepts the bus's camelCase fields and the original system's snake_case names, priority names
 * ("HIGH", "medium") as well as numbers, and ISO-8601 timestamps as well as epoch milliseconds.
 * Unknown fields are passed through so the schema stage refuses them by name.
 */
const SNAKE_TO_CAMEL: Readonly<Record<string, string>> = Object.freeze({
  message_id: 'messageId',
  conversation_id: 'conversationId',
  correlation_id: 'correlationId',
  from_agent: 'fromAgent',
  to_agent: 'toAgent',
  message_type: 'messageType',
  tenant_id: 'tenantId',
  constitutional_hash: 'constitutionalHash',
  created_at: 'createdAt',
  expires_at: 'expiresAt',
  required_capabilities: 'requiredCapabilities',
});

const CAMEL_TO_SNAKE: Readonly<Record<string, string>> = Object.freeze(
  Object.fromEntries(Object.entries(SNAKE_TO_CAMEL).map(([s, c]) => [c, s])),
);

/**
 * Converts a decoded JSON object into a message input for `send`: a fresh object, so the caller's
 * stays untouched. An object with a key that names an Object.prototype member (`__proto__`,
 * `constructor`, ...) is decoded into a null-prototype object, where such a key stays a plain
 * (refused) field; every other message gets an ordinary object, which the later stages read faster.
 */
export function decodeWireMessage(raw: unknown): Record<string, unknown> | Reject {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return reject(RejectionCode.INVALID_MESSAGE, 'message must be a JSON object');
  }
  const source = raw as Record<string, unknown>;
  const keys = Object.keys(source);
  let out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    if (keys[i]! in out) {
      out = Object.create(null) as Record<string, unknown>;
      break;
    }
  }
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = source[key];
    const name = Object.prototype.hasOwnProperty.call(SNAKE_TO_CAMEL, key) ? SNAKE_TO_CAMEL[key]! : key;
    if (name !== key && Object.prototype.hasOwnProperty.call(source, name) && source[name] !== value) {
      return reject(RejectionCode.INVALID_MESSAGE, `fields "${key}" and "${name}" disagree`);
    }
    // On a null-prototype object, even "__proto__" is assigned as an own data property.
    out[name] = value;
  }
  if (typeof out.priority === 'string') {
    const p = PRIORITY_BY_NAME[out.priority.toLowerCase()];
    if (p === undefined || !Object.prototype.hasOwnProperty.call(PRIORITY_BY_NAME, out.priority.toLowerCase())) {
      return reject(RejectionCode.INVALID_MESSAGE, '/priority must be LOW, NORMAL, MEDIUM, HIGH, CRITICAL or 0-3');
    }
    out.priority = p;
  }
  for (const field of ['createdAt', 'expiresAt'] as const) {
    const v = out[field];
    if (typeof v === 'string') {
      const ms = Date.parse(v);
      if (!Number.isFinite(ms) || !/^\d{4}-\d{2}-\d{2}T/.test(v)) {
        return reject(RejectionCode.INVALID_MESSAGE, `/${field} must be epoch milliseconds or an ISO-8601 date-time`);
      }
      out[field] = ms;
    } else if (v === null) {
      delete out[field];
    }
  }
  return out;
}

/** A message as plain JSON, in camelCase or the original's snake_case; absent fields omitted. */
export function encodeMessage(message: AgentMessage, style: 'camel' | 'snake' = 'camel'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(message)) {
    if (value === undefined) continue;
    out[style === 'snake' && Object.prototype.hasOwnProperty.call(CAMEL_TO_SNAKE, key) ? CAMEL_TO_SNAKE[key]! : key] = value;
  }
  return out;
}
