import type { AgentBus } from '../bus.js';
import type { DeliveryContext } from '../delivery/mailbox.js';
import { Ring } from '../delivery/ring.js';
import type { AgentMessage } from '../message/schema.js';
import type { DeliveryConfig } from './config.js';

/**
 * Server-side delivery sessions: one per agent that pulls over HTTP or connects over WebSocket.
 *
 * A session subscribes to the bus for its agent and keeps the agent's messages in a bounded
 * retention buffer until they are acknowledged. Handing a message out (a pull, or a push over
 * WebSocket) leases it; a lease that ends without an ack puts the message back at the front of
 * the queue with the same deliveryId (at-least-once). A WebSocket that closes returns its leases
 * at once, so a client that reconnects within the retention window gets what it missed.
 *
 * When the buffer is full the bus handler waits (the bus inbox then absorbs the overflow and
 * refuses senders with BACKPRESSURE once it is full too). A message unacknowledged for longer than
 * `retentionMs`, or past its expiresAt, is dropped and counted as expired.
 *
 * A session subscribes with `settle: 'explicit'`: with the bus's delivery ledger on, a message it
 * holds stays open in the ledger until the client acknowledges it, it expires, or the agent is
 * removed (discarded) — those are the points where the session settles it. After a crash, what was
 * held and unacknowledged (queued, leased, or waiting for room) is delivered again when the agent
 * opens its session again; an acknowledged message is not. Closing every session at shutdown
 * settles nothing: the ledger keeps those messages for the next start.
 */

export class Retained {
  attempts = 0;
  leaseUntil = 0;
  /** The consumer holding the lease: a push sink, or PULL. */
  holder: PushSink | typeof PULL | undefined;
  done = false;

  constructor(
    /** This process's sequence number (the session's map key). */
    readonly seq: number,
    /** The deliveryId clients see and acknowledge: the manager's idBase + seq. */
    readonly id: number,
    readonly message: AgentMessage,
    readonly arrivedAt: number,
  ) {}
}

/**
 * Sequence numbers are kept below 2^31 as index keys (array indexes, never property names). Past
 * 2^31 deliveries a new seq whose key a live entry still holds is skipped (store(), add()), so a key
 * names one entry at most; get() also checks the entry's own seq, so an id that only shares the
 * key names nothing.
 */
const INDEX_MASK = 0x7fffffff;

/**
 * Retained entries by seq (one insert and one delete per message). Not a Map: V8 (Node 20)
 * replaces a Map's hash table as deleted entries pile up and links the old table to the new one,
 * and once a table had reached the old generation, young collections kept later tables and the
 * entries they held alive and promoted them. Measured with the WebSocket server at 40k msgs/s
 * (scratch harness, four 3-second rounds): with Maps the old generation grew ~1.3 MB per young
 * collection and p99 was 3.4–12 ms; with this index it stayed flat and p99 was 1.1–1.8 ms. Keys are
 * integers, so V8 keeps them as elements.
 */
class RetainedIndex {
  private entries: Record<number, Retained> = Object.create(null) as Record<number, Retained>;
  size = 0;

  get(seq: number): Retained | undefined {
    const entry = this.entries[seq & INDEX_MASK];
    return entry !== undefined && entry.seq === seq ? entry : undefined;
  }

  /** Adds the entry; false (and nothing changes) when a live entry holds its key (a seq 2^31 apart). */
  add(entry: Retained): boolean {
    const key = entry.seq & INDEX_MASK;
    if (this.entries[key] !== undefined) return false;
    this.entries[key] = entry;
    this.size++;
    return true;
  }

  delete(entry: Retained): void {
    const key = entry.seq & INDEX_MASK;
    if (this.entries[key] !== entry) return;
    delete this.entries[key];
    this.size--;
  }

  /** In key order (seq order until keys wrap at 2^31). */
  values(): Retained[] {
    return Object.values(this.entries);
  }
}

interface RoomWaiter {
  message: AgentMessage;
  redelivered: boolean;
  resolve: () => void;
}

const PULL = Symbol('pull');

