import { RejectionCode } from '../errors.js';
import { Priority, PRIORITY_LEVELS } from '../message/constants.js';
import type { AgentMessage } from '../message/schema.js';
import { isThenable } from '../governance/verdict.js';
import type { Breaker } from '../resilience/breaker.js';
import type { ChaosEngine } from '../resilience/chaos.js';
import type { DeliveryLedger } from './ledger.js';
import { Ring } from './ring.js';

export interface DeliveryContext {
  /** The agent this delivery is for. */
  readonly agentId: string;
  readonly tenantId: string;
  /**
   * True when the message came back from the delivery ledger after a restart: it may have been
   * handled (or handed out) before the crash.
   */
  readonly redelivered: boolean;
  /**
   * For a subscriber with `settle: 'explicit'`: records that it is finished with a message it took
   * over (acknowledged, expired, discarded), so that the delivery ledger stops redelivering it
   * after a crash. Idempotent; a no-op without a ledger.
   */
  settle(messageId: string): void;
}

export type MessageHandler = (message: AgentMessage, ctx: DeliveryContext) => unknown;

export interface SubscribeOptions {
  /** Messages handled at once by this subscriber (default 1: in priority-then-FIFO order). */
  readonly concurrency?: number;
  /**
   * Extra handler slots only CRITICAL messages may use (default 0), so that a CRITICAL message
   * never waits for lower-priority work already in the handler.
   */
  readonly criticalReserve?: number;
  /**
   * When the delivery ledger counts a message as finished: 'handler' (default) once the handler
   * settles; 'explicit' only once the subscriber calls `ctx.settle(messageId)`, whatever the handler
   * returned or threw — for a subscriber that takes messages into a buffer of its own and learns
   * later whether they were processed (the server's sessions settle on the client's ack). Without
   * a ledger both behave the same.
   */
  readonly settle?: 'handler' | 'explicit';
}

/** The outcome of one delivery to one recipient, when the sender asked to wait for it. */
export interface DeliveryOutcome {
  readonly agentId: string;
  readonly ok: boolean;
  readonly code?: RejectionCode;
  readonly reason?: string;
}

type Settle = (outcome: DeliveryOutcome) => void;

const CRITICAL = Priority.CRITICAL;

/** A message waiting in a mailbox, or being handled. */
export class Delivery {
  deadline = 0;
  done = false;
  /** Handed to a subscriber that settles explicitly: the ledger's done line is its to write. */
  owned = false;
  /** Given back by the delivery ledger after a restart. */
  restored = false;

  constructor(
    readonly message: AgentMessage,
    readonly settle: Settle | undefined,
  ) {}
}

/** What a mailbox reports back to the delivery manager. */
export interface MailboxHooks {
  handlerTimeoutMs: number;
  onFailure(agentId: string, message: AgentMessage, code: RejectionCode, reason: string): void;
  trackAsync(mailbox: Mailbox, delivery: Delivery): void;
  untrackAsync(delivery: Delivery): void;
  /** A sender started awaiting a delivery outcome of this mailbox / that outcome was settled. */
  awaitStarted(): void;
  awaitEnded(): void;
  /** The per-subscriber breaker for this agent (undefined: handlers run unguarded). */
  subscriberBreaker(agentId: string): Breaker | undefined;
  releaseSubscriberBreaker(agentId: string): void;
  /** Inbox limit per priority (LOW, NORMAL, HIGH, CRITICAL), from the shedding watermarks. */
  limits(capacity: number): readonly number[];
  readonly chaos: ChaosEngine | undefined;
  /** Write-ahead record of deliveries (crash safety), when configured. */
  readonly ledger: DeliveryLedger | undefined;
  /** Called when a subscriber's breaker opens (paused) and when it closes again (resumed). */
  onPause(agentId: string, paused: boolean): void;
}

function okOutcome(agentId: string): DeliveryOutcome {
  return { agentId, ok: true };
}

