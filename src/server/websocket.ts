import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { isBusError } from '../errors.js';
import { isThenable } from '../governance/verdict.js';
import { numberText } from '../message/content.js';
import { messageJson } from '../message/json.js';
import { inTenant, type Principal } from './auth.js';
import type { ServerContext } from './context.js';
import { HttpFailure, ServerErrorCode } from './errors.js';
import { ForbiddenKeyError, parseJsonBody, sendThroughBus, type Answer, type SendMode, type SendRequestOptions } from './messaging.js';
import { disagreeingSpellings } from './schemas.js';
import type { AgentSession, PushSink, Retained } from './sessions.js';

/**
 * WebSocket edge at /v1/ws. Protocol (JSON text frames, documented in docs/server.md):
 *
 *   client → server   auth {token | apiKey, agentId?}      (unless the upgrade carried credentials)
 *                     send | broadcast | request {id?, message, ...options}
 *                     ack {deliveryIds: number[]}
 *                     heartbeat {id?}
 *   server → client   ready {agentId, tenantId, ackTimeoutMs, pushWindow, batch?}
 *                     message {deliveryId, attempt, message}
 *                     result {id, status, result} (only for frames with an id)
 *                     with batch (?batch=true or auth {batch: true}): the messages and results of
 *                     one event-loop turn in one frame each — messages {messages: [...]},
 *                     results {results: [...]}
 *                     error {id?, error: {code, message}} (always)
 *                     heartbeat {id?, at}
 */

export const WsClose = {
  GOING_AWAY: 1001,
  REPLACED: 4000,
  BAD_REQUEST: 4400,
  UNAUTHENTICATED: 4401,
  FORBIDDEN: 4403,
  UNKNOWN_AGENT: 4404,
  CONFLICT: 4409,
} as const;

