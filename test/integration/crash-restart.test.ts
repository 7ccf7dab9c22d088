/**
 * Issue #4's crash test, end to end through the bus: a child process holding pending items is
 * killed with SIGKILL; a new bus on the same data directory has them all, an approval delivers
 * the message exactly once, and a further restart does not deliver it again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { AgentBus, messageDigest, type AgentMessage } from '../../src/index.js';

const root = new URL('../../', import.meta.url);

async function holdInChild(dataDir: string, count: number): Promise<Array<{ deliberationId: string; messageId: string }>> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/integration/fixtures/holder.ts', dataDir, String(count)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const held: Array<{ deliberationId: string; messageId: string }> = [];
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'ready') break;
    held.push(JSON.parse(line) as { deliberationId: string; messageId: string });
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  assert.equal(await exited, null);
  return held;
}

async function restartedBus(dataDir: string, seen: AgentMessage[]): Promise<AgentBus> {
  const bus = new AgentBus({ dataDir, metering: false });
  await bus.start();
  await bus.registerAgent({ agentId: 'planner', tenantId: 'acme' });
  await bus.registerAgent({ agentId: 'worker', tenantId: 'acme' });
  bus.subscribe('worker', (m) => void seen.push(m));
  return bus;
}

it('held messages survive SIGKILL; after a restart an approval delivers exactly once', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eab-crash-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const held = await holdInChild(dataDir, 5);
  assert.equal(held.length, 5);

  const seen: AgentMessage[] = [];
  const bus = await restartedBus(dataDir, seen);
  for (const h of held) assert.equal(bus.deliberation!.get(h.deliberationId)?.status, 'pending', `item ${h.deliberationId} survived`);
  const target = held[2]!;
  const item = bus.deliberation!.get(target.deliberationId)!;
  for (const [reviewerId, role] of [['lead', 'engineering_lead'], ['sec', 'security_team'], ['oncall', 'on_call']] as const) {
    const d = bus.deliberation!.approve(target.deliberationId, { reviewerId, roles: [role], reason: 'approved after restart', messageDigest: messageDigest(item.message) });
    assert.equal(d.ok, true, JSON.stringify(d));
  }
  const end = Date.now() + 3000;
  while (seen.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(seen.map((m) => m.messageId), [target.messageId]);
  await bus.stop();

  const again: AgentMessage[] = [];
  const second = await restartedBus(dataDir, again);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(again.length, 0, 'not delivered again after another restart');
  assert.equal(second.deliberation!.get(target.deliberationId)?.status, 'released');
  assert.equal(second.deliberation!.list({ status: 'pending' }).items.length, 4);
  await second.stop();
});
