import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openJournal, readJournalTail, verifyJournal } from '../../src/journal/index.js';
import { readLinesForward } from '../../src/journal/files.js';
import { tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../..');
const writer = path.join(here, 'fixtures', 'crash-writer.ts');

/** Runs the writer until `killWhen` says so, SIGKILLs it, returns the last seq it reported sealed. */
async function runAndKill(dir: string, mode: 'torn' | 'continuous', killWhen: (line: string, sealed: number) => boolean): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, mode], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  let sealed = 0;
  let stderr = '';
  let buffered = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
  child.stdout.on('data', (data: Buffer) => {
    buffered += data.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('sealed ')) sealed = Math.max(sealed, Number(line.slice(7)));
      if (child.exitCode === null && child.signalCode === null && killWhen(line, sealed)) child.kill('SIGKILL');
    }
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    const signal = await exited;
    assert.equal(signal, 'SIGKILL', `writer ended without being killed: ${stderr}`);
    assert.ok(sealed > 0, `writer reported no sealed batch: ${stderr}`);
    return sealed;
  } finally {
    clearTimeout(timeout);
  }
}

/** Seqs of all records in file order; checks each record the writer made is the one it wrote (its messageId is m-<seq>). */
async function allSeqs(dir: string): Promise<number[]> {
  const report = await verifyJournal(dir);
  const seqs: number[] = [];
  for (const file of report.files) {
    for await (const line of readLinesForward(path.join(dir, file.name))) {
      const value = JSON.parse(line.bytes.toString('utf8')) as { seq?: number; type?: string; messageId?: string };
      if (typeof value.seq !== 'number') continue;
      seqs.push(value.seq);
      if (value.type !== 'journal.recovered' && value.messageId !== 'after-restart') assert.equal(value.messageId, `m-${value.seq}`);
    }
  }
  return seqs;
}

describe('journal: crash recovery with a real SIGKILL', () => {
  it('a kill in the middle of a batch write: torn tail reported and cut, complete records resealed, chain intact', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const sealedBeforeKill = await runAndKill(dir, 'torn', (line) => line === 'torn');

      const before = await verifyJournal(dir);
      assert.equal(before.ok, false, 'the crashed journal does not verify as it is');
      assert.deepEqual([...new Set(before.issues.map((i) => i.kind))].sort(), ['torn_tail', 'truncated']);

      const journal = await openJournal({ dir });
      const report = journal.openReport;
      assert.ok(report.tornTail !== null && report.tornTail.bytes > 0, JSON.stringify(report));
      assert.ok(report.unsealed.resealed > 0, 'the complete records of the torn batch are kept');
      assert.equal(report.unsealed.firstSeq, sealedBeforeKill + 1);
      assert.equal(report.unsealed.discarded, 0);
      assert.equal(report.staleLock, true, 'the dead writer left its lock');
      assert.ok(report.savedTo !== null && existsSync(path.join(dir, report.savedTo)), 'the cut bytes are kept aside');
      journal.append({ type: 'message.delivered', at: Date.now(), messageId: 'after-restart' });
      await journal.close();

      const after = await verifyJournal(dir);
      assert.equal(after.ok, true, JSON.stringify(after.issues));
      assert.equal(after.recoverySeals.length, 1);
      assert.equal(after.recoverySeals[0]!.resealed, report.unsealed.resealed);

      const seqs = await allSeqs(dir);
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'seqs are contiguous from 1');
      assert.ok(seqs.length >= sealedBeforeKill + report.unsealed.resealed + 2);
      const tail = await readJournalTail(dir, 2);
      assert.equal(tail[0]!.type, 'journal.recovered');
      assert.equal((tail[0]!['details'] as { resealed: number }).resealed, report.unsealed.resealed);
      assert.equal(tail[1]!['messageId'], 'after-restart');
    } finally {
      await cleanup();
    }
  });

  it('a kill at an arbitrary moment of continuous writing loses no sealed record', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      let armed = false;
      const sealedBeforeKill = await runAndKill(dir, 'continuous', (_line, sealed) => {
        if (sealed < 3000 || armed) return false;
        armed = true;
        return true;
      });
      const journal = await openJournal({ dir });
      const head = journal.openReport.head;
      await journal.close();
      assert.ok(head.seq >= sealedBeforeKill, `head ${head.seq} must cover the ${sealedBeforeKill} records reported sealed`);
      const after = await verifyJournal(dir);
      assert.equal(after.ok, true, JSON.stringify(after.issues));
      const seqs = await allSeqs(dir);
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1));
      assert.ok(seqs.length >= sealedBeforeKill);
    } finally {
      await cleanup();
    }
  });
});