const AUTH_TIMEOUT_MS = 5_000;
/** A batched frame carries at most this many messages or results (a turn may produce more)... */
const MAX_BATCH_ITEMS = 256;
/** ...and the batches are sent once their items reach this many characters (a client's maxPayload is often 1 MiB or more). */
const MAX_BATCH_CHARS = 512 * 1024;
function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class WsConnection implements PushSink {
  private principal: Principal | undefined;
  private session: AgentSession | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  private binding = false;
  private corked = false;
  /** Batch mode: pushes and results of this turn, as JSON items, sent as one frame each at its end. */
  private batching = false;
  /** `?batch=true` on the upgrade request (an auth frame may also ask for it). */
  private readonly queryBatch: boolean;
  private pushItems: string[] = [];
  /** Characters of the items waiting in both batches. */
  private batchBytes = 0;
  private resultItems: string[] = [];

  constructor(
    private readonly socket: WebSocket,
    private readonly request: FastifyRequest,
    private readonly ctx: ServerContext,
  ) {
    ctx.state.websockets++;
    socket.on('message', (data, isBinary) => this.onFrame(data as Buffer, isBinary));
    socket.on('close', () => this.onClose());
    socket.on('error', () => socket.terminate());
    const headers = request.headers;
    const query = request.query as Record<string, unknown>;
    const queryAgent = query.agentId;
    this.queryBatch = query.batch === 'true' || query.batch === '1';
    const hasCredential = headers.authorization !== undefined || headers['x-api-key'] !== undefined;
    if (hasCredential || (!ctx.auth.enabled && typeof queryAgent === 'string')) {
      const principal = ctx.auth.authenticateHeaders(headers, 'websocket');
      if (principal instanceof HttpFailure) {
        this.close(WsClose.UNAUTHENTICATED, principal.body.error.message);
        return;
      }
      this.principal = principal;
      this.batching = this.queryBatch;
      void this.bind(typeof queryAgent === 'string' ? queryAgent : undefined);
      return;
    }
    this.authTimer = setTimeout(() => this.close(WsClose.UNAUTHENTICATED, 'no auth frame in time'), AUTH_TIMEOUT_MS);
    this.authTimer.unref();
  }

  deliver(entries: readonly Retained[]): void {
    this.cork();
    if (this.batching) {
      for (const e of entries) this.batchItem(this.pushItems, `{"deliveryId":${numberText(e.id)},"attempt":${e.attempts},"message":${messageJson(e.message)}}`);
      return;
    }
    for (const e of entries) {
      this.socket.send(`{"type":"message","deliveryId":${numberText(e.id)},"attempt":${e.attempts},"message":${messageJson(e.message)}}`);
    }
  }

  /**
   * Frames written in this tick leave in one system call (the TCP socket is corked until the next
   * tick); in batch mode the tick's messages and results follow as one frame each (after any error
   * or heartbeat frame sent directly in the same tick).
   */
  private cork(): void {
    if (this.corked) return;
    const tcp = (this.socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
    if (tcp === undefined && !this.batching) return;
    this.corked = true;
    tcp?.cork();
    process.nextTick(() => {
      this.corked = false;
      this.flushBatches();
      tcp?.uncork();
    });
  }

  private batchItem(items: string[], item: string): void {
    items.push(item);
    this.batchBytes += item.length;
    if (items.length >= MAX_BATCH_ITEMS || this.batchBytes >= MAX_BATCH_CHARS) this.flushBatches();
  }

  private flushBatches(): void {
    this.batchBytes = 0;
    if (this.pushItems.length > 0) this.sendBatch('messages', this.pushItems.splice(0));
    if (this.resultItems.length > 0) this.sendBatch('results', this.resultItems.splice(0));
  }

  /** `{"type":"messages","messages":[…]}` or `{"type":"results","results":[…]}`; dropped when the socket closed (leases redeliver). */
  private sendBatch(type: 'messages' | 'results', items: readonly string[]): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(`{"type":"${type}","${type}":[${items.join(',')}]}`);
  }

  /** Another connection of the same agent took over. */
  replaced(): void {
    this.session = undefined;
    this.close(WsClose.REPLACED, 'replaced by a newer connection of this agent');
  }

  private send(frame: Record<string, unknown>): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.cork();
    this.socket.send(JSON.stringify(frame));
  }

  private error(id: unknown, code: string, message: string, extra?: Record<string, unknown>): void {
    this.send({ type: 'error', ...(id !== undefined ? { id } : {}), error: { code, message, ...extra } });
  }

  private close(code: number, reason: string): void {
    if (this.authTimer !== undefined) clearTimeout(this.authTimer);
    this.authTimer = undefined;
    if (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING) this.socket.close(code, reason.slice(0, 120));
  }

  private async bind(requestedAgent: string | undefined): Promise<void> {
    const principal = this.principal!;
    this.binding = true;
    const agentId = principal.agentId ?? (principal.kind === 'dev' ? requestedAgent : undefined);
    if (agentId === undefined) return this.close(principal.kind === 'dev' ? WsClose.BAD_REQUEST : WsClose.FORBIDDEN, principal.kind === 'dev' ? 'name the agent: auth {agentId} or ?agentId=' : 'the credential is not bound to an agent');
    if (requestedAgent !== undefined && requestedAgent !== agentId) return this.close(WsClose.FORBIDDEN, `${ServerErrorCode.IDENTITY_MISMATCH}: authenticated as ${agentId}`);
    const agent = await this.ctx.bus.getAgent(agentId);
    if (agent === undefined || !inTenant(principal, agent.tenantId)) return this.close(WsClose.UNKNOWN_AGENT, `agent ${agentId} is not registered`);
    if (this.socket.readyState !== this.socket.OPEN) return;
    try {
      this.session = this.ctx.sessions.open(agent.agentId, agent.tenantId);
    } catch (error) {
      if (isBusError(error)) return this.close(WsClose.CONFLICT, `${error.code}: ${error.message}`);
      throw error;
    }
    const ready: Record<string, unknown> = { type: 'ready', agentId: agent.agentId, tenantId: agent.tenantId, ackTimeoutMs: this.ctx.config.delivery.ackTimeoutMs, pushWindow: this.ctx.config.delivery.pushWindow };
    if (this.batching) ready.batch = true;
    this.send(ready);
    const previous = this.session.attach(this);
    if (previous instanceof WsConnection) previous.replaced();
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    let frame: unknown;
    try {
      frame = parseJsonBody(isBinary ? data.toString('utf8') : String(data));
    } catch (error) {
      return this.error(undefined, 'INVALID_MESSAGE', error instanceof ForbiddenKeyError ? `the frame is refused: ${error.message}` : 'frame is not valid JSON');
    }
    if (!isObject(frame) || typeof frame.type !== 'string') return this.error(undefined, 'INVALID_MESSAGE', 'a frame is a JSON object with a "type"');
    const id = frame.id;
    if (this.principal === undefined) {
      if (frame.type !== 'auth') return this.close(WsClose.UNAUTHENTICATED, 'the first frame must be auth');
      const credential = typeof frame.token === 'string' ? frame.token : typeof frame.apiKey === 'string' ? frame.apiKey : '';
      const principal = this.ctx.auth.enabled ? this.ctx.auth.authenticateCredential(credential, 'websocket') : this.ctx.auth.authenticateHeaders({}, 'websocket');
      if (principal instanceof HttpFailure) return this.close(WsClose.UNAUTHENTICATED, principal.body.error.message);
      if (this.authTimer !== undefined) clearTimeout(this.authTimer);
      this.authTimer = undefined;
      this.principal = principal;
      this.batching = frame.batch === true || this.queryBatch;
      void this.bind(typeof frame.agentId === 'string' ? frame.agentId : undefined);
      return;
    }
    const session = this.session;
    if (session === undefined) {
      if (this.binding) return this.error(id, 'INVALID_ARGUMENT', 'wait for the ready frame');
      return;
    }
    switch (frame.type) {
      case 'send':
      case 'broadcast':
      case 'request':
        return this.dispatch(frame, frame.type, session);
      case 'ack': {
        const conflict = disagreeingSpellings('frame', frame);
        if (conflict !== undefined) return this.error(id, 'INVALID_ARGUMENT', conflict);
        const ids = frame.deliveryIds ?? frame.delivery_ids ?? (frame.deliveryId !== undefined ? [frame.deliveryId] : undefined);
        if (!Array.isArray(ids) || ids.length > 10_000 || !ids.every((x) => Number.isInteger(x))) return this.error(id, 'INVALID_ARGUMENT', 'ack needs deliveryIds: an array of integers');
        const result = session.ack(ids as number[]);
        if (result.unknown.length > 0) this.error(id, 'NOT_FOUND', 'unknown or already acknowledged deliveries', { deliveryIds: result.unknown });
        return;
      }
      case 'heartbeat':
        return void this.ctx.bus.heartbeat(session.agentId).then(() => this.send({ type: 'heartbeat', ...(id !== undefined ? { id } : {}), at: Date.now() }));
      case 'auth':
        return this.error(id, 'INVALID_ARGUMENT', 'already authenticated');
      default:
        return this.error(id, 'INVALID_ARGUMENT', `unknown frame type ${JSON.stringify(frame.type).slice(0, 40)}`);
    }
  }

  private dispatch(frame: Record<string, unknown>, mode: SendMode, session: AgentSession): void {
    const id = frame.id;
    if (!isObject(frame.message)) return this.error(id, 'INVALID_MESSAGE', 'message must be a JSON object');
    const message = frame.message;
    if (message.fromAgent === undefined && message.from_agent === undefined) message.fromAgent = session.agentId;
    if (message.tenantId === undefined && message.tenant_id === undefined) message.tenantId = session.tenantId;
    const options: SendRequestOptions = {};
    if (frame.details === true) options.details = true;
    if (typeof frame.agentType === 'string') options.agentType = frame.agentType;
    if (typeof frame.capability === 'string') options.capability = frame.capability;
    if (typeof frame.timeoutMs === 'number') options.timeoutMs = frame.timeoutMs;
    let answer: Answer | Promise<Answer>;
    try {
      answer = sendThroughBus(this.ctx.bus, this.ctx.quotas, this.principal!, message, mode, options);
    } catch (error) {
      return this.failed(id, error);
    }
    // The fast lane answers in this turn: no promise, no microtask per message.
    if (isThenable(answer)) {
      answer.then(
        (a) => this.answer(id, a),
        (error: unknown) => this.failed(id, error),
      );
    } else {
      this.answer(id, answer);
    }
  }

  /** Never throws: it runs inside the socket's message handler or a promise callback. */
  private answer(id: unknown, answer: Answer): void {
    try {
      // A frame without an id asked for no confirmation (like NATS's non-verbose PUB): only refusals are answered.
      if (answer.status < 300) {
        if (id === undefined) return;
        if (this.batching) {
          this.cork();
          this.batchItem(this.resultItems, JSON.stringify({ id, status: answer.status, result: answer.body }));
        } else {
          this.send({ type: 'result', id, status: answer.status, result: answer.body });
        }
      } else {
        this.send({ type: 'error', ...(id !== undefined ? { id } : {}), status: answer.status, ...(answer.body as Record<string, unknown>) });
      }
    } catch (error) {
      this.failed(id, error);
    }
  }

  private failed(id: unknown, error: unknown): void {
    this.ctx.log.error({ err: error }, 'websocket send failed');
    this.error(id, ServerErrorCode.INTERNAL, 'internal error');
  }

  private onClose(): void {
    if (this.authTimer !== undefined) clearTimeout(this.authTimer);
    this.ctx.state.websockets--;
    this.session?.detach(this);
    this.session = undefined;
  }
}

export function websocketRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get(
    '/v1/ws',
    {
      websocket: true,
      config: { auth: false },
      schema: {
        summary: 'WebSocket: authenticate, receive pushed messages (ack each), send, heartbeat',
        description: 'Credentials in the upgrade request (Authorization / X-API-Key) or in a first frame {"type":"auth","token":"..."}; JWTs with a jti are one-time here. See docs/server.md for the frames.',
        tags: ['websocket'],
      },
    },
    (socket: WebSocket, request: FastifyRequest) => {
      new WsConnection(socket, request, ctx);
    },
  );
}