/** Where a session pushes messages (a WebSocket connection). */
export interface PushSink {
  /** Sends the deliveries; they are leased until acked or until the sink detaches. */
  deliver(entries: readonly Retained[]): void;
}

export interface Delivery {
  deliveryId: number;
  attempt: number;
  message: AgentMessage;
}

export interface SessionStats {
  sessions: number;
  attached: number;
  retained: number;
  leased: number;
  pushed: number;
  pulled: number;
  acked: number;
  redelivered: number;
  expired: number;
  discarded: number;
}

export class AgentSession {
  private readonly fresh = new Ring<Retained>(16);
  private readonly again = new Ring<Retained>(4);
  /** By seq. */
  private readonly byId = new RetainedIndex();
  private readonly leased = new RetainedIndex();
  /** Bus deliveries waiting for room (one normally; more only if the bus timed out a wait). */
  private readonly roomWaiters = new Ring<RoomWaiter>(2);
  /** The bus's delivery context for this agent: settles messages in the delivery ledger. */
  private delivery: DeliveryContext | undefined;
  private pullWaiters: Array<() => void> = [];
  sink: PushSink | undefined;
  /** Leases held by the attached sink (the push window). */
  pushLeased = 0;
  ready = false;
  blocked = false;
  closed = false;
  unsubscribe: (() => boolean) | undefined;

  constructor(
    readonly agentId: string,
    readonly tenantId: string,
    private readonly manager: SessionManager,
  ) {}

  get retained(): number {
    return this.byId.size;
  }

  get leasedCount(): number {
    return this.leased.size;
  }

  /** Queued (not leased) messages. */
  get queued(): number {
    return this.byId.size - this.leased.size;
  }

  /**
   * The bus handler: takes the message now, or once the buffer has room. Either way the session
   * owns it from here (the subscription settles explicitly).
   */
  readonly accept = (message: AgentMessage, ctx: DeliveryContext): undefined | Promise<void> => {
    this.delivery = ctx;
    if (this.roomWaiters.length === 0 && this.byId.size < this.manager.config.sessionCapacity) {
      this.store(message, ctx.redelivered);
      return undefined;
    }
    return new Promise<void>((resolve) => {
      this.roomWaiters.push({ message, redelivered: ctx.redelivered, resolve });
    });
  };

  private store(message: AgentMessage, redelivered: boolean): void {
    const arrivedAt = this.manager.clock();
    let entry: Retained;
    do {
      const seq = this.manager.nextSeq();
      entry = new Retained(seq, this.manager.idBase + seq, message, arrivedAt);
    } while (!this.byId.add(entry));
    // Given back by the ledger after a restart: it may have been handed out before, so the first attempt shown is 2.
    if (redelivered) entry.attempts = 1;
    this.fresh.push(entry);
    this.manager.retainedTotal++;
    this.onWork();
  }

  private onWork(): void {
    if (this.pullWaiters.length > 0) {
      const waiters = this.pullWaiters;
      this.pullWaiters = [];
      for (const wake of waiters) wake();
    }
    if (this.sink !== undefined) this.manager.markReady(this);
  }

  private nextQueued(): Retained | undefined {
    let entry: Retained | undefined;
    while ((entry = this.again.shift()) !== undefined) if (!entry.done && entry.holder === undefined) return entry;
    while ((entry = this.fresh.shift()) !== undefined) if (!entry.done && entry.holder === undefined) return entry;
    return undefined;
  }

  private lease(entry: Retained, holder: PushSink | typeof PULL, until: number): void {
    entry.attempts++;
    entry.holder = holder;
    entry.leaseUntil = until;
    this.leased.add(entry);
    if (holder !== PULL) this.pushLeased++;
  }

  /** Pull: up to `max` queued messages, leased for `leaseMs`. */
  take(max: number, leaseMs: number): Retained[] {
    const out: Retained[] = [];
    const until = this.manager.clock() + leaseMs;
    while (out.length < max) {
      const entry = this.nextQueued();
      if (entry === undefined) break;
      this.lease(entry, PULL, until);
      out.push(entry);
    }
    this.manager.counters.pulled += out.length;
    return out;
  }

