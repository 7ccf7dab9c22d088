/**
 * The delivery ledger with subscribers that settle explicitly (`subscribe(..., { settle: 'explicit' })`
 * and `ctx.settle(messageId)`), idempotent leave lines, and compaction while running.
 */
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { DeliveryLedger } from '../../src/delivery/ledger.js';
import { AgentBus, BusError, ErrorCode, type AgentMessage, type DeliveryContext } from '../../src/index.js';
import { CORE_ONLY, msg, register } from '../helpers/core.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eab-ledger-settle-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A bus on `dir`; a "crash" is abandoning it without stop() (stopped only when the test ends). */
async function ledgerBus(t: TestContext, dir: string, compactAfterBytes?: number): Promise<AgentBus> {
  const bus = new AgentBus({ ...CORE_ONLY, metering: false, deliberation: false, drainTimeoutMs: 50, deliveryLedger: { dir, compactAfterBytes } });
  await bus.start();
  t.after(() => bus.stop());
  await register(bus, 'alice', 'bob');
  return bus;
}

const n = (m: AgentMessage) => (m.content as { n: number }).n;

describe('explicit settle', () => {
  it('a message handed to an explicit-settle subscriber stays open in the ledger until ctx.settle, whatever the handler did', async (t) => {
    const dir = tempDir(t);
    const first = await ledgerBus(t, dir);
    const taken: Array<{ message: AgentMessage; ctx: DeliveryContext }> = [];
    first.subscribe(
      'bob',
      (message: AgentMessage, ctx: DeliveryContext) => {
        taken.push({ message, ctx });
        if (n(message) === 3) throw new Error('the subscriber failed, but it owns the message');
      },
      { settle: 'explicit' },
    );
    for (let i = 0; i < 5; i++) assert.equal((await first.send(msg('alice', 'bob', { content: { n: i } }))).ok, true);
    assert.equal(taken.length, 5, 'the handler returned at once for each: the mailbox is not held up');
    assert.deepEqual(first.deliveryLedger()!.open, 5, 'handled, but none settled yet');
    assert.equal(first.deliveryLedger()!.done, 0);

    taken[0]!.ctx.settle(taken[0]!.message.messageId);
    taken[2]!.ctx.settle(taken[2]!.message.messageId);
    taken[2]!.ctx.settle(taken[2]!.message.messageId); // idempotent: one leave line
    const stats = first.deliveryLedger()!;
    assert.equal(stats.done, 2);
    assert.equal(stats.open, 3);
    await null; // the lines of one synchronous run go out together, from a microtask
    const lines = readFileSync(path.join(dir, 'deliveries.jsonl'), 'utf8').split('\n').filter(Boolean);
    assert.equal(lines.filter((l) => l.startsWith('{"d":')).length, 2);

    // Crash: the unsettled ones come back, marked as redelivered; the settled ones do not.
    const second = await ledgerBus(t, dir);
    assert.equal(second.deliveryLedger()!.recovered, 3);
    const again: Array<{ n: number; redelivered: boolean }> = [];
    second.subscribe('bob', (m: AgentMessage, ctx: DeliveryContext) => void again.push({ n: n(m), redelivered: ctx.redelivered }));
    assert.deepEqual(again, [1, 3, 4].map((i) => ({ n: i, redelivered: true })));
    // A handler-settled subscriber: its handler's return is the ack.
    const third = await ledgerBus(t, dir);
    assert.equal(third.deliveryLedger()!.recovered, 0);
  });

  it('a fresh message is not marked redelivered, and the handler-settled default writes the leave line when the handler settles', async (t) => {
    const dir = tempDir(t);
    const bus = await ledgerBus(t, dir);
    let seen: DeliveryContext | undefined;
    let release!: () => void;
    bus.subscribe('bob', (_m: AgentMessage, ctx: DeliveryContext) => {
      seen = ctx;
      return new Promise<void>((r) => (release = r));
    });
    await bus.send(msg('alice', 'bob'));
    assert.equal(seen!.redelivered, false);
    assert.equal(bus.deliveryLedger()!.open, 1);
    release();
    await new Promise((r) => setImmediate(r));
    assert.equal(bus.deliveryLedger()!.open, 0);
    assert.equal(bus.deliveryLedger()!.done, 1);
  });

  it('refuses an unknown settle mode, and ctx.settle is a no-op without a ledger', async (t) => {
    const bus = new AgentBus({ ...CORE_ONLY, metering: false });
    await bus.start();
    t.after(() => bus.stop());
    await register(bus, 'alice', 'bob');
    assert.throws(
      () => bus.subscribe('bob', () => undefined, { settle: 'later' as never }),
      (e) => e instanceof BusError && e.code === ErrorCode.INVALID_ARGUMENT,
    );
    let ctx: DeliveryContext | undefined;
    bus.subscribe('bob', (_m: AgentMessage, c: DeliveryContext) => void (ctx = c), { settle: 'explicit' });
    const r = await bus.send(msg('alice', 'bob'));
    assert.equal(r.ok, true);
    ctx!.settle(r.messageId);
    assert.equal(bus.deliveryLedger(), undefined);
    assert.throws(() => new AgentBus({ deliveryLedger: { dir: '/tmp/x', compactAfterBytes: 10 } }), (e) => e instanceof BusError && e.code === ErrorCode.INVALID_OPTIONS);
  });
});

