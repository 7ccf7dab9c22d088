import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DeliberationService, FileDeliberationStore, ItemStatus, ManualClock } from '../../src/deliberation/index.js';
import { holdOne, settle, tmpDir } from './helpers.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});
const policies = [{ id: 'one', requiredRoles: [], minApprovers: 1 }];

function lines(dir: string): number {
  return fs.readFileSync(path.join(dir, 'items.log'), 'utf8').split('\n').filter((l) => l.length > 0).length;
}

describe('file store specifics', () => {
  it('compacts the log to the items in service and reopens to the same state', async () => {
    const dir = tmpDir('compact');
    dirs.push(dir);
    const clock = new ManualClock();
    const s = await DeliberationService.open({ dataDir: dir, clock, policies, fileStore: { compactMinLines: 40, compactRatio: 2 }, retainFinished: 5 });
    s.onRelease(() => {});
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await holdOne(s, {}, { details: { approvalPolicy: 'one' } }));
    for (const id of ids.slice(0, 15)) assert.ok(s.approve(id, { reviewerId: 'alice', reason: 'ok' }).ok);
    await settle();
    const st = s.stats().store;
    assert.ok(Number(st.compactions) >= 1, 'compacted');
    assert.ok(lines(dir) <= 2 * s.stats().items + 40);
    const before = new Map(ids.map((id) => [id, s.get(id)?.status]));
    await s.close();

    const again = await DeliberationService.open({ dataDir: dir, clock, policies });
    for (const id of ids.slice(15)) assert.equal(again.get(id)!.status, ItemStatus.PENDING);
    for (const id of ids) {
      const now = again.get(id)?.status;
      // finished items evicted from memory may still be in the log until the next compaction
      if (before.get(id) === undefined) assert.ok(now === undefined || now === ItemStatus.RELEASED);
      else assert.equal(now, before.get(id));
    }
    assert.ok(again.stats().items >= 5 + 5, 'open items and the retained finished ones');
    await again.close();
  });

  it('a torn last line is skipped, counted and cut off; appends continue cleanly', async () => {
    const dir = tmpDir('torn');
    dirs.push(dir);
    const s = await DeliberationService.open({ dataDir: dir, clock: new ManualClock(), policies });
    const id = await holdOne(s, {}, { details: { approvalPolicy: 'one' } });
    await s.close();
    fs.appendFileSync(path.join(dir, 'items.log'), '{"id":"half-writ');
    const store = FileDeliberationStore.open(dir);
    assert.equal(store.skippedLines, 1);
    const again = await DeliberationService.open({ store, clock: new ManualClock(), policies });
    assert.equal(again.get(id)!.status, ItemStatus.PENDING);
    assert.ok(again.approve(id, { reviewerId: 'alice', reason: 'ok' }).ok);
    await again.close();
    await store.close();
    const third = FileDeliberationStore.open(dir);
    assert.equal(third.skippedLines, 0);
    const items = await third.load();
    assert.equal(items[0]!.status, ItemStatus.APPROVED);
    await third.close();
  });

  it('one process at a time: a second open of a live store is refused', async () => {
    const dir = tmpDir('lock');
    dirs.push(dir);
    const a = FileDeliberationStore.open(dir);
    assert.throws(() => FileDeliberationStore.open(dir), /already open in this process/);
    fs.writeFileSync(path.join(dir, 'LOCK'), String(process.ppid)); // a live foreign pid
    assert.throws(() => FileDeliberationStore.open(dir), /in use by process/);
    fs.writeFileSync(path.join(dir, 'LOCK'), String(process.pid));
    await a.close();
    assert.equal(fs.existsSync(path.join(dir, 'LOCK')), false);
    const b = FileDeliberationStore.open(dir);
    await b.close();
  });
});