  /** Resolves when a message arrives, the session closes, or after `timeoutMs` (false). */
  waitForWork(timeoutMs: number): Promise<boolean> {
    if (this.queued > 0) return Promise.resolve(true);
    if (this.closed || timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const i = this.pullWaiters.indexOf(wake);
        if (i >= 0) this.pullWaiters.splice(i, 1);
        this.manager.longPolls.delete(wake);
        resolve(false);
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        this.manager.longPolls.delete(wake);
        resolve(!this.closed);
      };
      this.pullWaiters.push(wake);
      this.manager.longPolls.add(wake);
    });
  }

  /**
   * Acknowledges deliveries (late acks of a lease that already ended are honoured too). Each ack
   * is recorded in the delivery ledger before this returns.
   */
  ack(ids: readonly number[]): { acked: number[]; unknown: number[] } {
    const acked: number[] = [];
    const unknown: number[] = [];
    const base = this.manager.idBase;
    for (const id of ids) {
      const entry = this.byId.get(id - base);
      if (entry === undefined) {
        unknown.push(id);
        continue;
      }
      this.finish(entry);
      this.settle(entry.message);
      acked.push(id);
    }
    this.manager.counters.acked += acked.length;
    this.afterRelease();
    return { acked, unknown };
  }

  /** A final decision about the message (acked, expired, discarded): the ledger stops keeping it. */
  private settle(message: AgentMessage): void {
    this.delivery?.settle(message.messageId);
  }

  private finish(entry: Retained): void {
    entry.done = true;
    this.byId.delete(entry);
    this.manager.retainedTotal--;
    if (entry.holder !== undefined) this.endLease(entry);
  }

  private endLease(entry: Retained): void {
    this.leased.delete(entry);
    if (entry.holder !== PULL) {
      this.pushLeased--;
      this.manager.tenantUnacked(this.tenantId, -1);
    }
    entry.holder = undefined;
  }

  /** After acks or expiries: admit a waiting bus delivery, wake the pusher. */
  private afterRelease(): void {
    while (this.roomWaiters.length > 0 && this.byId.size < this.manager.config.sessionCapacity) {
      const waiter = this.roomWaiters.shift()!;
      this.store(waiter.message, waiter.redelivered);
      waiter.resolve();
    }
    if (this.sink !== undefined && this.queued > 0) this.manager.markReady(this);
  }

  /** Attaches a push consumer (replacing any other); returns the replaced one. */
  attach(sink: PushSink): PushSink | undefined {
    const previous = this.sink;
    if (previous !== undefined) this.detach(previous);
    this.sink = sink;
    if (this.queued > 0) this.manager.markReady(this);
    return previous;
  }

  /** Detaches a push consumer: everything it held unacknowledged is queued again at once. */
  detach(sink: PushSink): void {
    if (this.sink !== sink) return;
    this.sink = undefined;
    for (const entry of this.leased.values()) {
      if (entry.holder === sink) this.requeue(entry);
    }
  }

  private requeue(entry: Retained): void {
    this.endLease(entry);
    this.again.push(entry);
    this.manager.counters.redelivered++;
  }

  /** Push: hands up to `budget` messages to the sink within the window; returns how many. */
  pump(budget: number, tenantRoom: number): number {
    const sink = this.sink;
    if (sink === undefined) return 0;
    const room = Math.min(budget, this.manager.config.pushWindow - this.pushLeased, tenantRoom);
    if (room <= 0) return 0;
    const until = this.manager.clock() + this.manager.config.ackTimeoutMs;
    const batch: Retained[] = [];
    while (batch.length < room) {
      const entry = this.nextQueued();
      if (entry === undefined) break;
      this.lease(entry, sink, until);
      batch.push(entry);
    }
    if (batch.length === 0) return 0;
    this.manager.tenantUnacked(this.tenantId, batch.length);
    this.manager.counters.pushed += batch.length;
    sink.deliver(batch);
    return batch.length;
  }

  get hasPushWork(): boolean {
    return this.sink !== undefined && this.queued > 0 && this.pushLeased < this.manager.config.pushWindow;
  }

  /** Ends overdue leases and drops messages past retention or expiry; returns how many expired. */
  sweep(now: number): number {
    let expired = 0;
    const horizon = now - this.manager.config.retentionMs;
    for (const entry of this.leased.values()) {
      if (entry.leaseUntil > now) continue;
      if (entry.arrivedAt < horizon || (entry.message.expiresAt !== undefined && entry.message.expiresAt < now)) {
        this.finish(entry);
        this.settle(entry.message);
        expired++;
      } else {
        this.requeue(entry);
      }
    }
    for (const ring of [this.again, this.fresh]) {
      let head: Retained | undefined;
      while ((head = ring.peek()) !== undefined && (head.done || head.holder !== undefined || head.arrivedAt < horizon)) {
        ring.shift();
        if (!head.done && head.holder === undefined) {
          this.finish(head);
          this.settle(head.message);
          expired++;
        }
      }
    }
    if (expired > 0) this.manager.counters.expired += expired;
    this.afterRelease();
    return expired;
  }

  /**
   * Closes the session; returns every message it still held (queued, leased, or waiting for room).
   * `discard`: they are dropped for good (the agent was removed) and settled in the delivery
   * ledger; otherwise (the server is stopping) the ledger keeps them for the next start.
   */
  close(discard: boolean): AgentMessage[] {
    if (this.closed) return [];
    this.closed = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    const left = this.byId.values().sort((a, b) => a.seq - b.seq);
    for (const entry of left) this.finish(entry);
    const messages = left.map((e) => e.message);
    for (const waiter of this.roomWaiters.drain()) {
      messages.push(waiter.message);
      waiter.resolve();
    }
    if (discard) for (const message of messages) this.settle(message);
    this.sink = undefined;
    const waiters = this.pullWaiters;
    this.pullWaiters = [];
    for (const wake of waiters) wake();
    return messages;
  }
}

