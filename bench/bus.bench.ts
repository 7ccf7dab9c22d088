/**
 * Core bus workloads W1–W5 (issue #2), each beside a bare baseline measured in this process:
 * an EventEmitter delivering the same messages with no governance. W6/W7 (the full pipeline) are
 * in bench/pipeline.bench.ts.
 *   node --expose-gc --import tsx bench/bus.bench.ts
 */
import { EventEmitter } from 'node:events';
import { CONSTITUTIONAL_HASH, InMemoryAgentRegistry, type MessageInput } from '../src/index.js';
import { baselineEmitter, input, newBus } from './bus-fixtures.js';
import { emit, LatencyRecorder, median, nsPerOp, ratio, throughput, type BenchResult } from './lib.js';

const results: BenchResult[] = [];
const quick = process.env.BENCH_QUICK === '1';
const N = quick ? 50_000 : 300_000;

async function w1(): Promise<void> {
  const rounds = 3;
  const busP99: number[] = [], busP50: number[] = [], busP999: number[] = [];
  const baseP99: number[] = [], baseP50: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const bus = await newBus();
    await bus.registerAgent({ agentId: 'planner', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'worker', tenantId: 'acme' });
    bus.subscribe('worker', () => undefined);
    const msg = input('planner', 'worker');
    const base = baselineEmitter();
    const busLat = new LatencyRecorder();
    const baseLat = new LatencyRecorder();
    const n = N / 3;
    for (let i = 0; i < 20_000; i++) {
      await bus.send(msg);
      await base.send(msg);
    }
    for (let i = 0; i < n; i++) {
      let t = process.hrtime.bigint();
      await bus.send(msg);
      busLat.record(Number(process.hrtime.bigint() - t));
      t = process.hrtime.bigint();
      await base.send(msg);
      baseLat.record(Number(process.hrtime.bigint() - t));
    }
    const b = busLat.summaryMicros(), e = baseLat.summaryMicros();
    busP50.push(b.p50); busP99.push(b.p99); busP999.push(b.p999);
    baseP50.push(e.p50); baseP99.push(e.p99);
    await bus.stop();
  }
  results.push({ name: 'W1 sequential send latency p50', value: median(busP50), unit: 'µs', baseline: { name: 'EventEmitter p50', value: median(baseP50) }, ratio: ratio(median(busP50), median(baseP50)) });
  results.push({ name: 'W1 sequential send latency p99', value: median(busP99), unit: 'µs', baseline: { name: 'EventEmitter p99', value: median(baseP99) }, ratio: ratio(median(busP99), median(baseP99)), target: '<= 15 µs' });
  results.push({ name: 'W1 sequential send latency p99.9', value: median(busP999), unit: 'µs' });
}

async function w2(): Promise<void> {
  const busRates: number[] = [], baseRates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const bus = await newBus();
    await bus.registerAgent({ agentId: 'planner', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'worker', tenantId: 'acme' });
    bus.subscribe('worker', () => undefined);
    const msg = input('planner', 'worker');
    const base = baselineEmitter();
    await throughput(20_000, 1000, () => bus.send(msg));
    busRates.push(await throughput(N, 1000, () => bus.send(msg)));
    baseRates.push(await throughput(N, 1000, () => base.send(msg)));
    await bus.stop();
  }
  const bus = median(busRates), base = median(baseRates);
  results.push({ name: 'W2 throughput, 1,000 sends in flight', value: Math.round(bus), unit: 'msgs/s', baseline: { name: 'EventEmitter', value: Math.round(base) }, ratio: ratio(bus, base), target: '>= 500000' });
  const costNs = 1e9 / bus - 1e9 / base;
  results.push({ name: 'Governance cost per message over the baseline (W2)', value: Math.round(costNs) / 1000, unit: 'µs', target: '<= 2 µs', note: '1/throughput(bus) - 1/throughput(EventEmitter)' });
}

