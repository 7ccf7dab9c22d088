import { RejectionCode } from '../errors.js';
import type { QuotaConfig } from './config.js';
import { failure, type HttpFailure } from './errors.js';

/** One token bucket: refilled continuously at `rate` per second up to `burst`. */
export class TokenBucket {
  tokens: number;
  updatedAt: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  /** Takes `n` tokens; returns 0 when granted, otherwise the milliseconds until they would be. */
  take(now: number, n = 1): number {
    const elapsed = now - this.updatedAt;
    if (elapsed > 0) {
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
      this.updatedAt = now;
    }
    if (this.tokens >= n) {
      this.tokens -= n;
      return 0;
    }
    return Math.ceil(((n - this.tokens) * 1000) / this.rate);
  }
}

/**
 * Token buckets by key (one object per key), in a bounded map. Beyond `maxBuckets` the oldest
 * bucket is dropped (Map insertion order) and counted; a dropped key starts again with a full
 * bucket, so the limit should be well above the number of active tenants and agents.
 */
export class BucketMap {
  private readonly buckets = new Map<string, TokenBucket>();
  evicted = 0;
  refused = 0;

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly maxBuckets: number,
  ) {}

  get enabled(): boolean {
    return this.rate > 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  take(key: string, now: number, n = 1): number {
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxBuckets) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
        this.evicted++;
      }
      bucket = new TokenBucket(this.rate, this.burst, now);
      this.buckets.set(key, bucket);
    }
    const wait = bucket.take(now, n);
    if (wait > 0) this.refused++;
    return wait;
  }

  forget(key: string): void {
    this.buckets.delete(key);
  }
}

/** Counts of work in progress by key, with a cap; entries vanish at zero. */
export class InFlight {
  private readonly counts = new Map<string, number>();
  refused = 0;

  constructor(readonly limit: number) {}

  tryAcquire(key: string): boolean {
    if (this.limit === 0) return true;
    const n = this.counts.get(key) ?? 0;
    if (n >= this.limit) {
      this.refused++;
      return false;
    }
    this.counts.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    if (this.limit === 0) return;
    const n = (this.counts.get(key) ?? 1) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }

  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }

  get keys(): number {
    return this.counts.size;
  }
}

export interface QuotaStats {
  tenantBuckets: number;
  agentBuckets: number;
  bucketsEvicted: number;
  rateLimited: number;
  inFlightRefused: number;
}

/** Per-tenant and per-agent rate limits and in-flight caps. Refusals are RATE_LIMITED values. */
export class Quotas {
  private readonly tenantBuckets: BucketMap;
  private readonly agentBuckets: BucketMap;
  readonly tenantInFlight: InFlight;
  readonly agentInFlight: InFlight;

  constructor(
    config: QuotaConfig,
    private readonly clock: () => number = Date.now,
  ) {
    this.tenantBuckets = new BucketMap(config.tenant.ratePerSec, config.tenant.burst, config.maxBuckets);
    this.agentBuckets = new BucketMap(config.agent.ratePerSec, config.agent.burst, config.maxBuckets);
    this.tenantInFlight = new InFlight(config.maxInFlightPerTenant);
    this.agentInFlight = new InFlight(config.maxInFlightPerAgent);
  }

  /** Charges `n` messages to the tenant and the agent; a refusal carries Retry-After. */
  charge(tenantId: string, agentId: string, n = 1): HttpFailure | undefined {
    const now = this.clock();
    if (this.tenantBuckets.enabled) {
      const wait = this.tenantBuckets.take(tenantId, now, n);
      if (wait > 0) return limited(`tenant ${tenantId} exceeded its rate limit`, wait);
    }
    if (this.agentBuckets.enabled) {
      const wait = this.agentBuckets.take(`${tenantId}\u0000${agentId}`, now, n);
      if (wait > 0) return limited(`agent ${agentId} exceeded its rate limit`, wait);
    }
    return undefined;
  }

  /** Takes an in-flight slot for the tenant and the agent; call release() when done. */
  enter(tenantId: string, agentId: string): HttpFailure | undefined {
    if (!this.tenantInFlight.tryAcquire(tenantId)) return limited(`tenant ${tenantId} has too many requests in progress`, 1000);
    if (!this.agentInFlight.tryAcquire(agentId)) {
      this.tenantInFlight.release(tenantId);
      return limited(`agent ${agentId} has too many requests in progress`, 1000);
    }
    return undefined;
  }

  leave(tenantId: string, agentId: string): void {
    this.tenantInFlight.release(tenantId);
    this.agentInFlight.release(agentId);
  }

  forgetAgent(tenantId: string, agentId: string): void {
    this.agentBuckets.forget(`${tenantId}\u0000${agentId}`);
  }

  stats(): QuotaStats {
    return {
      tenantBuckets: this.tenantBuckets.size,
      agentBuckets: this.agentBuckets.size,
      bucketsEvicted: this.tenantBuckets.evicted + this.agentBuckets.evicted,
      rateLimited: this.tenantBuckets.refused + this.agentBuckets.refused,
      inFlightRefused: this.tenantInFlight.refused + this.agentInFlight.refused,
    };
  }
}

function limited(message: string, waitMs: number): HttpFailure {
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  return failure(RejectionCode.RATE_LIMITED, message, { retryAfterMs: waitMs }, retryAfter);
}
