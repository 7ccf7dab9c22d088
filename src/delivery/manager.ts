import { BusError, ErrorCode, type RejectionCode } from '../errors.js';
import type { AgentMessage } from '../message/schema.js';
import type { Breaker, BreakerOptions } from '../resilience/breaker.js';
import type { ChaosEngine } from '../resilience/chaos.js';
import type { BreakerRegistry } from '../resilience/registry.js';
import type { DeliveryLedger } from './ledger.js';
import { Mailbox, type Delivery, type MailboxHooks, type MessageHandler, type SubscribeOptions } from './mailbox.js';

export interface DeliveryOptions {
  /** Messages one agent's inbox holds before refusing with BACKPRESSURE (default 10,000). */
  readonly inboxCapacity?: number;
  /** An async handler that has not settled after this long is timed out (default 30 s). */
  readonly handlerTimeoutMs?: number;
  readonly onFailure?: (agentId: string, message: AgentMessage, code: RejectionCode, reason: string) => void;
  /** Where per-subscriber breakers live; with it, a handler failing failMax times in a row is paused. */
  readonly breakers?: BreakerRegistry;
  readonly subscriberBreaker?: BreakerOptions | false;
  /** Handler hangs are injected here (target 'handler:<agentId>'). */
  readonly chaos?: ChaosEngine;
  /** Inbox fill ratios at which LOW, NORMAL, HIGH are refused (default [1, 1, 1]). */
  readonly inboxWatermarks?: readonly [number, number, number];
  readonly onPause?: (agentId: string, paused: boolean) => void;
}

export interface DeliveryStats {
  mailboxes: number;
  queued: number;
  asyncInFlight: number;
  handlerTimeouts: number;
  discardedOnRemoval: number;
  /** Subscribers whose breaker is open or on trial: their messages wait in the inbox. */
  pausedSubscribers: number;
  subscriberPauses: number;
}

/**
 * Owns every agent's mailbox and the one sweep timer that times out async handlers: a deadline
 * per delivery is a timestamp, checked by a single timer that runs only while async handlers are
 * in flight. The timer keeps the process alive only while a sender awaits a delivery outcome
 * (`awaitDelivery`): a hung handler must still be answered with TIMEOUT when nothing else keeps
 * the event loop running, while a bus with only fire-and-forget deliveries in flight (or a
 * stopped one) must not hold the process open.
 */
export class DeliveryManager implements MailboxHooks {
  readonly handlerTimeoutMs: number;
  private readonly inboxCapacity: number;
  private readonly mailboxes = new Map<string, Mailbox>();
  private readonly asyncInFlight = new Map<Delivery, Mailbox>();
  private sweepTimer: NodeJS.Timeout | undefined;
  /** Accepted deliveries whose outcome a sender awaits and that have not settled yet (queued or in a handler). */
  private awaited = 0;
  private readonly failureListener: DeliveryOptions['onFailure'];
  private handlerTimeouts = 0;
  private discardedOnRemoval = 0;
  private paused = 0;
  private pauses = 0;
  readonly chaos: ChaosEngine | undefined;
  ledger: DeliveryLedger | undefined;
  private readonly breakers: BreakerRegistry | undefined;
  private readonly subscriberBreakerOptions: BreakerOptions | false;
  private readonly watermarks: readonly [number, number, number];
  private readonly pauseListener: DeliveryOptions['onPause'];

  constructor(options: DeliveryOptions = {}) {
    this.inboxCapacity = options.inboxCapacity ?? 10_000;
    this.handlerTimeoutMs = options.handlerTimeoutMs ?? 30_000;
    if (!Number.isInteger(this.inboxCapacity) || this.inboxCapacity < 1) {
      throw new BusError(ErrorCode.INVALID_OPTIONS, 'inboxCapacity must be a positive integer');
    }
    if (!(this.handlerTimeoutMs > 0)) throw new BusError(ErrorCode.INVALID_OPTIONS, 'handlerTimeoutMs must be positive');
    this.failureListener = options.onFailure;
    this.chaos = options.chaos;
    this.breakers = options.breakers;
    this.subscriberBreakerOptions = options.subscriberBreaker ?? {};
    this.watermarks = options.inboxWatermarks ?? [1, 1, 1];
    this.pauseListener = options.onPause;
  }

  subscriberBreaker(agentId: string): Breaker | undefined {
    if (this.breakers === undefined || this.subscriberBreakerOptions === false) return undefined;
    return this.breakers.subscriber(agentId, this.subscriberBreakerOptions);
  }

  releaseSubscriberBreaker(agentId: string): void {
    this.breakers?.removeSubscriber(agentId);
  }

  limits(capacity: number): readonly number[] {
    const [low, normal, high] = this.watermarks;
    return [Math.max(1, Math.floor(capacity * low)), Math.max(1, Math.floor(capacity * normal)), Math.max(1, Math.floor(capacity * high)), capacity];
  }

  onPause(agentId: string, paused: boolean): void {
    this.paused += paused ? 1 : -1;
    if (paused) this.pauses++;
    try {
      this.pauseListener?.(agentId, paused);
    } catch {
      // The listener's failure is its own.
    }
  }

