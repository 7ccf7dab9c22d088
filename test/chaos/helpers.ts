/**
 * Shared pieces of the chaos suite: a private redis-server on a free loopback port (no persistence,
 * so it can be killed and restarted without touching the machine's Redis), a server around a bus,
 * HTTP traffic, and the figures each scenario prints.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { createClient } from 'redis';
import type { AgentBus } from '../../src/index.js';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import { buildServer, loadServerConfig, type AgentBusServer } from '../../src/server/index.js';

export const HASH = CONSTITUTIONAL_HASH;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface RedisProcess {
  port: number;
  url: string;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port, resolved once it answers PING. */
  start(): Promise<void>;
  /** Kills it for good (test cleanup). */
  close(): Promise<void>;
}

export async function startRedis(): Promise<RedisProcess> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--loglevel', 'warning'], { stdio: 'ignore' });
    const probe = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 200 } });
    probe.on('error', () => undefined);
    const end = Date.now() + 5000;
    for (;;) {
      try {
        await probe.connect();
        await probe.ping();
        await probe.quit();
        return;
      } catch (error) {
        if (Date.now() > end) throw new Error(`redis-server did not start on ${port}`, { cause: error });
        await sleep(30);
      }
    }
  };
  const kill = async () => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  };
  await start();
  return { port, url, kill, start, close: kill };
}

/** A server (dev mode: no credentials, loopback) around `bus`, listening on a free port. */
export async function serve(bus: AgentBus): Promise<{ app: AgentBusServer; url: string; close(): Promise<void> }> {
  const app = await buildServer({ bus, config: loadServerConfig({ overrides: { logLevel: 'silent' } }) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { app, url, close: () => app.close() };
}

export interface Outcome {
  seq: number;
  status: number;
  code: string | undefined;
  messageId: string | undefined;
  startedAt: number;
  endedAt: number;
}

/** Sends over HTTP with `inFlight` concurrent senders until `stop()` returns true. */
export async function traffic(url: string, inFlight: number, body: (seq: number) => Record<string, unknown>, stop: () => boolean): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let seq = 0;
  const worker = async () => {
    while (!stop()) {
      const n = seq++;
      const startedAt = Date.now();
      try {
        const res = await fetch(`${url}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ constitutionalHash: HASH, ...body(n) }) });
        const json = (await res.json()) as { messageId?: string; error?: { code?: string } };
        outcomes.push({ seq: n, status: res.status, code: res.status === 200 ? undefined : json.error?.code, messageId: json.messageId, startedAt, endedAt: Date.now() });
      } catch (error) {
        outcomes.push({ seq: n, status: 0, code: `TRANSPORT:${(error as Error).message}`, messageId: undefined, startedAt, endedAt: Date.now() });
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return outcomes.sort((a, b) => a.seq - b.seq);
}

export function byCode(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const o of outcomes) if (o.code !== undefined) counts[o.code] = (counts[o.code] ?? 0) + 1;
  return counts;
}

/** Prints one scenario's figures (one JSON line, prefixed so it is easy to grep from the test output). */
export function figures(scenario: string, data: Record<string, unknown>): void {
  process.stdout.write(`# chaos ${scenario}: ${JSON.stringify(data)}\n`);
}

/** Every accepted message reached its handler exactly once: no loss, no duplicate. */
export function assertExactlyOnce(accepted: readonly string[], delivered: readonly string[]): { lost: number; duplicates: number } {
  const seen = new Map<string, number>();
  for (const id of delivered) seen.set(id, (seen.get(id) ?? 0) + 1);
  const lost = accepted.filter((id) => !seen.has(id)).length;
  const duplicates = [...seen.values()].filter((n) => n > 1).length;
  assert.equal(lost, 0, `${lost} accepted messages were never delivered`);
  assert.equal(duplicates, 0, `${duplicates} messages were delivered twice`);
  return { lost, duplicates };
}

export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