/**
 * Owns the sessions, the one sweep timer, and the push scheduler. Pushes are scheduled fairly:
 * tenants with work take turns (round robin), each turn pushes at most `quantum` messages of one
 * session, and the scheduler yields to I/O after `tickBudget` messages. A tenant whose pushed but
 * unacknowledged messages reach `maxUnackedPerTenant` waits for acks.
 */
export class SessionManager {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly readyTenants = new Ring<string>(16);
  private readonly readyByTenant = new Map<string, Ring<AgentSession>>();
  private readonly unackedByTenant = new Map<string, number>();
  private readonly blockedByTenant = new Map<string, Set<AgentSession>>();
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  readonly longPolls = new Set<() => void>();
  retainedTotal = 0;
  /**
   * Delivery ids are idBase + a sequence number. idBase is the start time in ms × 1000, so an ack
   * sent to a restarted server for a delivery of the previous process names no message of this one
   * (unless the previous process handed out more than a million deliveries a second on average).
   */
  readonly idBase = Date.now() * 1000;
  private seq = 0;
  readonly counters = { pushed: 0, pulled: 0, acked: 0, redelivered: 0, expired: 0, discarded: 0 };
  onExpired: ((agentId: string, count: number) => void) | undefined;
  private readonly quantum = 64;
  private readonly tickBudget = 2048;

  constructor(
    private readonly bus: AgentBus,
    readonly config: DeliveryConfig,
    private readonly maxUnackedPerTenant: number,
    readonly clock: () => number = Date.now,
  ) {
    bus.registry.onRemove((agentId) => this.drop(agentId));
  }

  /** The agent's session, created (and subscribed to the bus) on first use. Throws BusError for an unknown agent. */
  open(agentId: string, tenantId: string): AgentSession {
    let session = this.sessions.get(agentId);
    if (session !== undefined && session.tenantId === tenantId && !session.closed) return session;
    if (session !== undefined) this.drop(agentId);
    session = new AgentSession(agentId, tenantId, this);
    session.unsubscribe = this.bus.subscribe(agentId, session.accept, { settle: 'explicit' });
    this.sessions.set(agentId, session);
    this.startTimer();
    return session;
  }

