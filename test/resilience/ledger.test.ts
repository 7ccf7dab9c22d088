import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { AgentBus, type AgentMessage } from '../../src/index.js';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';

const msg = (to: string, i: number) => ({ fromAgent: 'alice', toAgent: to, tenantId: 'acme', constitutionalHash: CONSTITUTIONAL_HASH, content: { i } });

async function bus(dir: string): Promise<AgentBus> {
  const b = new AgentBus({ policy: false, impact: false, metering: false, deliberation: false, deliveryLedger: { dir }, drainTimeoutMs: 100 });
  await b.start();
  for (const agentId of ['alice', 'bob', 'carol']) await b.registerAgent({ agentId, tenantId: 'acme' });
  return b;
}

it('the delivery ledger gives back, after a crash, exactly the accepted messages not yet handled or taken', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eab-ledger-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = await bus(dir);
  const handledFirst: number[] = [];
  let failing = false;
  first.subscribe('carol', (m: AgentMessage) => {
    if (failing) return new Promise(() => undefined); // still in the handler when the process dies
    handledFirst.push((m.content as { i: number }).i);
    return undefined;
  });
  for (let i = 0; i < 6; i++) assert.equal((await first.send(msg('bob', i))).ok, true);
  for (let i = 0; i < 3; i++) assert.equal((await first.send(msg('carol', i))).ok, true);
  failing = true;
  for (let i = 3; i < 5; i++) assert.equal((await first.send(msg('carol', i))).ok, true);
  const taken = [await first.receive('bob'), await first.receive('bob')].map((m) => (m!.content as { i: number }).i);
  assert.deepEqual(taken, [0, 1]);
  // "Crash": the first bus is abandoned without stop(); only what reached the file counts.

  const second = await bus(dir);
  t.after(() => second.stop());
  const again: number[] = [];
  for (let m = await second.receive('bob'); m !== null; m = await second.receive('bob')) again.push((m.content as { i: number }).i);
  assert.deepEqual(again, [2, 3, 4, 5], 'the untaken ones, not the taken ones');
  const carol: number[] = [];
  second.subscribe('carol', (m: AgentMessage) => void carol.push((m.content as { i: number }).i));
  assert.deepEqual(carol, [3, 4], 'only the ones whose handler had not settled');
  assert.deepEqual(handledFirst, [0, 1, 2]);
  await first.stop().catch(() => undefined);
});
