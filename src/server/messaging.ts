import { SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import type { AgentBus, SendResult } from '../bus.js';
import { isBusError, RejectionCode } from '../errors.js';
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
 * inside a span, map the result.
 */
export async function sendThroughBus(bus: AgentBus, quotas: Quotas, principal: Principal, raw: unknown, mode: SendMode, options: SendRequestOptions = {}): Promise<Answer> {
  const message = bindMessage(principal, raw);
  if (message instanceof HttpFailure) return answerOfFailure(message);
  const [tenant, agent] = chargeKeys(message);
  const limited = quotas.charge(tenant, agent);
  if (limited !== undefined) return answerOfFailure(limited);
  // The tenant and sender are given at the start (samplers and span processors see them there);
  // the outcome's attributes only when an OpenTelemetry SDK records the span.
  const span = tracer.startSpan(SPAN_NAMES[mode], { attributes: { 'agent_bus.tenant': tenant, 'agent_bus.from_agent': agent } });
  const recording = span.isRecording();
  let inFlight = false;
  try {
    let result: SendResult;
    if (mode === 'request') {
      const entered = quotas.enter(tenant, agent);
      if (entered !== undefined) return answerOfFailure(entered);
      inFlight = true;
      result = await bus.request(message as unknown as MessageInput, options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs });
    } else if (mode === 'broadcast') {
      const filter: { agentType?: string; capability?: string; awaitDelivery?: boolean } = {};
      if (options.agentType !== undefined) filter.agentType = options.agentType;
      if (options.capability !== undefined) filter.capability = options.capability;
      if (options.awaitDelivery === true) filter.awaitDelivery = true;
      result = await bus.broadcast(message as unknown as MessageInput, filter);
    } else {
      result = await bus.send(message as unknown as MessageInput, options.awaitDelivery === true ? { awaitDelivery: true } : undefined);
    }
    if (recording) {
      span.setAttribute('agent_bus.message_id', result.messageId);
      span.setAttribute('agent_bus.status', result.status);
      if (result.code !== undefined) {
        span.setAttribute('agent_bus.code', result.code);
        if (result.status === 'rejected') span.setStatus({ code: SpanStatusCode.ERROR, message: result.code });
      }
    }
    return answerOf(result, mode, options.details === true);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR });
    if (isBusError(error)) return answerOfFailure(failure(error.code, error.message));
    throw error;
  } finally {
    if (inFlight) quotas.leave(tenant, agent);
    span.end();
  }
}

export { ServerErrorCode };
