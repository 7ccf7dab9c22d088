import { REJECTION_CODES, type RejectionCode } from '../errors.js';
import { LatencyHistogram, type LatencyPercentiles } from './latency.js';

export interface TenantCounters {
  sent: number;
  delivered: number;
  held: number;
  rejected: number;
}

export interface BusMetrics {
  startedAt: number | undefined;
  running: boolean;
  constitutionalHash: string;
  /** Messages offered to send/broadcast/request. */
  sent: number;
  delivered: number;
  held: number;
  rejected: number;
  /** Deliveries to individual recipients (a broadcast counts once per recipient). */
  recipientDeliveries: number;
  /** Handler failures and timeouts after a message was accepted. */
  deliveryFailures: number;
  byCode: Partial<Record<RejectionCode, number>>;
  /** Per-stage latency in µs, from sampled messages. */
  stages: Record<string, LatencyPercentiles>;
  /** Whole send path (governance + routing + hand-over) in µs, from sampled messages. */
  sendLatency: LatencyPercentiles;
  tenants: Record<string, TenantCounters>;
  /** Tenants beyond the tracked limit are summed here. */
  otherTenants: TenantCounters;
  agents: number;
  registry: Record<string, number>;
  delivery: Record<string, number>;
  metering: Record<string, number> | undefined;
  duplicateWindow: { size: number; evictedEarly: number };
}

const CODE_INDEX = new Map<RejectionCode, number>(REJECTION_CODES.map((c, i) => [c, i]));

/** Plain counters on the hot path; everything is copied out only when metrics() is read. */
export class MetricsCollector {
  sent = 0;
  delivered = 0;
  held = 0;
  rejected = 0;
  recipientDeliveries = 0;
  deliveryFailures = 0;
  readonly byCode = new Float64Array(REJECTION_CODES.length);
  readonly sendLatency = new LatencyHistogram();
  private readonly tenants = new Map<string, TenantCounters>();
  private readonly other: TenantCounters = { sent: 0, delivered: 0, held: 0, rejected: 0 };

  constructor(private readonly maxTenants = 10_000) {}

  tenant(tenantId: string): TenantCounters {
    let counters = this.tenants.get(tenantId);
    if (counters === undefined) {
      if (this.tenants.size >= this.maxTenants) return this.other;
      counters = { sent: 0, delivered: 0, held: 0, rejected: 0 };
      this.tenants.set(tenantId, counters);
    }
    return counters;
  }

  countRejection(code: RejectionCode, tenantId: string | undefined): void {
    this.rejected++;
    this.byCode[CODE_INDEX.get(code)!]!++;
    if (tenantId !== undefined) this.tenant(tenantId).rejected++;
  }

  countFailure(code: RejectionCode): void {
    this.deliveryFailures++;
    this.byCode[CODE_INDEX.get(code)!]!++;
  }

  codes(): Partial<Record<RejectionCode, number>> {
    const out: Partial<Record<RejectionCode, number>> = {};
    REJECTION_CODES.forEach((code, i) => {
      if (this.byCode[i]! > 0) out[code] = this.byCode[i]!;
    });
    return out;
  }

  tenantSnapshot(): Record<string, TenantCounters> {
    const out: Record<string, TenantCounters> = {};
    for (const [tenantId, counters] of this.tenants) out[tenantId] = { ...counters };
    return out;
  }

  otherSnapshot(): TenantCounters {
    return { ...this.other };
  }
}