  mailbox(agentId: string, tenantId: string): Mailbox {
    let mailbox = this.mailboxes.get(agentId);
    if (mailbox === undefined || mailbox.tenantId !== tenantId) {
      mailbox?.close();
      mailbox = new Mailbox(agentId, tenantId, this.inboxCapacity, this);
      this.mailboxes.set(agentId, mailbox);
      if (this.ledger !== undefined) {
        const recovered = this.ledger.takePending(agentId, tenantId);
        if (recovered.length > 0) mailbox.restore(recovered);
      }
    }
    return mailbox;
  }

  existing(agentId: string): Mailbox | undefined {
    return this.mailboxes.get(agentId);
  }

  subscribe(agentId: string, tenantId: string, handler: MessageHandler, options: SubscribeOptions = {}): () => boolean {
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new BusError(ErrorCode.INVALID_ARGUMENT, 'subscribe concurrency must be a positive integer');
    }
    const criticalReserve = options.criticalReserve ?? 0;
    if (!Number.isInteger(criticalReserve) || criticalReserve < 0) {
      throw new BusError(ErrorCode.INVALID_ARGUMENT, 'subscribe criticalReserve must be an integer >= 0');
    }
    const settle = options.settle ?? 'handler';
    if (settle !== 'handler' && settle !== 'explicit') {
      throw new BusError(ErrorCode.INVALID_ARGUMENT, "subscribe settle must be 'handler' or 'explicit'");
    }
    const mailbox = this.mailbox(agentId, tenantId);
    if (mailbox.subscribed) throw new BusError(ErrorCode.ALREADY_SUBSCRIBED, `agent ${agentId} already has a subscriber`);
    mailbox.subscribe(handler, { concurrency, criticalReserve, settle });
    return () => mailbox.unsubscribe(handler);
  }

  /** Drops an agent's mailbox; returns how many queued messages were discarded. */
  remove(agentId: string): number {
    const mailbox = this.mailboxes.get(agentId);
    if (mailbox === undefined) return 0;
    this.mailboxes.delete(agentId);
    const discarded = mailbox.close();
    this.discardedOnRemoval += discarded;
    return discarded;
  }

  onFailure(agentId: string, message: AgentMessage, code: RejectionCode, reason: string): void {
    if (code === 'TIMEOUT') this.handlerTimeouts++;
    this.failureListener?.(agentId, message, code, reason);
  }

  trackAsync(mailbox: Mailbox, delivery: Delivery): void {
    delivery.deadline = Date.now() + this.handlerTimeoutMs;
    this.asyncInFlight.set(delivery, mailbox);
    if (this.sweepTimer === undefined) {
      const every = Math.max(10, Math.min(1000, Math.floor(this.handlerTimeoutMs / 4)));
      this.sweepTimer = setInterval(() => this.sweep(), every);
      if (this.awaited === 0) this.sweepTimer.unref();
    }
  }

  /**
   * A sender started awaiting a delivery outcome. While any is awaited, the sweep timer is ref'd:
   * the outcome may be a TIMEOUT only the sweep produces (the awaited delivery hangs in a handler,
   * or waits in the inbox behind one that does). Conservative across mailboxes: an awaited
   * delivery that nothing will settle (queued for a subscriber that has gone) keeps the process
   * alive at most until the handlers now in flight have settled or timed out.
   */
  awaitStarted(): void {
    if (this.awaited++ === 0) this.sweepTimer?.ref();
  }

  /** The awaited outcome was settled (or the delivery was refused). */
  awaitEnded(): void {
    if (--this.awaited === 0) this.sweepTimer?.unref();
  }

  /** Accepted deliveries a sender awaits (`awaitDelivery`) that have not settled yet. */
  get awaitedOutcomes(): number {
    return this.awaited;
  }

  /** Whether the handler-timeout sweep currently keeps the process alive (tests). */
  get sweepKeepsAlive(): boolean {
    return this.sweepTimer?.hasRef() ?? false;
  }

  untrackAsync(delivery: Delivery): void {
    this.asyncInFlight.delete(delivery);
    if (this.asyncInFlight.size === 0 && this.sweepTimer !== undefined) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  /** Settles every handler past its deadline with TIMEOUT. Insertion order is deadline order. */
  sweep(now = Date.now()): void {
    for (const [delivery, mailbox] of this.asyncInFlight) {
      if (delivery.deadline > now) break;
      mailbox.timeOut(delivery);
    }
  }

  /** Resolves once no async handler is in flight, or after `timeoutMs`. */
  async idle(timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    while (this.asyncInFlight.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    return this.asyncInFlight.size === 0;
  }

  close(): void {
    if (this.sweepTimer !== undefined) clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    for (const agentId of [...this.mailboxes.keys()]) this.remove(agentId);
  }

  stats(): DeliveryStats {
    let queued = 0;
    for (const mailbox of this.mailboxes.values()) queued += mailbox.size;
    return {
      mailboxes: this.mailboxes.size,
      queued,
      asyncInFlight: this.asyncInFlight.size,
      handlerTimeouts: this.handlerTimeouts,
      discardedOnRemoval: this.discardedOnRemoval,
      pausedSubscribers: this.paused,
      subscriberPauses: this.pauses,
    };
  }
}

