/**
 * Shared benchmark harness. Each bench/*.bench.ts runs in its own process (bench/run.ts) and
 * prints exactly one JSON line: { bench, results: BenchResult[], machine }. Every figure is the
 * median of several rounds, and every workload measures its baseline in the same process so
 * the ratio survives a noisy, shared machine.
 */
import os from 'node:os';
import hdr from 'hdr-histogram-js';

export interface BenchResult {
  /** Workload id and what is measured, e.g. "W1 send latency p99". */
  name: string;
  value: number;
  unit: string;
  /** The same measurement for the baseline, taken in the same process. */
  baseline?: { name: string; value: number };
  /** value / baseline.value (or as stated in `note`). */
  ratio?: number;
  /** The target from the issue, e.g. ">= 500000" — informative only. */
  target?: string;
  note?: string;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/**
 * Median ns per call of a synchronous function: warm-up, then `rounds` rounds, each sized to
 * take about `roundMs`.
 */
export function nsPerOp(fn: () => unknown, opts: { rounds?: number; roundMs?: number; warmupMs?: number } = {}): number {
  const rounds = opts.rounds ?? 9;
  const roundMs = opts.roundMs ?? 100;
  let iterations = 1;
  const warmEnd = Date.now() + (opts.warmupMs ?? 200);
  while (Date.now() < warmEnd) {
    const t0 = nowNs();
    for (let i = 0; i < iterations; i++) fn();
    const elapsed = nowNs() - t0;
    if (elapsed < roundMs * 1e6 / 4) iterations *= 2;
  }
  const t0 = nowNs();
  for (let i = 0; i < iterations; i++) fn();
  const perOp = Math.max(1, (nowNs() - t0) / iterations);
  iterations = Math.max(1, Math.round((roundMs * 1e6) / perOp));
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = nowNs();
    for (let i = 0; i < iterations; i++) fn();
    samples.push((nowNs() - start) / iterations);
  }
  return median(samples);
}

/** Median ns per call of an async function, run sequentially (each call awaited). */
export async function nsPerAsyncOp(fn: () => Promise<unknown>, opts: { rounds?: number; iterations?: number } = {}): Promise<number> {
  const rounds = opts.rounds ?? 7;
  const iterations = opts.iterations ?? 20_000;
  for (let i = 0; i < iterations; i++) await fn();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = nowNs();
    for (let i = 0; i < iterations; i++) await fn();
    samples.push((nowNs() - start) / iterations);
  }
  return median(samples);
}

export interface LatencySummary {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  count: number;
}

/** Records latencies in nanoseconds and summarises them in microseconds. */
export class LatencyRecorder {
  private readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000_000, numberOfSignificantValueDigits: 3 });

  record(ns: number): void {
    this.histogram.recordValue(Math.max(1, Math.round(ns)));
  }

  summaryMicros(): LatencySummary {
    const h = this.histogram;
    return {
      p50: h.getValueAtPercentile(50) / 1000,
      p99: h.getValueAtPercentile(99) / 1000,
      p999: h.getValueAtPercentile(99.9) / 1000,
      max: h.maxValue / 1000,
      count: h.totalCount,
    };
  }

  reset(): void {
    this.histogram.reset();
  }
}

/**
 * Runs `count` async operations with at most `inFlight` outstanding; returns operations per second.
 * With `yieldEvery` (any value > 0), operations run in waves of `inFlight` with an event-loop turn
 * between waves, as under traffic that arrives through I/O; without it, operations that resolve
 * as microtasks never let timers or I/O callbacks (journal writes, metering flushes) run.
 */
export async function throughput(count: number, inFlight: number, op: (i: number) => Promise<unknown>, yieldEvery = 0): Promise<number> {
  if (yieldEvery > 0) return throughputInWaves(count, inFlight, op);
  let next = 0;
  const start = nowNs();
  async function lane(): Promise<void> {
    while (next < count) {
      const i = next++;
      await op(i);
    }
  }
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < inFlight; i++) lanes.push(lane());
  await Promise.all(lanes);
  return count / ((nowNs() - start) / 1e9);
}

/**
 * Like traffic that arrives through I/O: waves of `wave` operations started together, and the
 * event loop gets a turn (timers, I/O completions) between waves.
 */
async function throughputInWaves(count: number, wave: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = nowNs();
  const pending: Promise<unknown>[] = new Array(wave);
  for (let i = 0; i < count; i += wave) {
    const n = Math.min(wave, count - i);
    for (let j = 0; j < n; j++) pending[j] = op(i + j);
    await Promise.all(n === wave ? pending : pending.slice(0, n));
    await new Promise((resolve) => setImmediate(resolve));
  }
  return count / ((nowNs() - start) / 1e9);
}

export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    totalMemGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
}

/** Prints the one JSON line bench/run.ts collects. */
export function emit(bench: string, results: BenchResult[]): void {
  process.stdout.write(JSON.stringify({ bench, results, machine: machine() }) + '\n');
}

export function ratio(value: number, baseline: number): number {
  return Math.round((value / baseline) * 1000) / 1000;
}