/**
 * One agent's mailbox: a bounded inbox ordered by priority then arrival, drained either by a push
 * subscriber (at most `concurrency` messages in its handler at once) or by pull receivers.
 * A full inbox refuses with BACKPRESSURE; nothing is dropped without a code.
 */
export class Mailbox {
  private readonly queues: Ring<Delivery>[] = [];
  private waiters: Ring<(message: AgentMessage | null) => void> | undefined;
  private handler: MessageHandler | undefined;
  private concurrency = 1;
  private criticalLimit = 1;
  private active = 0;
  /** Handlers running a non-CRITICAL message: at most `concurrency`; CRITICAL ones may also use the reserve. */
  private activeNonCritical = 0;
  private pumping = false;
  private explicitSettle = false;
  private breaker: Breaker | undefined;
  private resumeTimer: NodeJS.Timeout | undefined;
  private readonly limitByPriority: readonly number[];
  private readonly chaosTarget: string;
  size = 0;
  readonly ctx: DeliveryContext;
  /** The context of deliveries given back by the ledger (created on the first restore). */
  private restoredCtx: DeliveryContext | undefined;

  constructor(
    readonly agentId: string,
    readonly tenantId: string,
    readonly capacity: number,
    private readonly hooks: MailboxHooks,
  ) {
    for (let p = 0; p < PRIORITY_LEVELS; p++) this.queues.push(new Ring<Delivery>(4));
    const settle = (messageId: string): void => hooks.ledger?.done(agentId, messageId);
    this.ctx = Object.freeze({ agentId, tenantId, redelivered: false, settle });
    this.limitByPriority = hooks.limits(capacity);
    this.chaosTarget = `handler:${agentId}`;
  }

  /** True while the subscriber's breaker holds delivery back (its messages wait in the inbox). */
  get paused(): boolean {
    return this.breaker !== undefined && !this.breaker.isClosed;
  }

  get subscribed(): boolean {
    return this.handler !== undefined;
  }

  get inFlight(): number {
    return this.active;
  }

  /**
   * Accepts a message for this agent. Returns undefined when accepted (handed to the handler or a
   * receiver, or queued), or BACKPRESSURE when the inbox is full. With `settle`, the outcome of
   * the handler (or the hand-over to the inbox for pull agents) is reported through it.
   */
  offer(message: AgentMessage, settle: Settle | undefined): RejectionCode | undefined {
    if (this.handler !== undefined) {
      if (this.size === 0 && this.active < this.criticalLimit && (this.activeNonCritical < this.concurrency || message.priority === CRITICAL) && (this.breaker === undefined || this.breaker.isClosed)) {
        this.hooks.ledger?.accepted(this.agentId, this.tenantId, message);
        this.invoke(new Delivery(message, settle === undefined ? undefined : this.awaited(settle)));
        return undefined;
      }
    } else if (this.size === 0 && this.waiters !== undefined && this.waiters.length > 0) {
      this.waiters.shift()!(message);
      settle?.(okOutcome(this.agentId));
      return undefined;
    }
    if (this.size >= this.limitByPriority[message.priority]!) return RejectionCode.BACKPRESSURE;
    this.hooks.ledger?.accepted(this.agentId, this.tenantId, message);
    const delivery = new Delivery(message, this.handler === undefined || settle === undefined ? undefined : this.awaited(settle));
    this.queues[message.priority]!.push(delivery);
    this.size++;
    // An awaited outcome now waits for the paused subscriber's wake-up: it must keep the process alive.
    if (delivery.settle !== undefined) this.resumeTimer?.ref();
    if (this.handler === undefined) settle?.(okOutcome(this.agentId));
    else if (this.active === 0 || (message.priority === CRITICAL && this.active < this.criticalLimit)) this.pump();
    return undefined;
  }

  /** `settle`, counted by the hooks as awaited until it is called (the handler-timeout sweep keeps the process alive meanwhile). */
  private awaited(settle: Settle): Settle {
    const hooks = this.hooks;
    hooks.awaitStarted();
    let open = true;
    return (outcome) => {
      if (open) {
        open = false;
        hooks.awaitEnded();
      }
      settle(outcome);
    };
  }

