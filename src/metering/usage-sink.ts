import type { MeteringEvent, MeteringSink } from './types.js';

interface Bucket {
  messages: number;
  delivered: number;
  held: number;
  rejected: number;
  recipients: number;
  bytes: number;
}

export interface UsageBucket extends Bucket {
  tenantId: string;
  /** Start of the hour, ISO-8601. */
  hour: string;
}

const HOUR_MS = 3_600_000;

/**
 * The default metering: usage per tenant per hour (the original's "tenant:YYYY-MM-DD-HH"
 * buckets), keeping the most recent `maxBuckets` buckets (oldest dropped first, counted). The bus
 * records into it directly — aggregating in memory needs no queue and no event object per
 * message. It is also a MeteringSink, so it can sit behind the queue like any other sink.
 */
export class UsageAggregator implements MeteringSink {
  private readonly tenants = new Map<string, Map<number, Bucket>>();
  private bucketCount = 0;
  private recorded = 0;
  droppedBuckets = 0;

  constructor(private readonly maxBuckets = 10_000) {}

  write(batch: readonly MeteringEvent[]): void {
    for (const event of batch) this.record(event.tenantId, event.outcome, event.recipients, event.bytes, event.at);
  }

  /** Adds one message to its tenant's hourly bucket: two map lookups, no allocation in the common case. */
  record(tenantId: string, outcome: string, recipients: number, bytes: number, at: number): void {
    let hours = this.tenants.get(tenantId);
    if (hours === undefined) {
      hours = new Map();
      this.tenants.set(tenantId, hours);
    }
    const hour = Math.floor(at / HOUR_MS);
    let bucket = hours.get(hour);
    if (bucket === undefined) {
      if (this.bucketCount >= this.maxBuckets) this.dropOldest();
      bucket = { messages: 0, delivered: 0, held: 0, rejected: 0, recipients: 0, bytes: 0 };
      hours.set(hour, bucket);
      this.bucketCount++;
    }
    this.recorded++;
    bucket.messages++;
    if (outcome === 'delivered') bucket.delivered++;
    else if (outcome === 'held') bucket.held++;
    else bucket.rejected++;
    bucket.recipients += recipients;
    bucket.bytes += bytes;
  }

  stats(): { recorded: number; buckets: number; droppedBuckets: number } {
    return { recorded: this.recorded, buckets: this.bucketCount, droppedBuckets: this.droppedBuckets };
  }

  usage(tenantId?: string): UsageBucket[] {
    const out: UsageBucket[] = [];
    for (const [tenant, hours] of this.tenants) {
      if (tenantId !== undefined && tenant !== tenantId) continue;
      for (const [hour, b] of hours) out.push({ tenantId: tenant, hour: new Date(hour * HOUR_MS).toISOString(), ...b });
    }
    return out.sort((a, b) => (a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : a.tenantId.localeCompare(b.tenantId)));
  }

  private dropOldest(): void {
    let oldest = Infinity;
    let owner: Map<number, Bucket> | undefined;
    let ownerId = '';
    for (const [tenant, hours] of this.tenants) {
      for (const hour of hours.keys()) {
        if (hour < oldest) {
          oldest = hour;
          owner = hours;
          ownerId = tenant;
        }
      }
    }
    if (owner === undefined) return;
    owner.delete(oldest);
    if (owner.size === 0) this.tenants.delete(ownerId);
    this.bucketCount--;
    this.droppedBuckets++;
  }
}
