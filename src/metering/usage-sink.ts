import type { MeteringEvent, MeteringSink } from './types.js';

export interface UsageBucket {
  tenantId: string;
  /** Start of the hour, ISO-8601. */
  hour: string;
  messages: number;
  delivered: number;
  held: number;
  rejected: number;
  recipients: number;
  bytes: number;
}

/**
 * The default sink: aggregates events per tenant per hour (the original's "tenant:YYYY-MM-DD-HH"
 * buckets), keeping the most recent `maxBuckets` buckets.
 */
export class UsageAggregator implements MeteringSink {
  private readonly buckets = new Map<string, UsageBucket>();

  constructor(private readonly maxBuckets = 10_000) {}

  write(batch: readonly MeteringEvent[]): void {
    for (const event of batch) {
      const hour = new Date(Math.floor(event.at / 3_600_000) * 3_600_000).toISOString();
      const key = `${event.tenantId}:${hour}`;
      let bucket = this.buckets.get(key);
      if (bucket === undefined) {
        if (this.buckets.size >= this.maxBuckets) this.buckets.delete(this.buckets.keys().next().value!);
        bucket = { tenantId: event.tenantId, hour, messages: 0, delivered: 0, held: 0, rejected: 0, recipients: 0, bytes: 0 };
        this.buckets.set(key, bucket);
      }
      bucket.messages++;
      if (event.outcome === 'delivered') bucket.delivered++;
      else if (event.outcome === 'held') bucket.held++;
      else bucket.rejected++;
      bucket.recipients += event.recipients;
      bucket.bytes += event.bytes;
    }
  }

  usage(tenantId?: string): UsageBucket[] {
    const out: UsageBucket[] = [];
    for (const bucket of this.buckets.values()) if (tenantId === undefined || bucket.tenantId === tenantId) out.push({ ...bucket });
    return out;
  }
}
