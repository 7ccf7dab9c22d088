import { BusError, ErrorCode } from '../errors.js';
import { Ring } from '../delivery/ring.js';
import type { MeteringEvent, MeteringSink } from './types.js';

export interface MeteringOptions {
  readonly sink: MeteringSink;
  /** Events held before new ones are dropped (counted). Default 10,000. */
  readonly maxQueueSize?: number;
  /** Events per sink write. Default 100. */
  readonly batchSize?: number;
  /** How often the queue is flushed. Default 1,000 ms. */
  readonly flushIntervalMs?: number;
}

export interface MeteringStats {
  queued: number;
  flushed: number;
  dropped: number;
  sinkErrors: number;
  pending: number;
}

/** Throws INVALID_OPTIONS for a queue size, batch size or interval that is not a positive integer. */
export function checkMeteringOptions(options: Partial<Omit<MeteringOptions, 'sink'>>): void {
  for (const name of ['maxQueueSize', 'batchSize', 'flushIntervalMs'] as const) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new BusError(ErrorCode.INVALID_OPTIONS, `metering.${name} must be a positive integer`);
  }
}

/**
 * Fire-and-forget metering: `enqueue` is O(1), never blocks and never throws; a full queue drops
 * the new event and counts it. Batches are flushed to the sink as soon as one is full (on the next
 * turn of the event loop) and on a timer for stragglers; `stop()` flushes everything that is
 * queued (not only one batch) before it resolves.
 */
export class MeteringQueue {
  private readonly ring = new Ring<MeteringEvent>(64);
  private readonly sink: MeteringSink;
  private readonly maxQueueSize: number;
  private readonly batchSize: number;
  private readonly flushIntervalMs: number;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private readonly scheduledFlush = () => {
    this.scheduled = false;
    void this.flush();
  };
  private readonly counters: MeteringStats = { queued: 0, flushed: 0, dropped: 0, sinkErrors: 0, pending: 0 };

  constructor(options: MeteringOptions) {
    if (typeof options?.sink?.write !== 'function') throw new BusError(ErrorCode.INVALID_OPTIONS, 'metering.sink must have a write(batch) method');
    checkMeteringOptions(options);
    this.sink = options.sink;
    this.maxQueueSize = options.maxQueueSize ?? 10_000;
    this.batchSize = options.batchSize ?? 100;
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    this.timer.unref();
  }

  enqueue(event: MeteringEvent): boolean {
    if (this.ring.length >= this.maxQueueSize) {
      this.counters.dropped++;
      return false;
    }
    this.ring.push(event);
    this.counters.queued++;
    // Flushing as soon as a batch is ready keeps events short-lived (young-generation garbage).
    if (this.ring.length >= this.batchSize && !this.scheduled && this.timer !== undefined) {
      this.scheduled = true;
      setImmediate(this.scheduledFlush);
    }
    return true;
  }

  /** Writes everything queued now, batch by batch. Concurrent calls share one flush. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
    while (this.ring.length > 0) await this.flush();
    await this.sink.close?.();
  }

  stats(): MeteringStats {
    return { ...this.counters, pending: this.ring.length };
  }

  private async drain(): Promise<void> {
    while (this.ring.length > 0) {
      const batch: MeteringEvent[] = [];
      let event: MeteringEvent | undefined;
      while (batch.length < this.batchSize && (event = this.ring.shift()) !== undefined) batch.push(event);
      try {
        await this.sink.write(batch);
        this.counters.flushed += batch.length;
      } catch {
        this.counters.sinkErrors++;
        this.counters.dropped += batch.length;
      }
    }
  }
}
