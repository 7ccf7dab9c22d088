/**
 * HTTP send throughput: POST /v1/messages on the bus server beside a bare fastify route that
 * parses the same JSON body, both in this process, loaded by wrk (a separate process) over
 * loopback. Rounds alternate between the targets; each figure is the median of the rounds.
 *
 *   npx tsx bench/http.bench.ts            (needs wrk: apt-get install -y wrk)
 *
 * Figures: requests/s (target >= 20,000) with the bare route as baseline; p99 latency from wrk.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import pino from 'pino';
import { AgentBus } from '../src/bus.js';
import { CONSTITUTIONAL_HASH } from '../src/message/constants.js';
import { buildServer, loadServerConfig, tuneProcessForServer } from '../src/server/index.js';
import { defaultComponents } from '../src/server/serve.js';
import { emit, median, ratio, type BenchResult } from './lib.js';

const ROUNDS = 3;
const SECONDS = 4;
const CONNECTIONS = 64;
const API_KEY = 'bench-key-0123456789abcdef';

const body = JSON.stringify({ fromAgent: 'alice', toAgent: 'bob', tenantId: 'acme', constitutionalHash: CONSTITUTIONAL_HASH, messageType: 'event', content: { text: 'status update', n: 42 } });

interface WrkResult {
  rps: number;
  p99ms: number;
  non2xx: number;
  errors: number;
}

function wrk(url: string, script: string): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, '--latency', '-s', script, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(error.code === 'ENOENT' ? new Error('wrk is not installed: apt-get install -y wrk (Debian) — the HTTP benchmark drives the server with it') : error),
    );
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${out}`));
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
      const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
      const p99ms = p99 === null ? NaN : Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1);
      const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
      const errors = /Socket errors:.*?(\d+).*?(\d+).*?(\d+).*?(\d+)/.exec(out)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0;
      resolve({ rps, p99ms, non2xx, errors });
    });
  });
}

async function main(): Promise<void> {
  // As `agent-bus serve` does (the bare fastify baseline shares the process and the settings).
  tuneProcessForServer();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-bus-http-bench-'));
  const script = path.join(dir, 'post.lua');
  writeFileSync(script, `wrk.method = "POST"\nwrk.body = ${JSON.stringify(body)}\nwrk.headers["Content-Type"] = "application/json"\nwrk.headers["X-API-Key"] = "${API_KEY}"\n`);

  // Baseline: a bare fastify route that parses the same body and answers a small JSON object.
  const bare = Fastify({ logger: false });
  bare.post('/bare', async (request) => ({ ok: true, n: (request.body as { content: { n: number } }).content.n }));
  await bare.listen({ host: '127.0.0.1', port: 0 });

  const makeBus = async () => {
    const bus = new AgentBus({ inboxCapacity: 100_000 });
    await bus.start();
    await bus.registerAgent({ agentId: 'alice', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'bob', tenantId: 'acme' });
    bus.subscribe('bob', () => undefined);
    return bus;
  };
  const noQuotas = { tenant: { ratePerSec: 0, burst: 1 }, agent: { ratePerSec: 0, burst: 1 }, maxInFlightPerTenant: 0, maxInFlightPerAgent: 0, maxUnackedPerTenant: 0, maxBuckets: 1000 };
  const devBus = await makeBus();
  const dev = await buildServer({ config: loadServerConfig({ overrides: { logLevel: 'silent', quotas: noQuotas } }), bus: devBus, logger: pino({ level: 'silent' }) });
  await dev.listen({ host: '127.0.0.1', port: 0 });
  const authBus = await makeBus();
  const authed = await buildServer({
    config: loadServerConfig({ overrides: { logLevel: 'silent', auth: { apiKeys: [{ key: API_KEY, agentId: 'alice', tenantId: 'acme' }] } } }),
    bus: authBus,
    logger: pino({ level: 'silent' }),
  });
  await authed.listen({ host: '127.0.0.1', port: 0 });

  // As `agent-bus serve` builds it: data dir with the journal, the file deliberation store and the
  // delivery ledger (quotas off, as in the dev-mode figure, so that one sender is not rate limited).
  const shippedConfig = loadServerConfig({ overrides: { logLevel: 'silent', quotas: noQuotas, dataDir: path.join(dir, 'data') } });
  const shippedParts = await defaultComponents(shippedConfig);
  await shippedParts.bus.registerAgent({ agentId: 'alice', tenantId: 'acme' });
  await shippedParts.bus.registerAgent({ agentId: 'bob', tenantId: 'acme' });
  shippedParts.bus.subscribe('bob', () => undefined);
  const shipped = await buildServer({ config: shippedConfig, bus: shippedParts.bus, deliberation: shippedParts.deliberation, journal: shippedParts.journal, logger: pino({ level: 'silent' }) });
  await shipped.listen({ host: '127.0.0.1', port: 0 });

  const port = (app: { server: { address(): unknown } }) => (app.server.address() as { port: number }).port;
  const targets = {
    bare: `http://127.0.0.1:${port(bare)}/bare`,
    send: `http://127.0.0.1:${port(dev)}/v1/messages`,
    sendAuthQuotas: `http://127.0.0.1:${port(authed)}/v1/messages`,
    shipped: `http://127.0.0.1:${port(shipped)}/v1/messages`,
  };
  const samples: Record<keyof typeof targets, WrkResult[]> = { bare: [], send: [], sendAuthQuotas: [], shipped: [] };
  await wrk(targets.send, script); // warm-up (JIT)
  await wrk(targets.bare, script);
  for (let r = 0; r < ROUNDS; r++) {
    for (const name of Object.keys(targets) as Array<keyof typeof targets>) samples[name].push(await wrk(targets[name], script));
  }
  const med = (name: keyof typeof targets, k: 'rps' | 'p99ms') => median(samples[name].map((s) => s[k]));
  const failures = (name: keyof typeof targets) => samples[name].reduce((n, s) => n + s.non2xx + s.errors, 0);
  const accepted = devBus.metrics().delivered + authBus.metrics().delivered + shippedParts.bus.metrics().delivered;

  const results: BenchResult[] = [
    {
      name: 'HTTP send req/s (POST /v1/messages, dev mode, quotas off)',
      value: Math.round(med('send', 'rps')),
      unit: 'req/s',
      baseline: { name: 'bare fastify route, same JSON body', value: Math.round(med('bare', 'rps')) },
      ratio: ratio(med('send', 'rps'), med('bare', 'rps')),
      target: '>= 20000',
      note: `wrk -t1 -c${CONNECTIONS} -d${SECONDS}s, median of ${ROUNDS}; non-2xx/socket errors: ${failures('send')}`,
    },
    {
      name: 'HTTP send req/s (API key auth, default quotas)',
      value: Math.round(med('sendAuthQuotas', 'rps')),
      unit: 'req/s',
      baseline: { name: 'bare fastify route, same JSON body', value: Math.round(med('bare', 'rps')) },
      ratio: ratio(med('sendAuthQuotas', 'rps'), med('bare', 'rps')),
      target: '>= 20000',
      note: `non-2xx/socket errors: ${failures('sendAuthQuotas')} (429s count here once the default 20k/s agent rate is exceeded)`,
    },
    {
      name: 'HTTP send req/s (agent-bus serve components: journal, file deliberation store, delivery ledger; quotas off)',
      value: Math.round(med('shipped', 'rps')),
      unit: 'req/s',
      baseline: { name: 'bare fastify route, same JSON body', value: Math.round(med('bare', 'rps')) },
      ratio: ratio(med('shipped', 'rps'), med('bare', 'rps')),
      target: '>= 20000',
      note: `non-2xx/socket errors: ${failures('shipped')}; messages accepted (each journaled and in the ledger): ${shippedParts.bus.metrics().delivered}`,
    },
    {
      name: 'HTTP send p99 latency under saturation',
      value: med('send', 'p99ms'),
      unit: 'ms',
      baseline: { name: 'bare fastify route', value: med('bare', 'p99ms') },
      ratio: ratio(med('send', 'p99ms'), med('bare', 'p99ms')),
      note: `${CONNECTIONS} connections at full load; messages accepted by the buses: ${accepted}`,
    },
  ];
  await Promise.all([bare.close(), dev.close(), authed.close(), shipped.close()]);
  await Promise.all([devBus.stop(), authBus.stop(), shippedParts.bus.stop()]);
  shipped.busContext.sessions.closeAll();
  dev.busContext.sessions.closeAll();
  authed.busContext.sessions.closeAll();
  rmSync(dir, { recursive: true, force: true });
  emit('http', results);
}

await main();
