import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HASH } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = path.join(root, 'src', 'cli', 'main.ts');

function cli(args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: 'pipe' });
}

function exited(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

function firstLine(child: ChildProcessWithoutNullStreams): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('server did not start')), 15_000);
    child.stdout.on('data', (d) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, i));
      }
    });
  });
}

describe('agent-bus CLI', () => {
  it('prints help, refuses unknown commands and options with exit code 64', async () => {
    const help = await exited(cli(['serve', '--help']));
    assert.equal(help.code, 0);
    assert.match(help.stdout, /agent-bus serve/);
    const unknown = await exited(cli(['teleport']));
    assert.equal(unknown.code, 64);
    assert.match(unknown.stderr, /unknown command/);
    const badOption = await exited(cli(['serve', '--bogus']));
    assert.equal(badOption.code, 64);
  });

  it('refuses to bind a non-loopback address without authentication unless --insecure', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'agent-bus-bind-'));
    try {
      const refused = await exited(cli(['serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir]));
      assert.equal(refused.code, 78);
      assert.match(refused.stderr, /refusing to serve 0\.0\.0\.0 without authentication/);
      const badConfig = await exited(cli(['serve', '--port', '0', '--data-dir', dataDir], { AGENT_BUS_PORT: 'x' }));
      assert.equal(badConfig.code, 78);
      assert.match(badConfig.stderr, /AGENT_BUS_PORT/);

      const insecure = cli(['serve', '--host', '0.0.0.0', '--port', '0', '--insecure', '--json', '--data-dir', dataDir, '--log-level', 'silent']);
      const done = exited(insecure);
      const line = JSON.parse(await firstLine(insecure)) as { message: string; auth: boolean };
      assert.match(line.message, /INSECURE/);
      insecure.kill('SIGTERM');
      assert.equal((await done).code, 0);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  /**
   * Serves on `dataDir`, registers alice, bob and carol, sends 40 messages, lets bob ack 10 and
   * lease 5 (carol never pulls), then sends a burst with SIGTERM in the middle.
   */
  async function trafficThenSigterm(dataDir: string, env: Record<string, string> = {}): Promise<{ accepted: Set<string>; acked: Set<string>; stderr: string }> {
    const child = cli(['serve', '--port', '0', '--json', '--data-dir', dataDir, '--log-level', 'warn'], env);
    const done = exited(child);
    try {
      const { url } = JSON.parse(await firstLine(child)) as { url: string };
      const post = (p: string, body: unknown) => fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      for (const agentId of ['alice', 'bob', 'carol']) assert.equal((await post('/v1/agents', { agentId, tenantId: 'acme' })).status, 201);

      const accepted = new Set<string>();
      const sendOne = async (to: string, i: number) => {
        const res = await post('/v1/messages', { fromAgent: 'alice', toAgent: to, tenantId: 'acme', constitutionalHash: HASH, content: { i } });
        if (res.status === 200) accepted.add(((await res.json()) as { messageId: string }).messageId);
      };
      for (let i = 0; i < 40; i++) await sendOne(i % 2 === 0 ? 'bob' : 'carol', i);
      // bob pulls 10 and acks them, pulls 5 more and leaves them leased; carol never pulls.
      const acked = new Set<string>();
      const first = (await (await fetch(`${url}/v1/agents/bob/messages?max=10`)).json()) as { deliveries: Array<{ deliveryId: number; message: { messageId: string } }> };
      assert.equal(first.deliveries.length, 10);
      await post('/v1/agents/bob/acks', { deliveryIds: first.deliveries.map((d) => d.deliveryId) });
      first.deliveries.forEach((d) => acked.add(d.message.messageId));
      const leased = (await (await fetch(`${url}/v1/agents/bob/messages?max=5`)).json()) as { deliveries: unknown[] };
      assert.equal(leased.deliveries.length, 5);

      // A burst of sends with SIGTERM in the middle: some are accepted, some refused; none may vanish.
      const burst: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        burst.push(sendOne(i % 2 === 0 ? 'bob' : 'carol', 1000 + i).catch(() => undefined));
        if (i === 100) child.kill('SIGTERM');
      }
      await Promise.all(burst);
      const { code, stderr } = await done;
      assert.equal(code, 0, stderr);
      assert.ok(accepted.size >= 40, `accepted ${accepted.size}`);
      return { accepted, acked, stderr };
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }

  // With the ledger (the default), a stop keeps those messages for the next start: test/chaos/session-crash.test.ts.
  it('graceful shutdown without the delivery ledger loses nothing accepted: every accepted message was acknowledged or is in the spool file', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'agent-bus-stop-'));
    try {
      const { accepted, acked, stderr } = await trafficThenSigterm(dataDir, { AGENT_BUS_DELIVERY_LEDGER: 'false' });

      const spooled = new Set<string>();
      for (const file of readdirSync(dataDir).filter((f) => f.startsWith('undelivered-'))) {
        for (const line of readFileSync(path.join(dataDir, file), 'utf8').split('\n').filter(Boolean)) {
          const entry = JSON.parse(line) as { agentId: string; message: { messageId: string } };
          spooled.add(entry.message.messageId);
        }
      }
      const lost = [...accepted].filter((id) => !acked.has(id) && !spooled.has(id));
      assert.deepEqual(lost, [], 'every accepted, unacknowledged message is reported in the spool');
      assert.equal(spooled.size, accepted.size - acked.size);
      assert.match(stderr, /written to the spool file/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