  subscribe(handler: MessageHandler, options: SubscribeOptions): void {
    this.handler = handler;
    this.concurrency = options.concurrency ?? 1;
    this.criticalLimit = this.concurrency + (options.criticalReserve ?? 0);
    this.explicitSettle = options.settle === 'explicit';
    this.breaker = this.hooks.subscriberBreaker(this.agentId);
    this.pump();
  }

  unsubscribe(handler: MessageHandler): boolean {
    if (this.handler !== handler) return false;
    this.handler = undefined;
    this.dropBreaker();
    return true;
  }

  /** Puts back messages recovered from the delivery ledger after a restart (already recorded there; not refused when full). */
  restore(messages: readonly AgentMessage[]): void {
    this.restoredCtx ??= Object.freeze({ ...this.ctx, redelivered: true });
    for (const message of messages) {
      const delivery = new Delivery(message, undefined);
      delivery.restored = true;
      this.queues[message.priority]!.push(delivery);
      this.size++;
    }
    this.pump();
  }

  /** Whether the size at which a message of this priority is refused has been reached. */
  full(priority: number): boolean {
    return this.size >= this.limitByPriority[priority]!;
  }

  /** Pull: the next message by priority, then arrival, or undefined. */
  take(): AgentMessage | undefined {
    const delivery = this.next();
    if (delivery === undefined) return undefined;
    this.hooks.ledger?.done(this.agentId, delivery.message.messageId);
    // Queued for a push subscriber that has since gone: handing it to a receiver delivers it.
    delivery.settle?.(okOutcome(this.agentId));
    return delivery.message;
  }

