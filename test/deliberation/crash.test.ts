import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DeliberationService, ItemStatus, type DeliberationItem } from '../../src/deliberation/index.js';
import { settle, tmpDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function runChildUntilReady(dir: string, count: number): Promise<{ ids: string[]; exit: Promise<NodeJS.Signals | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures', 'crash-child.ts'), dir, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        const { ids } = JSON.parse(out.slice(0, nl)) as { ids: string[] };
        child.kill('SIGKILL');
        resolve({ ids, exit });
      }
    });
    child.on('exit', (code) => {
      if (!out.includes('\n')) reject(new Error(`child exited (${code}) before holding: ${err}`));
    });
  });
}

describe('crash safety of the file store', () => {
  it('survives SIGKILL: every held item is back, releases happen exactly once across restarts', async () => {
    const dir = tmpDir('crash');
    dirs.push(dir);
    const N = 200;
    const { ids, exit } = await runChildUntilReady(dir, N);
    assert.equal(await exit, 'SIGKILL');
    assert.ok(fs.existsSync(path.join(dir, 'LOCK')), 'the killed process left its lock behind');

    // first restart: the stale lock is taken over, every item is there
    const released: DeliberationItem[] = [];
    const first = await DeliberationService.open({ dataDir: dir });
    for (const id of ids) assert.ok(first.get(id) !== undefined, `item ${id} survived`);
    assert.equal(first.get(ids[0]!)!.status, ItemStatus.APPROVED, 'approved before the crash, not yet released');
    assert.equal(first.list({ status: ItemStatus.PENDING, limit: 1000 }).items.length, N - 1);
    first.onRelease((item) => {
      released.push(item);
    });
    await settle();
    assert.deepEqual(released.map((i) => i.id), [ids[0]], 'the approved-but-not-released item is released at start-up');

    const r = first.approve(ids[1]!, { reviewerId: 'reviewer-after-crash', reason: 'ok' });
    assert.ok(r.ok);
    await settle();
    assert.deepEqual(released.map((i) => i.id), [ids[0], ids[1]]);
    assert.equal(released[1]!.message.messageId, 'crash-1');
    await first.close();

    // second restart: nothing is released again
    const second = await DeliberationService.open({ dataDir: dir });
    const again: string[] = [];
    second.onRelease((item) => {
      again.push(item.id);
    });
    await settle();
    assert.deepEqual(again, []);
    assert.equal(second.get(ids[0]!)!.status, ItemStatus.RELEASED);
    assert.equal(second.get(ids[1]!)!.status, ItemStatus.RELEASED);
    assert.equal(second.stats().byStatus.pending, N - 2);
    const late = second.approve(ids[1]!, { reviewerId: 'someone', reason: 'again' });
    assert.equal(late.ok, false);
    await second.close();
  });
});
