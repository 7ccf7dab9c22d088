/**
 * The full pipeline (issues #3 and #4): W6 policy + journal and W7 impact + policy + journal on the
 * W3 workload, beside the core bus and an EventEmitter in the same process. In a process of its
 * own: after W4's million-agent registry the heap's size made these figures depend on when the
 * last major collection ran.
 *   node --expose-gc --import tsx bench/pipeline.bench.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentBusOptions, MessageInput } from '../src/index.js';
import { baselineEmitter, input, newBus } from './bus-fixtures.js';
import { emit, median, ratio, throughput, type BenchResult } from './lib.js';

const results: BenchResult[] = [];
const quick = process.env.BENCH_QUICK === '1';
const N = quick ? 50_000 : 300_000;
/** Messages sent through a full-pipeline bus before its throughput is measured. */
const WARMUP = quick ? 20_000 : 100_000;

/**
 * The full pipeline on the W3 workload (1,000 rotating senders): policy (default constitution,
 * Cedar, decision cache) + journal (file, 'interval' fsync), then also impact scoring (fastText).
 * Baselines in the same process: the core bus (issue #2 stages only) and the EventEmitter.
 */
async function fullPipeline(): Promise<void> {
  const variants: Array<{ name: string; target?: string; distinct: boolean; options: (dir: string) => AgentBusOptions }> = [
    { name: 'W6 full pipeline: policy + journal, 1,000 rotating senders', target: '>= 250000', distinct: false, options: (dir) => ({ impact: false, journal: { dir }, deliberation: false }) },
    { name: 'W7 fast lane: impact + policy + journal, 1,000 rotating senders', target: '>= 200000', distinct: false, options: (dir) => ({ journal: { dir } }) },
    {
      // Not the W3 workload of the target (whose senders repeat their text): the cost of a fastText prediction on every message.
      name: 'W7b fast lane, every message text distinct (impact text cache misses)',
      distinct: true,
      options: (dir) => ({ journal: { dir } }),
    },
  ];
  for (const variant of variants) {
    const rates: number[] = [], core: number[] = [], base: number[] = [];
    for (let r = 0; r < 3; r++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'eab-bench-'));
      const full = await newBus(variant.options(dir));
      const plain = await newBus();
      const inputs: MessageInput[] = [];
      for (const bus of [full, plain]) {
        await bus.registerAgent({ agentId: 'worker', tenantId: 'acme', agentType: 'worker' });
        bus.subscribe('worker', () => undefined);
        for (let i = 0; i < 1000; i++) await bus.registerAgent({ agentId: `sender-${i}`, tenantId: 'acme', agentType: `type-${i % 5}` });
      }
      const n = N;
      const count = variant.distinct ? n + 20_000 : 1000;
      for (let i = 0; i < count; i++) {
        const m = input(`sender-${i % 1000}`, 'worker');
        if (variant.distinct) m.content = { action: 'summarise', document: `weekly report ${i} for the ${i % 7 === 0 ? 'platform' : 'data'} team`, detail: 'short' };
        inputs.push(m);
      }
      const emitter = baselineEmitter();
      const pick = variant.distinct ? (i: number) => inputs[i]! : (i: number) => inputs[i % 1000]!;
      // The event loop turns between waves, as under I/O-driven traffic, so the journal can write.
      // Warm-up: every stage's closures are this bus's own and reach optimised code only after tens
      // of thousands of messages (a shorter warm-up measured 15-20 % less, as JIT tiering).
      await throughput(WARMUP, 1000, (i) => full.send(pick(n + (i % 20_000))), 100);
      rates.push(await throughput(n, 1000, (i) => full.send(pick(i)), 100));
      core.push(await throughput(n, 1000, (i) => plain.send(pick(i)), 100));
      base.push(await throughput(n, 1000, (i) => emitter.send(pick(i)), 100));
      const refused = full.metrics().rejected;
      if (refused > 0) throw new Error(`${variant.name}: ${refused} messages were refused (${JSON.stringify(full.metrics().byCode)})`);
      const held = full.metrics().held;
      if (held > 0) throw new Error(`${variant.name}: ${held} ordinary messages were held`);
      await full.stop();
      await plain.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    results.push({ name: variant.name, value: Math.round(median(rates)), unit: 'msgs/s', baseline: { name: 'core bus (issue #2 stages)', value: Math.round(median(core)) }, ratio: ratio(median(rates), median(core)), target: variant.target, note: `EventEmitter in the same run: ${Math.round(median(base))} msgs/s` });
  }
}

await fullPipeline();
emit('pipeline', results);