  /** Pull with a wait: resolves with the next message, or null after `timeoutMs`. */
  receive(timeoutMs: number): Promise<AgentMessage | null> {
    const ready = this.take();
    if (ready !== undefined) return Promise.resolve(ready);
    if (timeoutMs <= 0) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiters ??= new Ring(4);
      let timer: NodeJS.Timeout | undefined;
      const waiter = (message: AgentMessage | null) => {
        if (timer !== undefined) clearTimeout(timer);
        resolve(message);
      };
      timer = setTimeout(() => {
        timer = undefined;
        this.removeWaiter(waiter);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /**
   * Closes the mailbox (agent unregistered or evicted): waiting receivers get null, queued deliveries
   * that a sender awaits are settled with UNKNOWN_RECIPIENT. Returns how many queued messages were discarded.
   */
  close(): number {
    this.handler = undefined;
    this.dropBreaker();
    const discarded = this.size;
    let delivery: Delivery | undefined;
    while ((delivery = this.next()) !== undefined) {
      this.hooks.ledger?.done(this.agentId, delivery.message.messageId);
      delivery.settle?.({ agentId: this.agentId, ok: false, code: RejectionCode.UNKNOWN_RECIPIENT, reason: 'the agent left before the message was handled' });
    }
    if (this.waiters !== undefined) for (const waiter of this.waiters.drain()) waiter(null);
    return discarded;
  }

  /** Called by the delivery manager when an async handler passed its deadline. */
  timeOut(delivery: Delivery): void {
    this.finish(delivery, RejectionCode.TIMEOUT, `handler did not settle within ${this.hooks.handlerTimeoutMs} ms`);
  }

  private next(): Delivery | undefined {
    if (this.size === 0) return undefined;
    for (let p = PRIORITY_LEVELS - 1; p >= 0; p--) {
      const delivery = this.queues[p]!.shift();
      if (delivery !== undefined) {
        this.size--;
        return delivery;
      }
    }
    return undefined;
  }

  private invoke(delivery: Delivery): void {
    this.active++;
    if (delivery.message.priority !== CRITICAL) this.activeNonCritical++;
    let result: unknown;
    try {
      const chaos = this.hooks.chaos;
      // An injected hang: the handler is not called and the delivery times out like a real hang.
      if (this.explicitSettle) delivery.owned = true;
      result = chaos !== undefined && chaos.armed && chaos.hangs(this.chaosTarget) ? HANG : this.handler!(delivery.message, delivery.restored ? this.restoredCtx! : this.ctx);
    } catch (error) {
      this.finish(delivery, RejectionCode.HANDLER_FAILED, describe(error));
      return;
    }
    if (!isThenable(result)) {
      this.finish(delivery, undefined, '');
      return;
    }
    this.hooks.trackAsync(this, delivery);
    result.then(
      () => this.finish(delivery, undefined, ''),
      (error: unknown) => this.finish(delivery, RejectionCode.HANDLER_FAILED, describe(error)),
    );
  }

  private finish(delivery: Delivery, code: RejectionCode | undefined, reason: string): void {
    if (delivery.done) return;
    delivery.done = true;
    if (delivery.deadline !== 0) this.hooks.untrackAsync(delivery);
    this.active--;
    if (delivery.message.priority !== CRITICAL) this.activeNonCritical--;
    if (!delivery.owned) this.hooks.ledger?.done(this.agentId, delivery.message.messageId);
    const breaker = this.breaker;
    if (breaker !== undefined) {
      const wasClosed = breaker.isClosed;
      if (code === undefined) breaker.success();
      else breaker.failure(reason);
      if (wasClosed !== breaker.isClosed) this.hooks.onPause(this.agentId, !breaker.isClosed);
    }
    if (code === undefined) {
      delivery.settle?.(okOutcome(this.agentId));
    } else {
      this.hooks.onFailure(this.agentId, delivery.message, code, reason);
      delivery.settle?.({ agentId: this.agentId, ok: false, code, reason });
    }
    this.pump();
  }

  /** Hands queued messages to the handler while it has free slots; a loop, never recursion. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.handler !== undefined && this.size > 0 && this.active < this.criticalLimit && (this.activeNonCritical < this.concurrency || this.queues[CRITICAL]!.length > 0)) {
        if (this.breaker !== undefined && !this.breaker.isClosed && !this.mayTry(this.breaker)) break;
        this.invoke(this.next()!);
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * A paused subscriber: one message goes to the handler once the breaker's retryAt has passed
   * (half-open trial) and nothing else is in flight; until then a single timer wakes the mailbox.
   */
  private mayTry(breaker: Breaker): boolean {
    if (this.active > 0) return false;
    if (breaker.allow()) return true;
    if (this.resumeTimer === undefined && breaker.retryAt > 0) {
      this.resumeTimer = setTimeout(() => {
        this.resumeTimer = undefined;
        this.pump();
      }, Math.max(1, breaker.retryAt - Date.now()));
      if (!this.holdsAwaited()) this.resumeTimer.unref();
    }
    return false;
  }

  /** Whether a queued delivery has a sender awaiting its outcome. */
  private holdsAwaited(): boolean {
    return this.queues.some((queue) => queue.some((delivery) => delivery.settle !== undefined));
  }

  private dropBreaker(): void {
    if (this.resumeTimer !== undefined) clearTimeout(this.resumeTimer);
    this.resumeTimer = undefined;
    if (this.breaker !== undefined) {
      const wasPaused = !this.breaker.isClosed;
      this.breaker = undefined;
      this.hooks.releaseSubscriberBreaker(this.agentId);
      if (wasPaused) this.hooks.onPause(this.agentId, false);
    }
  }

  private removeWaiter(waiter: (message: AgentMessage | null) => void): void {
    if (this.waiters === undefined) return;
    const kept = new Ring<(message: AgentMessage | null) => void>(4);
    for (const w of this.waiters.drain()) if (w !== waiter) kept.push(w);
    this.waiters = kept;
  }
}

/** What an injected hang returns instead of calling the handler: a promise that never settles. */
const HANG: PromiseLike<never> = { then: () => HANG } as unknown as PromiseLike<never>;

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