async function w3(): Promise<void> {
  const busRates: number[] = [], baseRates: number[] = [];
  for (let r = 0; r < 5; r++) {
    const bus = await newBus();
    const inputs: MessageInput[] = [];
    await bus.registerAgent({ agentId: 'worker', tenantId: 'acme' });
    bus.subscribe('worker', () => undefined);
    for (let i = 0; i < 1000; i++) {
      await bus.registerAgent({ agentId: `sender-${i}`, tenantId: 'acme', agentType: `type-${i % 5}` });
      inputs.push(input(`sender-${i}`, 'worker'));
    }
    const base = baselineEmitter();
    await throughput(20_000, 1000, (i) => bus.send(inputs[i % 1000]!));
    busRates.push(await throughput(N, 1000, (i) => bus.send(inputs[i % 1000]!)));
    baseRates.push(await throughput(N, 1000, (i) => base.send(inputs[i % 1000]!)));
    await bus.stop();
  }
  const bus = median(busRates), base = median(baseRates);
  results.push({ name: 'W3 throughput, 1,000 rotating senders', value: Math.round(bus), unit: 'msgs/s', baseline: { name: 'EventEmitter', value: Math.round(base) }, ratio: ratio(bus, base) });
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

function w4(size: number): void {
  const ids: string[] = [];
  for (let i = 0; i < size; i++) ids.push(`agent-${i.toString(36).padStart(6, '0')}`);
  const caps = ['search', 'summarise', 'translate', 'plan', 'review', 'compute', 'store', 'notify'];
  const before = heapUsed();
  const registry = new InMemoryAgentRegistry();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < size; i++) {
    registry.registerSync({ agentId: ids[i]!, tenantId: `tenant-${i % 100}`, agentType: `type-${i % 10}`, capabilities: [caps[i % 8]!, caps[(i + 3) % 8]!] });
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const bytes = (heapUsed() - before) / size;
  // Baseline: the same records in a plain Map, no indexes.
  const before2 = heapUsed();
  const plain = new Map<string, object>();
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < size; i++) {
    plain.set(ids[i]!, { agentId: ids[i]!, tenantId: `tenant-${i % 100}`, agentType: `type-${i % 10}`, capabilities: [caps[i % 8]!, caps[(i + 3) % 8]!], metadata: {}, registeredAt: Date.now(), lastSeen: Date.now() });
  }
  const plainSeconds = Number(process.hrtime.bigint() - t1) / 1e9;
  const plainBytes = (heapUsed() - before2) / size;
  let k = 0;
  const routeNs = nsPerOp(() => registry.pickByCapabilities(`tenant-${k++ % 100}`, ['plan'], undefined), { rounds: 7, roundMs: 80 });
  let j = 0;
  const lookupNs = nsPerOp(() => plain.get(ids[j++ % size]!), { rounds: 7, roundMs: 80 });
  const label = size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1000}k`;
  results.push({ name: `W4 registry ${label}: registration rate`, value: Math.round(size / seconds), unit: 'agents/s', baseline: { name: 'plain Map.set of the same records', value: Math.round(size / plainSeconds) }, ratio: ratio(size / seconds, size / plainSeconds) });
  results.push({ name: `W4 registry ${label}: heap per agent`, value: Math.round(bytes), unit: 'bytes', baseline: { name: 'plain Map of the same records', value: Math.round(plainBytes) }, ratio: ratio(bytes, plainBytes), target: size === 100_000 ? '<= 400 bytes beyond metadata' : undefined, note: 'agent id strings (16 chars) included; empty metadata' });
  results.push({ name: `W4 registry ${label}: capability route`, value: Math.round(routeNs) / 1000, unit: 'µs', baseline: { name: 'plain Map.get', value: Math.round(lookupNs) / 1000 }, ratio: ratio(routeNs, lookupNs), target: size === 100_000 ? '<= 2 µs' : undefined });
  plain.clear();
}

async function w5(): Promise<void> {
  const busMs: number[] = [], baseMs: number[] = [];
  const bus = await newBus();
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  await bus.registerAgent({ agentId: 'announcer', tenantId: 'acme' });
  let received = 0;
  for (let i = 0; i < 10_000; i++) {
    const id = `listener-${i}`;
    await bus.registerAgent({ agentId: id, tenantId: 'acme' });
    bus.subscribe(id, () => {
      received++;
    });
    emitter.on('all', () => {
      received++;
    });
  }
  // Another tenant's agents must not slow the broadcast or receive it.
  for (let i = 0; i < 1000; i++) await bus.registerAgent({ agentId: `other-${i}`, tenantId: 'globex' });
  const msg: MessageInput = { fromAgent: 'announcer', tenantId: 'acme', constitutionalHash: CONSTITUTIONAL_HASH, messageType: 'event', content: { event: 'config-reloaded' } };
  for (let r = 0; r < 25; r++) {
    let t = process.hrtime.bigint();
    const res = await bus.broadcast(msg);
    if (res.recipients.length !== 10_000) throw new Error(`broadcast reached ${res.recipients.length}`);
    busMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    t = process.hrtime.bigint();
    emitter.emit('all', msg);
    baseMs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  await bus.stop();
  void received;
  results.push({ name: 'W5 broadcast to 10,000 agents of one tenant', value: Math.round(median(busMs.slice(5)) * 1000) / 1000, unit: 'ms', baseline: { name: 'EventEmitter with 10,000 listeners', value: Math.round(median(baseMs.slice(5)) * 1000) / 1000 }, ratio: ratio(median(busMs.slice(5)), median(baseMs.slice(5))), target: '<= 10 ms' });
}

// BENCH_ONLY=w2 runs W2 alone (for profiling and quick comparisons).
if (process.env.BENCH_ONLY === 'w2') {
  await w2();
  emit('bus', results);
  process.exit(0);
}

await w1();
await w2();
await w3();
w4(10_000);
w4(100_000);
if (!quick) w4(1_000_000);
await w5();
emit('bus', results);
