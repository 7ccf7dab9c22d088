/**
 * (e) SIGKILL of `agent-bus serve` (the real command, delivery ledger on by default) while a
 * WebSocket agent and an HTTP-pull agent hold messages queued in their sessions, leased and not
 * acknowledged, waiting in the bus inbox, and acknowledged. After a restart on the same data
 * directory, with the agents registering again: nothing accepted is lost, and nothing whose ack
 * was recorded is delivered again. Then the same for a graceful stop (SIGTERM) in the middle of a
 * burst: nothing is spooled, everything unacknowledged is delivered once after the restart.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { byCode, figures, HASH, sleep, traffic, type Outcome } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = path.join(root, 'src', 'cli', 'main.ts');
const WS_AGENT = 'wsa';
const PULL_AGENT = 'pla';

interface Served {
  child: ChildProcess;
  url: string;
}

async function serve(dataDir: string, configFile: string, logs?: string[]): Promise<Served> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0', '--json', '--data-dir', dataDir, '--config', configFile, '--log-level', logs === undefined ? 'error' : 'warn'], {
    cwd: root,
    stdio: ['ignore', 'pipe', logs === undefined ? 'inherit' : 'pipe'],
  });
  child.stderr?.on('data', (d) => logs?.push(String(d)));
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start')), 30_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
  return { child, url: (JSON.parse(first) as { url: string }).url };
}

async function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function registerAgents(url: string): Promise<void> {
  for (const agentId of ['alice', WS_AGENT, PULL_AGENT]) {
    const res = await post(`${url}/v1/agents`, { agentId, tenantId: 'acme' });
    assert.equal(res.status, 201, await res.text());
  }
}

interface Received {
  messageId: string;
  deliveryId: number;
  attempt: number;
}

/**
 * A WebSocket agent: acks every pushed message except every `skipEvery`-th (0: acks all), which
 * stays leased. Records what it received and which acks it sent.
 */
