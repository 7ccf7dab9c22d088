/**
 * WebSocket throughput and latency: agent alice sends `send` frames, the bus pushes each message
 * to agent bob's socket, bob acknowledges in batches. Beside it, a bare `ws` echo server measured
 * in the same run with the same client. The servers run in this process; the load generator runs
 * in a child process (this file with --client), over loopback.
 *
 *   npx tsx bench/ws.bench.ts
 *
 * Figures: messages/s delivered end to end at full load (target >= 80,000), and p99 send→push
 * latency at half that rate (target <= 5 ms), each with the echo baseline.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import hdr from 'hdr-histogram-js';
import pino from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { CONSTITUTIONAL_HASH } from '../src/message/constants.js';
import { emit, median, ratio, type BenchResult } from './lib.js';

const ROUNDS = Number(process.env.WS_BENCH_ROUNDS ?? 3);
const THROUGHPUT_MESSAGES = Number(process.env.WS_BENCH_MESSAGES ?? 60_000);
const LATENCY_SECONDS = 3;
/** Each load generator is a fresh process: what it sends first (a quarter of the messages at full load, the first second when paced) is not measured, so that neither its JIT warm-up nor a new connection's counts in the figures. */
const WARMUP_SECONDS = 1;
const WINDOW = 2_000;
const NUMBER_CHARS = '0123456789.-+eE';

interface ClientResult {
  mode: 'max' | 'paced';
  target: 'bus' | 'echo';
  messages: number;
  seconds: number;
  rate: number;
  p50us: number;
  p99us: number;
  /** The load generator's own CPU use over the run (100 = one core). */
  clientCpuPercent: number;
}

// ---------------------------------------------------------------- load generator (child)

/**
 * confirm: every send frame has an id and gets a result frame; fireAndForget: no ids, only
 * refusals are answered; batch: ids, with the server's batch mode (the pushes and results of one
 * event-loop turn in one frame each).
 */
type Confirm = 'confirm' | 'fireAndForget' | 'batch';

async function client(target: 'bus' | 'echo', url: string, mode: 'max' | 'paced', rate: number, confirm: Confirm): Promise<ClientResult> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  // Resolves on the ready frame (bus) or on open (echo).
  const open = (u: string) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(u);
      if (target === 'bus') ws.once('message', () => resolve(ws));
      else ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const nowUs = () => performance.now() * 1000;
  const batch = confirm === 'batch' ? '&batch=true' : '';
  const sender = await open(target === 'bus' ? `${url}?agentId=alice${batch}` : url);
  const receiver = target === 'bus' ? await open(`${url}?agentId=bob${batch}`) : sender;
  const warmup = mode === 'max' ? Math.round(THROUGHPUT_MESSAGES / 4) : Math.round(rate * WARMUP_SECONDS);
  const total = warmup + (mode === 'max' ? THROUGHPUT_MESSAGES : Math.round(rate * LATENCY_SECONDS));
  let sent = 0;
  let received = 0;
  /** Send time of the first measured message (µs), and how many measured messages arrived. */
  let measureFromUs = Infinity;
  let measureStart = 0;
  let measured = 0;
  const record = (t: number): void => {
    if (t < measureFromUs) return;
    measured++;
    histogram.recordValue(Math.max(1, Math.round(nowUs() - t)));
  };
  let acks: number[] = [];
  let resolveDone: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let pump: () => void = () => undefined;

  // The load generator shares the machine's two cores with the server: it reads only the two
  // numbers it needs from each frame (no JSON.parse of whole messages, the same for the echo), so
  // that its own work and garbage collection weigh as little as possible on what it measures.
  let cursor = 0;
  const numberAfter = (text: string, key: string, from: number): number => {
    const at = text.indexOf(key, from);
    if (at < 0) throw new Error(`frame without ${key}: ${text.slice(0, 120)}`);
    let end = at + key.length;
    while (end < text.length && NUMBER_CHARS.includes(text[end]!)) end++;
    cursor = end;
    return Number(text.slice(at + key.length, end));
  };
  const pushed = (text: string, from: number): void => {
    const deliveryId = numberAfter(text, '"deliveryId":', from);
    record(numberAfter(text, '"t":', cursor));
    acks.push(deliveryId);
    if (acks.length >= 200) {
      receiver.send(JSON.stringify({ type: 'ack', deliveryIds: acks }));
      acks = [];
    }
  };
  receiver.on('message', (data) => {
    const text = String(data);
    if (target === 'bus') {
      if (text.startsWith('{"type":"messages"')) {
        let count = 0;
        cursor = 0;
        while (text.indexOf('"deliveryId":', cursor) >= 0) {
          pushed(text, cursor);
          count++;
        }
        received += count;
        if (received >= total) resolveDone();
        else if (mode === 'max') pump();
        return;
      }
      if (!text.startsWith('{"type":"message"')) return; // results go to the sender socket
      pushed(text, 0);
    } else {
      record(numberAfter(text, '"t":', 0));
    }
    received++;
    if (received === total) resolveDone();
    else if (mode === 'max') pump();
  });
  if (target === 'bus') sender.on('message', () => undefined);

  const frame = (i: number) => {
    if (i === warmup) {
      measureStart = performance.now();
      measureFromUs = measureStart * 1000;
    }
    return JSON.stringify({
      type: 'send',
      ...(confirm !== 'fireAndForget' ? { id: i } : {}),
      message: { toAgent: 'bob', constitutionalHash: CONSTITUTIONAL_HASH, messageType: 'event', content: { t: nowUs(), text: 'status update' } },
    });
  };
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  if (mode === 'max') {
    const tcp = (sender as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    pump = () => {
      if (sent >= total || sent - received >= WINDOW) return;
      tcp.cork();
      while (sent < total && sent - received < WINDOW) sender.send(frame(sent++));
      tcp.uncork();
    };
    pump();
  } else {
    // Every millisecond, send what is due (no busy loop: the client shares the machine with the server).
    const tcp = (sender as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      tcp.cork();
      while (sent < due) sender.send(frame(sent++));
      tcp.uncork();
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  }
  const timeout = setTimeout(() => resolveDone(), 30_000);
  await done;
  clearTimeout(timeout);
  const end = performance.now();
  const seconds = (end - measureStart) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const clientCpuPercent = Math.round((cpu.user + cpu.system) / 1e4 / ((end - start) / 1000));
  if (acks.length > 0) receiver.send(JSON.stringify({ type: 'ack', deliveryIds: acks }));
  sender.close();
  if (receiver !== sender) receiver.close();
  return { mode, target, messages: measured, seconds, rate: measured / seconds, p50us: histogram.getValueAtPercentile(50), p99us: histogram.getValueAtPercentile(99), clientCpuPercent };
}

// ---------------------------------------------------------------- servers (parent)

function runClient(target: 'bus' | 'echo', url: string, mode: 'max' | 'paced', rate = 0, confirm: Confirm = 'confirm'): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--client', target, url, mode, String(rate), confirm], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ClientResult) : reject(new Error(`client exited ${code}`))));
  });
}

