/**
 * Deliberation benchmarks.
 * D1  hold (durable enqueue) latency with the file store, beside the in-memory store and a bare
 *     fs.writeSync of the same bytes, all in this process.
 * D2  restart with 100 000 pending items: open → items listable and deadlines armed, beside
 *     reading the same file and JSON.parse of every line.
 * Run: node --import tsx bench/deliberation.bench.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { emit, LatencyRecorder, median, ratio, type BenchResult } from './lib.js';
import { DeliberationService, MemoryDeliberationStore, type HoldRequest } from '../src/deliberation/index.js';
import { CONSTITUTIONAL_HASH } from '../src/message/constants.js';
import type { AgentMessage } from '../src/message/schema.js';

const ROUNDS = 5;
const HOLDS_PER_ROUND = 4_000;
const RESTART_ITEMS = 100_000;

function message(i: number): AgentMessage {
  return {
    messageId: `bench-${i}-${randomUUID()}`,
    conversationId: `conv-${i}`,
    correlationId: undefined,
    fromAgent: 'agent-sender',
    toAgent: 'agent-receiver',
    messageType: 'command',
    content: { action: 'transfer funds', amount: 50_000 + i, currency: 'EUR', note: 'quarterly settlement for vendor account' },
    payload: undefined,
    headers: undefined,
    tenantId: 'tenant-a',
    priority: 3,
    constitutionalHash: CONSTITUTIONAL_HASH,
    createdAt: Date.now(),
    expiresAt: undefined,
    requiredCapabilities: undefined,
    metadata: undefined,
  };
}

function request(i: number): HoldRequest {
  return { message: message(i), reason: 'impact score 0.92 >= 0.8', impact: { score: 0.92, factors: { semantic: 0.9, priority: 1 } } };
}

function ns(): number {
  return Number(process.hrtime.bigint());
}

async function holdLatency(service: DeliberationService, offset: number): Promise<{ p50: number; p99: number }> {
  const rec = new LatencyRecorder();
  const reqs = Array.from({ length: HOLDS_PER_ROUND }, (_, i) => request(offset + i));
  for (const req of reqs) {
    const t0 = ns();
    service.hold(req);
    rec.record(ns() - t0);
  }
  const s = rec.summaryMicros();
  return { p50: s.p50, p99: s.p99 };
}

function tmp(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `eab-delib-bench-${name}-`));
}

async function main(): Promise<void> {
  const results: BenchResult[] = [];
  const dirs: string[] = [];
  try {
    // ---- D1 hold latency
    const fileDir = tmp('hold');
    dirs.push(fileDir);
    const fileSvc = await DeliberationService.open({ dataDir: fileDir, onEvent: () => {} });
    const memSvc = await DeliberationService.open({ store: new MemoryDeliberationStore(1), onEvent: () => {} });
    const rawFd = fs.openSync(path.join(fileDir, 'raw.log'), 'a');
    // warm-up
    await holdLatency(fileSvc, 0);
    await holdLatency(memSvc, 0);
    const fileP50: number[] = [];
    const fileP99: number[] = [];
    const memP50: number[] = [];
    const memP99: number[] = [];
    const rawP50: number[] = [];
    const rawP99: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const f = await holdLatency(fileSvc, (r + 1) * HOLDS_PER_ROUND);
      fileP50.push(f.p50);
      fileP99.push(f.p99);
      const m = await holdLatency(memSvc, (r + 1) * HOLDS_PER_ROUND);
      memP50.push(m.p50);
      memP99.push(m.p99);
      // bare write of the same bytes: the serialized item lines the file store wrote
      const lines = memSvc.list({ limit: 1000 }).items.map((i) => JSON.stringify(i) + '\n');
      const rec = new LatencyRecorder();
      for (let i = 0; i < HOLDS_PER_ROUND; i++) {
        const line = lines[i % lines.length]!;
        const t0 = ns();
        fs.writeSync(rawFd, line);
        rec.record(ns() - t0);
      }
      const s = rec.summaryMicros();
      rawP50.push(s.p50);
      rawP99.push(s.p99);
    }
    fs.closeSync(rawFd);
    const fsyncDir = tmp('fsync');
    dirs.push(fsyncDir);
    const fsyncSvc = await DeliberationService.open({ dataDir: fsyncDir, fileStore: { fsync: 'always' }, onEvent: () => {} });
    const fsyncRec = new LatencyRecorder();
    for (let i = 0; i < 300; i++) {
      const req = request(i);
      const t0 = ns();
      fsyncSvc.hold(req);
      fsyncRec.record(ns() - t0);
    }
    await fsyncSvc.close();
    await fileSvc.close();
    await memSvc.close();

    const f99 = median(fileP99);
    const f50 = median(fileP50);
    results.push({ name: 'D1 hold latency p50, file store', value: f50, unit: 'µs', baseline: { name: 'hold p50, in-memory store', value: median(memP50) }, ratio: ratio(f50, median(memP50)) });
    results.push({ name: 'D1 hold latency p99, file store', value: f99, unit: 'µs', baseline: { name: 'hold p99, in-memory store', value: median(memP99) }, ratio: ratio(f99, median(memP99)), target: '<= 100' });
    results.push({ name: 'D1 bare fs.writeSync of the same bytes p50', value: median(rawP50), unit: 'µs', note: 'baseline for the write share of a hold' });
    results.push({ name: 'D1 bare fs.writeSync of the same bytes p99', value: median(rawP99), unit: 'µs', baseline: { name: 'file-store hold p99', value: f99 }, ratio: ratio(median(rawP99), f99) });
    results.push({ name: 'D1 hold latency p50, file store with fsync always', value: fsyncRec.summaryMicros().p50, unit: 'µs', note: `p99 ${fsyncRec.summaryMicros().p99} µs over 300 holds; depends on the disk` });

    // ---- D2 restart with 100k pending items
    const restartDir = tmp('restart');
    dirs.push(restartDir);
    const seed = await DeliberationService.open({ dataDir: restartDir, onEvent: () => {}, maxBufferedEvents: 0 });
    for (let i = 0; i < RESTART_ITEMS; i++) seed.hold(request(i));
    await seed.close();
    const logFile = path.join(restartDir, 'items.log');
    const logBytes = fs.statSync(logFile).size;
    const openMs: number[] = [];
    const parseMs: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t0 = ns();
      const svc = await DeliberationService.open({ dataDir: restartDir, onEvent: () => {} });
      const page = svc.list({ limit: 100 });
      const armed = svc.stats().deadlines.nextDueAt;
      openMs.push((ns() - t0) / 1e6);
      if (page.items.length !== 100 || armed === undefined || svc.stats().open !== RESTART_ITEMS) throw new Error('restart did not bring the items back');
      await svc.close();
      const t1 = ns();
      const text = fs.readFileSync(logFile, 'utf8');
      let n = 0;
      for (const line of text.split('\n')) {
        if (line.length === 0) continue;
        JSON.parse(line);
        n++;
      }
      parseMs.push((ns() - t1) / 1e6);
      if (n !== RESTART_ITEMS) throw new Error(`baseline parsed ${n} lines`);
    }
    const o = median(openMs);
    const p = median(parseMs);
    results.push({
      name: 'D2 restart with 100k pending items (open → listable, deadlines armed)',
      value: Math.round(o),
      unit: 'ms',
      baseline: { name: 'readFileSync + JSON.parse of every line', value: Math.round(p) },
      ratio: ratio(o, p),
      target: '<= 2000',
      note: `log ${Math.round(logBytes / 1e6)} MB`,
    });
  } finally {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
  emit('deliberation', results);
}

await main();
