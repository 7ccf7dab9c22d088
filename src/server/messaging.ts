import { SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { AgentBus, SendResult } from '../bus.js';
import { isBusError, RejectionCode } from '../errors.js';
import { isThenable } from '../governance/verdict.js';
import { decodeWireMessage } from '../message/codec.js';
import type { MessageInput } from '../message/schema.js';
import { normalizeTenantId } from '../message/tenant.js';
import { actsAs, inTenant, type Principal } from './auth.js';
import { failure, HttpFailure, ServerErrorCode, statusOf } from './errors.js';
import type { Quotas } from './quotas.js';

export const tracer: Tracer = trace.getTracer('enhanced-agent-bus.server');

export type SendMode = 'send' | 'broadcast' | 'request';

const SPAN_NAMES: Record<SendMode, string> = { send: 'agent_bus.send', broadcast: 'agent_bus.broadcast', request: 'agent_bus.request' };

export interface SendRequestOptions {
  awaitDelivery?: boolean;
  agentType?: string;
  capability?: string;
  timeoutMs?: number;
  /** Include the stages' annotations (policy decision, impact breakdown) in a delivered result. Held and refused answers always carry them. */
  details?: boolean;
}

/** What an edge (HTTP or WebSocket) answers: the status, and the result or an error body. */
export interface Answer {
  status: number;
  body: unknown;
  retryAfter?: number;
}


/** A \u escape of a character from "@" to DEL, which covers the letters and "_" of the forbidden keys (not the escapes of non-ASCII text). */
const ESCAPED_ASCII_LETTER = /\\u00[4-7]/;

/** Some clients start a UTF-8 body with it; JSON.parse does not skip it. */
const BYTE_ORDER_MARK = 0xfeff;

/** A JSON text with a forbidden key; the message names the key and where it is (a JSON pointer). */
export class ForbiddenKeyError extends Error {
  override readonly name = 'ForbiddenKeyError';

  constructor(key: string, pointer: string) {
    super(`"${key}" is not allowed as a key (at ${pointer === '' ? 'the top level' : pointer}): "__proto__", and "constructor" holding "prototype", are refused anywhere`);
  }
}

/**
 * The JSON parser of both edges (HTTP bodies and WebSocket frames). Throws SyntaxError for
 * malformed JSON and ForbiddenKeyError for the keys code that merges parsed objects can be
 * polluted through, at any depth: "__proto__", and "constructor" whose value holds "prototype"
 * (what fastify's own parser refuses; a plain "constructor" or "prototype" field is data). Such
 * text contains "proto" or hides a letter behind a \u escape; text with neither (nearly every
 * message) is only parsed, the rest is also walked.
 */
export function parseJsonBody(text: string): unknown {
  const json = text.charCodeAt(0) === BYTE_ORDER_MARK ? text.slice(1) : text;
  const value: unknown = JSON.parse(json);
  if (json.includes('proto') || (json.includes('\\u') && ESCAPED_ASCII_LETTER.test(json))) refuseForbiddenKeys(value);
  return value;
}

/** Walks the parsed value without recursion (JSON may nest deeper than the stack). */
function refuseForbiddenKeys(root: unknown): void {
  const pending: Array<[object, string]> = [];
  if (isNested(root)) pending.push([root, '']);
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, pointer] = next;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (isNested(item)) pending.push([item, `${pointer}/${i}`]);
      }
      continue;
    }
    for (const key of Object.keys(value)) {
      const child = (value as Record<string, unknown>)[key];
      if (key === '__proto__' || (key === 'constructor' && isNested(child) && Object.hasOwn(child, 'prototype'))) throw new ForbiddenKeyError(key, pointer);
      if (isNested(child)) pending.push([child, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`]);
    }
  }
}

function isNested(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/**
 * Decodes a wire message and binds it to the caller: with credentials, fromAgent and tenantId
 * default to the caller's and must match them (IDENTITY_MISMATCH / TENANT_MISMATCH otherwise).
 * In dev mode the message is taken as stated.
 */
export function bindMessage(principal: Principal, raw: unknown): Record<string, unknown> | HttpFailure {
  const decoded = decodeWireMessage(raw);
  if ('kind' in decoded && decoded.kind === 'reject' && Object.getPrototypeOf(decoded) !== null) {
    return failure((decoded as { code: string }).code, (decoded as { reason: string }).reason);
  }
  const message = decoded as Record<string, unknown>;
  // Quotas are charged by these two before the bus validates the message: anything but a string is refused here.
  for (const field of ['tenantId', 'fromAgent'] as const) {
    if (message[field] !== undefined && typeof message[field] !== 'string') return failure(RejectionCode.INVALID_MESSAGE, `/${field} must be a string`);
  }
  if (principal.kind === 'dev') return message;
  if (message.fromAgent === undefined && principal.agentId !== undefined) message.fromAgent = principal.agentId;
  if (typeof message.fromAgent !== 'string') return failure(RejectionCode.INVALID_MESSAGE, '/fromAgent is required');
  const mismatch = actsAs(principal, message.fromAgent);
  if (mismatch !== undefined) return mismatch;
  if (message.tenantId === undefined && principal.tenantId !== undefined && principal.tenantId !== '*') message.tenantId = principal.tenantId;
  const tenant = normalizeTenantId(message.tenantId);
  if (tenant !== undefined && !inTenant(principal, tenant)) {
    return failure(RejectionCode.TENANT_MISMATCH, `the credential belongs to tenant ${principal.tenantId}, not ${tenant}`);
  }
  return message;
}

/** The tenant and agent a message is charged to (after bindMessage). */
export function chargeKeys(message: Record<string, unknown>): [string, string] {
  const tenant = normalizeTenantId(message.tenantId) ?? String(message.tenantId);
  return [tenant, String(message.fromAgent)];
}

/**
 * Turns a SendResult into an answer: accepted → 200/202 with the result; refused → an error body.
 * A delivered result leaves out the stages' annotations unless asked for (`details`): they are
 * most of the answer's bytes and of its serialisation cost, and a fast-lane sender rarely reads them.
 * The answer owns the result: the annotations are dropped from it in place (set to undefined,
 * which serialisation leaves out), not copied into a new object per request.
 */
export function answerOf(result: SendResult, mode: SendMode, details = false): Answer {
  const refused = result.status === 'rejected' || (mode === 'request' && result.reply === undefined && result.code !== undefined);
  if (!refused) {
    if (result.status === 'held') return { status: 202, body: result };
    if (!details) result.details = undefined;
    return { status: 200, body: result };
  }
  const code = result.code ?? RejectionCode.STAGE_FAILED;
  const error: Record<string, unknown> = { code, message: result.reason ?? code, messageId: result.messageId };
  if (result.details !== undefined) error.details = result.details;
  if (result.recipients.length > 0) error.recipients = result.recipients;
  return { status: statusOf(code), body: { error } };
}

export function answerOfFailure(f: HttpFailure): Answer {
  return { status: f.status, body: f.body, retryAfter: f.retryAfter };
}

/**
 * The one send path of both edges: bind to the caller, charge the quotas, send through the bus
 * inside a span, map the result. The answer itself when the bus decided synchronously (the fast
 * lane, every refusal), a promise otherwise: an edge answering many messages per turn (the
 * WebSocket) makes no promise per message.
 */
export function sendThroughBus(bus: AgentBus, quotas: Quotas, principal: Principal, raw: unknown, mode: SendMode, options: SendRequestOptions = {}): Answer | Promise<Answer> {
  const message = bindMessage(principal, raw);
  if (message instanceof HttpFailure) return answerOfFailure(message);
  const [tenant, agent] = chargeKeys(message);
  const limited = quotas.charge(tenant, agent);
  if (limited !== undefined) return answerOfFailure(limited);
  // The tenant and sender are given at the start (samplers and span processors see them there);
  // the outcome's attributes only when an OpenTelemetry SDK records the span.
  const span = tracer.startSpan(SPAN_NAMES[mode], { attributes: { 'agent_bus.tenant': tenant, 'agent_bus.from_agent': agent } });
  if (mode === 'request') return requestThroughBus(bus, quotas, span, tenant, agent, message, options);
  let result: SendResult | Promise<SendResult>;
  try {
    if (mode === 'broadcast') {
      const filter: { agentType?: string; capability?: string; awaitDelivery?: boolean } = {};
      if (options.agentType !== undefined) filter.agentType = options.agentType;
      if (options.capability !== undefined) filter.capability = options.capability;
      if (options.awaitDelivery === true) filter.awaitDelivery = true;
      result = bus.broadcastImmediate(message as unknown as MessageInput, filter);
    } else {
      result = bus.sendImmediate(message as unknown as MessageInput, options.awaitDelivery === true ? { awaitDelivery: true } : undefined);
    }
  } catch (error) {
    return failed(span, error);
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (r) => finished(span, r, mode, options),
      (error: unknown) => failed(span, error),
    );
  }
  return finished(span, result, mode, options);
}

/** A request holds an in-flight slot of its tenant and sender until its reply (or timeout). */
async function requestThroughBus(bus: AgentBus, quotas: Quotas, span: Span, tenant: string, agent: string, message: Record<string, unknown>, options: SendRequestOptions): Promise<Answer> {
  const entered = quotas.enter(tenant, agent);
  if (entered !== undefined) {
    span.end();
    return answerOfFailure(entered);
  }
  try {
    const result = await bus.request(message as unknown as MessageInput, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
    return finished(span, result, 'request', options);
  } catch (error) {
    return failed(span, error);
  } finally {
    quotas.leave(tenant, agent);
  }
}

/** Records the outcome on the span (when an SDK records it), ends it, and maps the result. */
function finished(span: Span, result: SendResult, mode: SendMode, options: SendRequestOptions): Answer {
  if (span.isRecording()) {
    span.setAttribute('agent_bus.message_id', result.messageId);
    span.setAttribute('agent_bus.status', result.status);
    if (result.code !== undefined) {
      span.setAttribute('agent_bus.code', result.code);
      if (result.status === 'rejected') span.setStatus({ code: SpanStatusCode.ERROR, message: result.code });
    }
  }
  span.end();
  return answerOf(result, mode, options.details === true);
}

/** A bus error becomes its answer; anything else (a bug) is thrown on, after the span records it. */
function failed(span: Span, error: unknown): Answer {
  span.recordException(error as Error);
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
  if (isBusError(error)) return answerOfFailure(failure(error.code, error.message));
  throw error;
}

export { ServerErrorCode };