function wsAgent(url: string, skipEvery: number): { received: Received[]; ackSent: Set<string>; close(): void; ready: Promise<void> } {
  const received: Received[] = [];
  const ackSent = new Set<string>();
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?agentId=${WS_AGENT}`);
  ws.on('error', () => undefined);
  const ready = new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; deliveryId: number; attempt: number; message: { messageId: string } };
      if (frame.type === 'ready') return resolve();
      if (frame.type !== 'message') return;
      received.push({ messageId: frame.message.messageId, deliveryId: frame.deliveryId, attempt: frame.attempt });
      if (skipEvery > 0 && received.length % skipEvery === 0) return;
      ackSent.add(frame.message.messageId);
      ws.send(JSON.stringify({ type: 'ack', deliveryIds: [frame.deliveryId] }));
    });
  });
  return { received, ackSent, ready, close: () => ws.terminate() };
}

/**
 * An HTTP-pull agent: pulls `max` at a time, acks the first `ackFirst` of each batch (an answered
 * ack is confirmed), leaves the rest leased, until `stop()`.
 */
function pullAgent(url: string, max: number, ackFirst: number, pauseMs: number, stop: () => boolean): { received: Received[]; ackConfirmed: Set<string>; done: Promise<void> } {
  const received: Received[] = [];
  const ackConfirmed = new Set<string>();
  return { received, ackConfirmed, done: loop() };
  async function loop(): Promise<void> {
  while (!stop()) {
    try {
      const res = await fetch(`${url}/v1/agents/${PULL_AGENT}/messages?max=${max}&leaseMs=60000&waitMs=200`);
      const body = (await res.json()) as { deliveries?: Array<{ deliveryId: number; attempt: number; message: { messageId: string } }> };
      const batch = body.deliveries ?? [];
      received.push(...batch.map((d) => ({ messageId: d.message.messageId, deliveryId: d.deliveryId, attempt: d.attempt })));
      const toAck = batch.slice(0, ackFirst);
      if (toAck.length > 0) {
        const acked = await post(`${url}/v1/agents/${PULL_AGENT}/acks`, { deliveryIds: toAck.map((d) => d.deliveryId) });
        if (acked.status === 200) {
          const answer = (await acked.json()) as { acked: number[] };
          for (const d of toAck) if (answer.acked.includes(d.deliveryId)) ackConfirmed.add(d.message.messageId);
        }
      }
    } catch {
      break; // the server is gone
    }
    await sleep(pauseMs);
  }
  }
}

function gauge(metrics: string, name: string, labels = ''): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? NaN : Number(line.split(' ')[1]);
}

it('(e) SIGKILL of agent-bus serve with WebSocket and HTTP-pull sessions holding queued, leased and acked messages: nothing accepted lost, nothing acked delivered again', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eab-chaos-sessions-'));
  const configFile = path.join(dataDir, 'server.json');
  // Small session buffers and push window, so that the kill finds messages in every state.
  writeFileSync(configFile, JSON.stringify({ delivery: { sessionCapacity: 40, pushWindow: 8, ackTimeoutMs: 60_000 }, bus: { inboxCapacity: 200 } }));
  let server: Served | undefined;
  const ws: Array<{ close(): void }> = [];
  t.after(() => {
    for (const c of ws) c.close();
    if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  // ---- before the kill -------------------------------------------------------------------------
  server = await serve(dataDir, configFile);
  await registerAgents(server.url);
  const wsBefore = wsAgent(server.url, 7);
  ws.push(wsBefore);
  await wsBefore.ready;
  let stop = false;
  const pulledBefore = pullAgent(server.url, 6, 4, 30, () => stop);
  const sending = traffic(server.url, 4, (i) => ({ fromAgent: 'alice', toAgent: i % 2 === 0 ? WS_AGENT : PULL_AGENT, tenantId: 'acme', content: { i, text: 'status update' } }), () => stop);
  await sleep(2000);
  const metrics = await (await fetch(`${server.url}/metrics`)).text();
  const atKill = {
    sessionRetained: gauge(metrics, 'agent_bus_server_retained_messages', '{state="retained"}'),
    sessionLeased: gauge(metrics, 'agent_bus_server_retained_messages', '{state="leased"}'),
    busInboxQueued: gauge(metrics, 'agent_bus_inbox_queued'),
  };
  const killed = new Promise((r) => server!.child.once('exit', r));
  server.child.kill('SIGKILL');
  await killed;
  stop = true;
  const outcomes: Outcome[] = await sending;
  await pulledBefore.done;
  wsBefore.close();

  // What was durable at the moment of the kill: the ledger's leave lines are the recorded acks.
  const ledgerFile = path.join(dataDir, 'delivery', 'deliveries.jsonl');
  assert.ok(existsSync(ledgerFile), 'agent-bus serve keeps a delivery ledger by default');
  const entries = readFileSync(ledgerFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      try {
        return JSON.parse(l) as { a?: string; m?: { messageId: string }; d?: string; i?: string };
      } catch {
        return {};
      }
    });
  const recordedAcks = new Set(entries.filter((e) => e.d !== undefined).map((e) => `${e.d}/${e.i}`));
  const openAtKill = new Set(entries.filter((e) => e.a !== undefined).map((e) => `${e.a}/${e.m!.messageId}`));
  for (const key of recordedAcks) openAtKill.delete(key);

  const accepted = new Map<string, string>(); // messageId → agent
  for (const o of outcomes) if (o.status === 200) accepted.set(o.messageId!, o.seq % 2 === 0 ? WS_AGENT : PULL_AGENT);
  const held = outcomes.filter((o) => o.status === 202).length;
  assert.equal(held, 0, 'plain status updates are not held');
  assert.ok(accepted.size > 100, `traffic: ${JSON.stringify(byCode(outcomes))}`);
  for (const id of pulledBefore.ackConfirmed) assert.ok(recordedAcks.has(`${PULL_AGENT}/${id}`), 'an HTTP ack that was answered is in the ledger');
  assert.ok(atKill.sessionLeased > 0 && atKill.sessionRetained > atKill.sessionLeased, `messages leased and queued in sessions at the kill: ${JSON.stringify(atKill)}`);

  // ---- after the restart ------------------------------------------------------------------------
  server = await serve(dataDir, configFile);
  // Registrations are in memory: the agents register again, as they do when they reconnect.
  await registerAgents(server.url);
  const wsAfter = wsAgent(server.url, 0);
  ws.push(wsAfter);
  await wsAfter.ready;
  stop = false;
  const pulling = pullAgent(server.url, 100, 100, 10, () => stop);
  const pulledAfter = pulling.received;
  const afterKeys = () => new Set([...wsAfter.received.map((r) => `${WS_AGENT}/${r.messageId}`), ...pulledAfter.map((r) => `${PULL_AGENT}/${r.messageId}`)]);
  // Everything open in the ledger at the kill comes back: wait for it (bounded), then a quiet spell to catch any duplicate.
  const end = Date.now() + 20_000;
  while (Date.now() < end && ![...openAtKill].every((key) => afterKeys().has(key))) await sleep(50);
  await sleep(750);
  stop = true;
  await pulling.done;

  const after = afterKeys();
  const allAfter = [...wsAfter.received.map((r) => `${WS_AGENT}/${r.messageId}`), ...pulledAfter.map((r) => `${PULL_AGENT}/${r.messageId}`)];
  const lost = [...accepted].map(([id, agent]) => `${agent}/${id}`).filter((key) => !recordedAcks.has(key) && !after.has(key));
  const ackedTwice = allAfter.filter((key) => recordedAcks.has(key));
  const receivedBefore = new Set([...wsBefore.received.map((r) => `${WS_AGENT}/${r.messageId}`), ...pulledBefore.received.map((r) => `${PULL_AGENT}/${r.messageId}`)]);
  const acceptedKeys = new Set([...accepted].map(([id, agent]) => `${agent}/${id}`));
  const duplicatesAfter = allAfter.length - after.size;

  assert.deepEqual(lost, [], 'nothing accepted is lost');
  assert.deepEqual(ackedTwice, [], 'nothing whose ack was recorded is delivered again');
  assert.deepEqual(
    [...openAtKill].filter((key) => !after.has(key)),
    [],
    'every message open in the ledger at the kill is delivered after the restart',
  );
  assert.ok(
    [...wsAfter.received, ...pulledAfter].every((r) => r.attempt >= 2),
    'a message given back after a restart starts at attempt 2',
  );
  assert.equal(duplicatesAfter, 0, 'acked at once after the restart: no redelivery');

  figures('e sigkill sessions', {
    sent: outcomes.length,
    accepted: accepted.size,
    refusedByCode: byCode(outcomes),
    atKill: { ...atKill, openInLedger: openAtKill.size, openAcceptedWithoutAnswer: [...openAtKill].filter((k) => !acceptedKeys.has(k)).length },
    deliveredBeforeKill: receivedBefore.size,
    ackedBeforeKill: recordedAcks.size,
    httpAcksAnswered: pulledBefore.ackConfirmed.size,
    wsAcksSentNotRecorded: [...wsBefore.ackSent].filter((id) => !recordedAcks.has(`${WS_AGENT}/${id}`)).length,
    deliveredAfterRestart: after.size,
    deliveredTwiceUnacked: [...after].filter((key) => receivedBefore.has(key)).length,
    deliveredTwiceAcked: ackedTwice.length,
    lost: lost.length,
  });

  const stopped = new Promise((r) => server!.child.once('exit', r));
  server.child.kill('SIGTERM');
  await stopped;
});

it('(e) SIGTERM of agent-bus serve in the middle of a burst: nothing spooled; after a restart and the agents registering again, every accepted, unacknowledged message is delivered once', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eab-chaos-stop-'));
  const configFile = path.join(dataDir, 'server.json');
  writeFileSync(configFile, JSON.stringify({}));
  let server: Served | undefined;
  t.after(() => {
    if (server !== undefined && server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });
  const logs: string[] = [];
  server = await serve(dataDir, configFile, logs);
  const url = server.url;
  await registerAgents(url);
  const accepted = new Set<string>();
  const refused: Outcome[] = [];
  let sent = 0;
  let noAnswer = 0;
  /** False once the server no longer answers. */
  const sendOne = async (to: string, i: number): Promise<boolean> => {
    sent++;
    try {
      const res = await post(`${url}/v1/messages`, { fromAgent: 'alice', toAgent: to, tenantId: 'acme', constitutionalHash: HASH, content: { i } });
      const body = (await res.json()) as { messageId: string; error?: { code: string } };
      if (res.status === 200) accepted.add(body.messageId);
      else refused.push({ seq: i, status: res.status, code: body.error?.code, messageId: body.messageId, startedAt: 0, endedAt: 0 });
      return true;
    } catch {
      noAnswer++;
      return false;
    }
  };
  for (let i = 0; i < 40; i++) await sendOne(i % 2 === 0 ? WS_AGENT : PULL_AGENT, i);
  // The pull agent acks 10 and leaves 5 leased; the other agent never connects.
  const first = (await (await fetch(`${url}/v1/agents/${PULL_AGENT}/messages?max=10`)).json()) as { deliveries: Array<{ deliveryId: number; message: { messageId: string } }> };
  assert.equal((await post(`${url}/v1/agents/${PULL_AGENT}/acks`, { deliveryIds: first.deliveries.map((d) => d.deliveryId) })).status, 200);
  const acked = new Set(first.deliveries.map((d) => d.message.messageId));
  assert.equal(((await (await fetch(`${url}/v1/agents/${PULL_AGENT}/messages?max=5`)).json()) as { deliveries: unknown[] }).deliveries.length, 5);
  const exited = new Promise<number | null>((r) => server!.child.once('exit', r));
  // Four senders; SIGTERM once 100 more were answered; each sender stops when the server no longer answers.
  let next = 1000;
  let answered = 0;
  const sender = async () => {
    for (;;) {
      const i = next++;
      if (!(await sendOne(i % 2 === 0 ? WS_AGENT : PULL_AGENT, i))) return;
      if (++answered === 100) server!.child.kill('SIGTERM');
    }
  };
  await Promise.all([sender(), sender(), sender(), sender()]);
  assert.equal(await exited, 0, logs.join(''));
  assert.deepEqual(readdirSync(dataDir).filter((f) => f.startsWith('undelivered-')), [], 'nothing spooled: the ledger keeps them');
  assert.match(logs.join(''), /stay in the delivery ledger/);

  server = await serve(dataDir, configFile);
  await registerAgents(server.url);
  const received: string[] = [];
  let attemptsOk = true;
  for (const agentId of [WS_AGENT, PULL_AGENT]) {
    for (;;) {
      const batch = (await (await fetch(`${server.url}/v1/agents/${agentId}/messages?max=100`)).json()) as { deliveries: Array<{ deliveryId: number; attempt: number; message: { messageId: string } }> };
      if (batch.deliveries.length === 0) break;
      attemptsOk &&= batch.deliveries.every((d) => d.attempt === 2);
      received.push(...batch.deliveries.map((d) => d.message.messageId));
      assert.equal((await post(`${server.url}/v1/agents/${agentId}/acks`, { deliveryIds: batch.deliveries.map((d) => d.deliveryId) })).status, 200);
    }
  }
  const expected = [...accepted].filter((id) => !acked.has(id));
  const lost = expected.filter((id) => !received.includes(id));
  assert.deepEqual(lost, [], 'every accepted, unacknowledged message is delivered after the restart');
  assert.deepEqual(received.filter((id) => acked.has(id)), [], 'nothing acknowledged is delivered again');
  assert.equal(received.length, new Set(received).size, 'each once');
  assert.ok(attemptsOk, 'delivered again after a restart: attempt 2');
  assert.ok(accepted.size >= 100, `accepted ${accepted.size}`);
  figures('e sigterm sessions', { sent, accepted: accepted.size, refusedByCode: byCode(refused), noAnswer, ackedBeforeStop: acked.size, keptInLedger: expected.length, deliveredAfterRestart: received.length, deliveredTwice: received.length - new Set(received).size, lost: lost.length });
  const stopped = new Promise((r) => server!.child.once('exit', r));
  server.child.kill('SIGTERM');
  await stopped;
});
