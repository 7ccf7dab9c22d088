/** A start() that fails part-way closes what it had opened: the journal's lock and the deliberation store are free again. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { AgentBus } from '../../src/index.js';

it('a delivery ledger that cannot open: start() rejects, and a bus on the same data directory then starts', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eab-startup-failure-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const blocked = path.join(dataDir, 'blocked');
  writeFileSync(blocked, 'a file where the ledger needs a directory');
  const options = { dataDir, policy: false, impact: false } as const;

  const first = new AgentBus({ ...options, deliveryLedger: { dir: path.join(blocked, 'ledger') } });
  await assert.rejects(first.start(), /ENOTDIR|EEXIST/);
  assert.equal(first.isRunning, false);

  mkdirSync(path.join(dataDir, 'ledger'));
  const second = new AgentBus({ ...options, deliveryLedger: { dir: path.join(dataDir, 'ledger') } });
  await second.start();
  assert.equal(second.isRunning, true, 'the journal in the data directory was released by the failed start');
  await second.stop();
});