async function parent(): Promise<void> {
  // Loaded here, not at the top: the client process needs none of it.
  const { buildServer, loadServerConfig, tuneProcessForServer } = await import('../src/server/index.js');
  // As `agent-bus serve` does (the echo baseline shares the process and the settings).
  tuneProcessForServer();
  const { AgentBus } = await import('../src/bus.js');
  const echo = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  echo.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  await new Promise((r) => echo.once('listening', r));
  const echoUrl = `ws://127.0.0.1:${(echo.address() as { port: number }).port}`;

  const bus = new AgentBus({ inboxCapacity: 100_000 });
  await bus.start();
  await bus.registerAgent({ agentId: 'alice', tenantId: 'acme' });
  await bus.registerAgent({ agentId: 'bob', tenantId: 'acme' });
  const noQuotas = { tenant: { ratePerSec: 0, burst: 1 }, agent: { ratePerSec: 0, burst: 1 }, maxInFlightPerTenant: 0, maxInFlightPerAgent: 0, maxUnackedPerTenant: 0, maxBuckets: 1000 };
  const app = await buildServer({
    config: loadServerConfig({ overrides: { logLevel: 'silent', quotas: noQuotas, delivery: { ...loadServerConfig().delivery, pushWindow: WINDOW * 2, sessionCapacity: 100_000 } } }),
    bus,
    logger: pino({ level: 'silent' }),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const busUrl = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/v1/ws`;

  await runClient('bus', busUrl, 'max'); // warm-up
  const maxBus: ClientResult[] = [];
  const maxBusForget: ClientResult[] = [];
  const maxBusBatch: ClientResult[] = [];
  const maxEcho: ClientResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    maxBus.push(await runClient('bus', busUrl, 'max'));
    maxBusForget.push(await runClient('bus', busUrl, 'max', 0, 'fireAndForget'));
    maxBusBatch.push(await runClient('bus', busUrl, 'max', 0, 'batch'));
    maxEcho.push(await runClient('echo', echoUrl, 'max'));
  }
  const busRate = median(maxBus.map((x) => x.rate));
  const busForgetRate = median(maxBusForget.map((x) => x.rate));
  const busBatchRate = median(maxBusBatch.map((x) => x.rate));
  const echoRate = median(maxEcho.map((x) => x.rate));
  // Latency at half of the target rate (40,000/s), or half of what this machine reached in that
  // mode if lower; the echo is measured at each rate used.
  const paced = Math.min(40_000, Math.round(busRate / 2));
  const pacedBatch = Math.min(40_000, Math.round(busBatchRate / 2));
  const latBus: ClientResult[] = [];
  const latBusBatch: ClientResult[] = [];
  const latEcho: ClientResult[] = [];
  const latEchoBatch: ClientResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    latBus.push(await runClient('bus', busUrl, 'paced', paced));
    latBusBatch.push(await runClient('bus', busUrl, 'paced', pacedBatch, 'batch'));
    latEcho.push(await runClient('echo', echoUrl, 'paced', paced));
    if (pacedBatch !== paced) latEchoBatch.push(await runClient('echo', echoUrl, 'paced', pacedBatch));
  }
  const p99Bus = median(latBus.map((x) => x.p99us)) / 1000;
  const p99BusBatch = median(latBusBatch.map((x) => x.p99us)) / 1000;
  const p99Echo = median(latEcho.map((x) => x.p99us)) / 1000;
  const p99EchoBatch = latEchoBatch.length > 0 ? median(latEchoBatch.map((x) => x.p99us)) / 1000 : p99Echo;
  const results: BenchResult[] = [
    {
      name: 'WebSocket messages/s, send → push → ack (one node)',
      value: Math.round(busRate),
      unit: 'msgs/s',
      baseline: { name: 'bare ws echo server, same client', value: Math.round(echoRate) },
      ratio: ratio(busRate, echoRate),
      target: '>= 80000',
      note: `${THROUGHPUT_MESSAGES} messages measured per round after ${THROUGHPUT_MESSAGES / 4} unmeasured (each load generator is a new process), window ${WINDOW}, median of ${ROUNDS}; per message the bus path carries 4 frames (send with an id, result, message, batched ack), the echo 2`,
    },
    {
      name: 'WebSocket messages/s, fire-and-forget send (no id: refusals only) → push → ack',
      value: Math.round(busForgetRate),
      unit: 'msgs/s',
      baseline: { name: 'bare ws echo server, same client', value: Math.round(echoRate) },
      ratio: ratio(busForgetRate, echoRate),
      target: '>= 80000',
      note: `runs ${maxBusForget.map((x) => Math.round(x.rate)).join(' / ')}; 3 frames per message (send, message, batched ack); every message governed (policy, impact) exactly as with ids`,
    },
    {
      name: 'WebSocket messages/s, batch mode (?batch=true: the pushes and results of one event-loop turn in one frame each), send with an id → push → ack',
      value: Math.round(busBatchRate),
      unit: 'msgs/s',
      baseline: { name: 'bare ws echo server, same client', value: Math.round(echoRate) },
      ratio: ratio(busBatchRate, echoRate),
      target: '>= 80000',
      note: `runs ${maxBusBatch.map((x) => Math.round(x.rate)).join(' / ')}; every send confirmed; the echo still sends one frame per message`,
    },
    {
      name: 'WebSocket p99 send→push latency at half the target rate (or half the measured batch-mode maximum when lower), batch mode',
      value: Math.round(p99BusBatch * 1000) / 1000,
      unit: 'ms',
      baseline: { name: 'bare ws echo round trip at the same rate', value: Math.round(p99EchoBatch * 1000) / 1000 },
      ratio: ratio(p99BusBatch, p99EchoBatch),
      target: '<= 5 (at 40000 msgs/s)',
      note: `paced at ${pacedBatch} msgs/s; rounds ${latBusBatch.map((x) => (x.p99us / 1000).toFixed(1)).join(' / ')} ms; p50 ${Math.round(median(latBusBatch.map((x) => x.p50us)))} µs; achieved ${Math.round(median(latBusBatch.map((x) => x.rate)))} msgs/s; ${LATENCY_SECONDS} s measured per round after ${WARMUP_SECONDS} s unmeasured`,
    },
    {
      name: 'WebSocket p99 send→push latency at half the target rate (or half the measured maximum when lower)',
      value: Math.round(p99Bus * 1000) / 1000,
      unit: 'ms',
      baseline: { name: 'bare ws echo round trip at the same rate', value: Math.round(p99Echo * 1000) / 1000 },
      ratio: ratio(p99Bus, p99Echo),
      target: '<= 5 (at 40000 msgs/s)',
      note: `paced at ${paced} msgs/s; rounds ${latBus.map((x) => (x.p99us / 1000).toFixed(1)).join(' / ')} ms; p50 ${Math.round(median(latBus.map((x) => x.p50us)))} µs (echo ${Math.round(median(latEcho.map((x) => x.p50us)))} µs); achieved ${Math.round(median(latBus.map((x) => x.rate)))} msgs/s; ${LATENCY_SECONDS} s measured per round after ${WARMUP_SECONDS} s unmeasured`,
    },
  ];
  await app.close();
  await bus.stop();
  app.busContext.sessions.closeAll();
  await new Promise((r) => echo.close(r));
  emit('ws', results);
}

const args = process.argv.slice(2);
if (args[0] === '--client') {
  const result = await client(args[1] as 'bus' | 'echo', args[2]!, args[3] as 'max' | 'paced', Number(args[4]), (args[5] ?? 'confirm') as Confirm);
  process.stdout.write(JSON.stringify(result));
  process.exit(0);
} else {
  await parent();
}
