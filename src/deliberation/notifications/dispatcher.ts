import type { Notification, NotificationChannel } from './types.js';

export interface DispatcherOptions {
  /** Jobs waiting (one job = one notification for one channel). Beyond it new jobs are dropped and counted. */
  readonly maxQueue?: number;
  readonly maxAttempts?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly concurrency?: number;
}

interface Job {
  readonly channel: NotificationChannel;
  readonly notification: Notification;
  attempt: number;
}

/**
 * Sends notifications off the caller's path: `enqueue` only queues. Failed sends are retried with
 * exponential backoff (base × 2^attempt, capped, with jitter) up to `maxAttempts`, then counted
 * as failed.
 */
export class NotificationDispatcher {
  private readonly queue: Job[] = [];
  private readonly retryTimers = new Set<ReturnType<typeof setTimeout>>();
  private readonly abort = new AbortController();
  private active = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private readonly opts: Required<DispatcherOptions>;
  readonly counters = { sent: 0, failed: 0, retries: 0, dropped: 0, abandoned: 0 };
  readonly failuresByChannel = new Map<string, number>();

  constructor(
    private readonly channels: readonly NotificationChannel[],
    options: DispatcherOptions = {},
  ) {
    this.opts = {
      maxQueue: options.maxQueue ?? 1000,
      maxAttempts: options.maxAttempts ?? 5,
      baseDelayMs: options.baseDelayMs ?? 500,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      concurrency: options.concurrency ?? 2,
    };
  }

  get queued(): number {
    return this.queue.length;
  }

  enqueue(notification: Notification): void {
    if (this.closed) return;
    for (const channel of this.channels) {
      if (this.queue.length >= this.opts.maxQueue) {
        this.counters.dropped++;
        continue;
      }
      this.queue.push({ channel, notification, attempt: 0 });
    }
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.active < this.opts.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.active++;
      void this.run(job);
    }
    if (this.active === 0 && this.queue.length === 0 && this.retryTimers.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private async run(job: Job): Promise<void> {
    try {
      await job.channel.send(job.notification, this.abort.signal);
      this.counters.sent++;
    } catch {
      job.attempt++;
      if (job.attempt >= this.opts.maxAttempts || this.closed) {
        this.counters.failed++;
        this.failuresByChannel.set(job.channel.name, (this.failuresByChannel.get(job.channel.name) ?? 0) + 1);
      } else {
        this.counters.retries++;
        const exp = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (job.attempt - 1));
        const delay = exp / 2 + Math.random() * (exp / 2);
        const timer = setTimeout(() => {
          this.retryTimers.delete(timer);
          if (this.closed) return;
          this.queue.unshift(job);
          this.pump();
        }, delay);
        timer.unref();
        this.retryTimers.add(timer);
      }
    } finally {
      this.active--;
      this.pump();
    }
  }

  /** Resolves when nothing is queued, in flight or waiting for a retry (tests, graceful stop). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0 && this.retryTimers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Waits up to `graceMs` for in-flight work, then abandons the rest (counted). */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    const grace = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, graceMs);
      void this.idle().then(() => {
        clearTimeout(t);
        resolve();
      });
    });
    await grace;
    this.closed = true;
    for (const t of this.retryTimers) clearTimeout(t);
    this.counters.abandoned += this.retryTimers.size + this.queue.length;
    this.retryTimers.clear();
    this.queue.length = 0;
    this.abort.abort();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