  get(agentId: string): AgentSession | undefined {
    return this.sessions.get(agentId);
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** Closes an agent's session (agent removed); its messages are discarded, counted and settled. */
  drop(agentId: string): number {
    const session = this.sessions.get(agentId);
    if (session === undefined) return 0;
    this.sessions.delete(agentId);
    const left = session.close(true).length;
    this.counters.discarded += left;
    return left;
  }

  markReady(session: AgentSession): void {
    if (session.ready || session.closed || !session.hasPushWork) return;
    session.ready = true;
    let ring = this.readyByTenant.get(session.tenantId);
    if (ring === undefined) {
      ring = new Ring<AgentSession>(4);
      this.readyByTenant.set(session.tenantId, ring);
      this.readyTenants.push(session.tenantId);
    }
    ring.push(session);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    let budget = this.tickBudget;
    while (budget > 0) {
      const tenantId = this.readyTenants.shift();
      if (tenantId === undefined) break;
      const ring = this.readyByTenant.get(tenantId)!;
      const session = ring.shift()!;
      session.ready = false;
      const tenantRoom = this.maxUnackedPerTenant === 0 ? Infinity : this.maxUnackedPerTenant - (this.unackedByTenant.get(tenantId) ?? 0);
      if (tenantRoom <= 0) {
        this.block(session);
      } else {
        budget -= session.pump(Math.min(this.quantum, budget), tenantRoom);
        if (session.hasPushWork) {
          session.ready = true;
          ring.push(session);
        }
      }
      if (ring.length > 0) this.readyTenants.push(tenantId);
      else this.readyByTenant.delete(tenantId);
    }
    if (this.readyTenants.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  };

  private block(session: AgentSession): void {
    let set = this.blockedByTenant.get(session.tenantId);
    if (set === undefined) this.blockedByTenant.set(session.tenantId, (set = new Set()));
    set.add(session);
  }

  tenantUnacked(tenantId: string, delta: number): void {
    const n = (this.unackedByTenant.get(tenantId) ?? 0) + delta;
    if (n <= 0) this.unackedByTenant.delete(tenantId);
    else this.unackedByTenant.set(tenantId, n);
    if (delta < 0) {
      const blocked = this.blockedByTenant.get(tenantId);
      if (blocked !== undefined) {
        this.blockedByTenant.delete(tenantId);
        for (const s of blocked) this.markReady(s);
      }
    }
  }

  unacked(tenantId: string): number {
    return this.unackedByTenant.get(tenantId) ?? 0;
  }

  private startTimer(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.sweep(), this.config.sweepIntervalMs);
    this.timer.unref();
  }

  sweep(now = this.clock()): void {
    for (const session of this.sessions.values()) {
      if (session.retained === 0) continue;
      const expired = session.sweep(now);
      if (expired > 0) this.onExpired?.(session.agentId, expired);
    }
  }

  /** Wakes every long poll (used when the server stops accepting). */
  wakeLongPolls(): void {
    for (const wake of [...this.longPolls]) wake();
  }

  /**
   * Closes every session (the server is stopping); returns the messages they still held, by agent.
   * Nothing is settled: with a delivery ledger they are delivered again after the next start.
   */
  closeAll(): Array<{ agentId: string; tenantId: string; messages: AgentMessage[] }> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    const out: Array<{ agentId: string; tenantId: string; messages: AgentMessage[] }> = [];
    for (const session of this.sessions.values()) {
      const messages = session.close(false);
      if (messages.length > 0) out.push({ agentId: session.agentId, tenantId: session.tenantId, messages });
    }
    this.sessions.clear();
    return out;
  }

  stats(): SessionStats {
    let attached = 0;
    let leased = 0;
    for (const s of this.sessions.values()) {
      if (s.sink !== undefined) attached++;
      leased += s.leasedCount;
    }
    return { sessions: this.sessions.size, attached, retained: this.retainedTotal, leased, ...this.counters };
  }
}

export function toDelivery(entry: Retained): Delivery {
  return { deliveryId: entry.id, attempt: entry.attempts, message: entry.message };
}
