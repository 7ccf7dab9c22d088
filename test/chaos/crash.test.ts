/**
 * (e) SIGKILL of the server with held and unacknowledged messages: after a restart on the same data
 * directory nothing accepted is lost (held ones are still pending and deliver once approved;
 * unacknowledged ones are redelivered), and no message whose ack was recorded is delivered again.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { byCode, figures, sleep, traffic, until, type Outcome } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function startServer(dataDir: string, handledFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/chaos/fixtures/server.ts', dataDir, handledFile], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start')), 20_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(line);
    });
  });
  return { child, url: (JSON.parse(first) as { url: string }).url };
}

const readLines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);

it('(e) SIGKILL with held and unacknowledged messages: nothing accepted lost, nothing acked delivered twice', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eab-chaos-crash-'));
  const handledFile = path.join(dataDir, 'handled.txt');
  let child: ChildProcess | undefined;
  t.after(() => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  let server = await startServer(dataDir, handledFile);
  child = server.child;
  let stop = false;
  const run = traffic(server.url, 4, (i) => ({ fromAgent: 'alice', toAgent: 'bob', tenantId: 'acme', content: i % 10 === 0 ? { i, hold: true } : { i } }), () => stop);
  await sleep(1500);
  const exited = new Promise((r) => child!.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  stop = true;
  const outcomes: Outcome[] = await run;

  // What was durable at the moment of the kill.
  const ledgerLines = readLines(path.join(dataDir, 'delivery', 'deliveries.jsonl')).map((l) => {
    try {
      return JSON.parse(l) as { d?: string; i?: string };
    } catch {
      return {};
    }
  });
  const ackedBeforeKill = new Set(ledgerLines.filter((e) => e.d === 'bob').map((e) => e.i!));
  const handledBeforeKill = readLines(handledFile);
  const accepted = outcomes.filter((o) => o.status === 200 || o.status === 202);
  const held = accepted.filter((o) => o.status === 202).map((o) => o.messageId!);
  const delivered = accepted.filter((o) => o.status === 200).map((o) => o.messageId!);
  assert.ok(held.length > 0 && delivered.length > 0, `traffic: ${JSON.stringify(byCode(outcomes))}`);

  server = await startServer(dataDir, handledFile);
  child = server.child;
  const handledNow = () => new Set(readLines(handledFile));
  await until(() => delivered.every((id) => handledNow().has(id)), 15_000, 'redelivery of every accepted, unacknowledged message');

  const listed = await fetch(`${server.url}/v1/deliberations?status=pending&limit=500`);
  const pending = (await listed.json()) as { items: Array<{ id: string; message: { messageId: string }; messageDigest: string }> };
  assert.equal(listed.status, 200, JSON.stringify(pending));
  const pendingIds = new Set(pending.items.map((i) => i.message.messageId));
  assert.ok(held.every((id) => pendingIds.has(id)), 'every held message is still pending after the crash');
  for (const item of pending.items) {
    const res = await fetch(`${server.url}/v1/deliberations/${item.id}/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'approved after the crash', reviewerId: 'rita', messageDigest: item.messageDigest }),
    });
    assert.equal(res.status, 200, await res.text());
  }
  await until(() => held.every((id) => handledNow().has(id)), 10_000, 'approved held messages to be delivered');
  await sleep(300);

  const all = readLines(handledFile);
  const counts = new Map<string, number>();
  for (const id of all) counts.set(id, (counts.get(id) ?? 0) + 1);
  const afterRestart = all.slice(handledBeforeKill.length);
  const ackedTwice = afterRestart.filter((id) => ackedBeforeKill.has(id));
  const lost = [...delivered, ...held].filter((id) => !counts.has(id));
  const redeliveredInFlight = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
  assert.deepEqual(lost, [], 'nothing accepted is lost');
  assert.deepEqual(ackedTwice, [], 'no message whose ack was recorded is delivered again');
  figures('e sigkill', {
    sent: outcomes.length,
    accepted: accepted.length,
    held: held.length,
    refusedByCode: byCode(outcomes),
    handledBeforeKill: handledBeforeKill.length,
    ackedBeforeKill: ackedBeforeKill.size,
    redeliveredAfterRestart: afterRestart.length - held.length,
    deliveredTwiceUnacked: redeliveredInFlight.length,
    deliveredTwiceAcked: ackedTwice.length,
    lost: lost.length,
  });
  const stopped = new Promise((r) => child!.once('exit', r));
  child.kill('SIGTERM');
  await stopped;
});
