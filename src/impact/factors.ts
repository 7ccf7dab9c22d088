/**
 * The original scorer's factor definitions (behaviour note §6.1), one pure function each.
 * Every factor is in [0, 1].
 */
import type { AgentMessage } from '../message/schema.js';
import { PRIORITY_BY_NAME, type Priority } from '../message/constants.js';

export interface ImpactWeights {
  readonly semantic: number;
  readonly permission: number;
  readonly volume: number;
  readonly context: number;
  readonly drift: number;
  readonly priority: number;
  readonly type: number;
}

export const DEFAULT_WEIGHTS: ImpactWeights = Object.freeze({
  semantic: 0.3,
  permission: 0.2,
  volume: 0.1,
  context: 0.1,
  drift: 0.15,
  priority: 0.1,
  type: 0.05,
});

export const FACTOR_NAMES = ['semantic', 'permission', 'volume', 'context', 'drift', 'priority', 'type'] as const;

// ---------------------------------------------------------------- permission
const HIGH_RISK_TOOL_WORDS = ['admin', 'delete', 'transfer', 'execute', 'blockchain', 'payment'] as const;
const NO_TOOLS_PERMISSION = 0.1;

function toolRisk(tool: unknown): number {
  const raw = typeof tool === 'string' ? tool : (tool as { name?: unknown } | null)?.name;
  const name = typeof raw === 'string' ? raw.toLowerCase() : '';
  for (const word of HIGH_RISK_TOOL_WORDS) if (name.includes(word)) return 0.9;
  if (name.includes('read') || name.includes('get')) return 0.2;
  return 0.5;
}

/** Highest risk among the requested tools (`content.tools`, else `payload.tools`); 0.1 without tools. */
export function permissionFactor(message: AgentMessage): number {
  let tools = message.content['tools'];
  if (!Array.isArray(tools) && message.payload !== undefined) tools = message.payload['tools'];
  if (!Array.isArray(tools) || tools.length === 0) return NO_TOOLS_PERMISSION;
  let max = NO_TOOLS_PERMISSION;
  for (let i = 0; i < tools.length && max < 0.9; i++) {
    const risk = toolRisk(tools[i]);
    if (risk > max) max = risk;
  }
  return max;
}

// ---------------------------------------------------------------- volume
/** Requests by this agent in the last minute, this one included. */
export function volumeFactor(requestsLastMinute: number): number {
  if (requestsLastMinute < 10) return 0.1;
  if (requestsLastMinute < 50) return 0.4;
  if (requestsLastMinute < 100) return 0.7;
  return 1.0;
}

// ---------------------------------------------------------------- context
export const LARGE_AMOUNT = 10_000;
// base 0.2, +0.3 at night, +0.4 for a large amount - as exact decimals.
const CONTEXT_SCORES = [0.2, 0.5, 0.6, 0.9] as const;

function numericAmount(container: unknown): number {
  if (container === null || typeof container !== 'object') return 0;
  const amount = (container as Record<string, unknown>)['amount'];
  return typeof amount === 'number' && Number.isFinite(amount) ? amount : 0;
}

/**
 * The largest `amount` the message carries: the original read `content.payload.amount` only;
 * the message's own `payload.amount` counts too.
 */
export function messageAmount(message: AgentMessage): number {
  const inContent = numericAmount(message.content['payload']);
  const inPayload = numericAmount(message.payload);
  return inContent > inPayload ? inContent : inPayload;
}

/** 0.2 base; +0.3 between 01:00 and 05:59 (hours 1–5); +0.4 when an amount exceeds 10,000. */
export function contextFactor(hour: number, amount: number): number {
  const night = hour >= 1 && hour <= 5 ? 1 : 0;
  const large = amount > LARGE_AMOUNT ? 2 : 0;
  return CONTEXT_SCORES[night + large]!;
}

// ---------------------------------------------------------------- drift
export const DRIFT_HISTORY = 20;
const DRIFT_TOLERANCE = 0.3;

/** Deviation of the current context score from the agent's mean; 0 within tolerance. */
export function driftFactor(deviation: number): number {
  if (!(deviation > DRIFT_TOLERANCE)) return 0;
  const drift = (deviation / DRIFT_TOLERANCE) * 0.5;
  return drift > 1 ? 1 : drift;
}

// ---------------------------------------------------------------- priority
const PRIORITY_SCORES = [0.1, 0.3, 0.7, 1.0] as const;

function contentPriority(value: unknown): Priority | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 3 ? (value as Priority) : undefined;
  if (typeof value === 'string') return PRIORITY_BY_NAME[value.trim().toLowerCase()];
  return undefined;
}

/**
 * LOW 0.1, NORMAL 0.3, HIGH 0.7, CRITICAL 1.0 from the envelope priority. The original let
 * `content.priority` override the envelope; here it can only raise it, so text in the content
 * never lowers what the envelope declares.
 */
export function priorityFactor(message: AgentMessage): number {
  let priority: number = message.priority;
  const declared = contentPriority(message.content['priority']);
  if (declared !== undefined && declared > priority) priority = declared;
  return PRIORITY_SCORES[priority] ?? 0.3;
}

// ---------------------------------------------------------------- type
const HIGH_IMPACT_TYPES: ReadonlySet<string> = new Set(['governance_request', 'constitutional_validation', 'task_request']);

/** 0.8 for governance requests, constitutional validations and task requests; 0.2 otherwise. */
export function typeFactor(message: AgentMessage): number {
  if (HIGH_IMPACT_TYPES.has(message.messageType)) return 0.8;
  const declared = message.content['message_type'] ?? message.content['messageType'];
  if (typeof declared === 'string' && HIGH_IMPACT_TYPES.has(declared.toLowerCase())) return 0.8;
  return 0.2;
}