describe('ledger compaction', () => {
  it('compacts while running once enough was appended, keeping exactly the open entries (and those awaiting their agent)', async (t) => {
    const dir = tempDir(t);
    const message = (id: string): AgentMessage => ({ messageId: id, tenantId: 'acme', fromAgent: 'alice', toAgent: 'bob', content: { pad: 'x'.repeat(200) } }) as unknown as AgentMessage;

    // One entry left over from a previous process, for an agent that has not come back.
    const before = DeliveryLedger.open(dir);
    before.accepted('carol', 'acme', message('old-1'));
    before.close();

    const ledger = DeliveryLedger.open(dir, { compactAfterBytes: 4096 });
    t.after(() => ledger.close());
    assert.equal(ledger.stats().awaitingAgent, 1);
    for (let i = 0; i < 500; i++) {
      ledger.accepted('bob', 'acme', message(`m-${i}`));
      if (i % 10 !== 0) ledger.done('bob', `m-${i}`);
    }
    ledger.done('bob', 'never-accepted'); // nothing open: nothing written
    const stats = ledger.stats();
    assert.ok(stats.compactions >= 5, `compactions ${stats.compactions}`);
    assert.equal(stats.compactionErrors, 0);
    assert.equal(stats.open, 50);
    assert.equal(stats.done, 450);
    await null; // the last lines of the synchronous run go out from a microtask
    const size = statSync(path.join(dir, 'deliveries.jsonl')).size;
    assert.ok(size < 3 * 4096 + 50 * 400, `file size ${size} stays bounded (wrote ${stats.bytes} bytes)`);

    // What a crash now would give back: the 50 open ones and carol's.
    const after = DeliveryLedger.open(dir);
    t.after(() => after.close());
    assert.equal(after.stats().recovered, 51);
    assert.deepEqual(
      after.takePending('bob', 'acme').map((m) => m.messageId),
      Array.from({ length: 50 }, (_, k) => `m-${k * 10}`),
    );
    assert.deepEqual(after.takePending('carol', 'other-tenant'), []);
    assert.deepEqual(after.takePending('carol', 'acme').map((m) => m.messageId), ['old-1']);
    assert.equal(after.stats().open, 51, 'given back: open again in this process');
  });
});

describe('ledger writes', () => {
  it('lines of one synchronous run go out in one write, before an awaiting sender resumes', async (t) => {
    const dir = tempDir(t);
    const bus = await ledgerBus(t, dir);
    bus.subscribe('bob', () => undefined, { settle: 'explicit' });
    const file = path.join(dir, 'deliveries.jsonl');
    const writesBefore = bus.deliveryLedger()!.writes;
    const sends = Array.from({ length: 20 }, (_, i) => bus.send(msg('alice', 'bob', { content: { n: i } })));
    const results = await Promise.all(sends);
    assert.ok(results.every((r) => r.ok));
    // By the time the senders resume, every accepted line is in the file.
    const accepted = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{"a":'));
    assert.ok(accepted.length >= 20, `accepted lines ${accepted.length}`);
    const writes = bus.deliveryLedger()!.writes - writesBefore;
    assert.ok(writes <= 2, `20 sends in one run took ${writes} writes`);
  });

  it('a failing write is counted and retried with the next lines; the process does not crash', async (t) => {
    const dir = tempDir(t);
    const ledger = DeliveryLedger.open(dir);
    const message = (id: string): AgentMessage => ({ messageId: id, tenantId: 'acme', fromAgent: 'alice', toAgent: 'bob', content: {} }) as unknown as AgentMessage;
    const fd = (ledger as unknown as { fd: number }).fd;
    // Swap the file descriptor for one opened read-only: write(2) fails with EBADF.
    const readOnly = openSync(path.join(dir, 'deliveries.jsonl'), 'r');
    (ledger as unknown as { fd: number }).fd = readOnly;
    ledger.accepted('bob', 'acme', message('m-1'));
    await null;
    assert.equal(ledger.stats().writeErrors, 1);
    (ledger as unknown as { fd: number }).fd = fd;
    closeSync(readOnly);
    ledger.accepted('bob', 'acme', message('m-2'));
    await null;
    ledger.close();
    const reopened = DeliveryLedger.open(dir);
    t.after(() => reopened.close());
    assert.deepEqual(reopened.takePending('bob', 'acme').map((m) => m.messageId), ['m-1', 'm-2']);
  });
});
