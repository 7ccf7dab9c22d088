/**
 * The handler-timeout sweep and process liveness: a sender awaiting a delivery outcome
 * (`awaitDelivery`) to a hung handler gets its TIMEOUT even when nothing else keeps the process
 * alive, and a bus with no awaited outcome pending (stopped, or only fire-and-forget sends to a
 * hung handler) does not hold the process open. The process-level cases run in a child that has
 * nothing but the bus (test/core/fixtures/hung-handler-child.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DeliveryManager } from '../../src/delivery/manager.js';
import type { DeliveryOutcome } from '../../src/delivery/mailbox.js';
import { makeMessage } from '../deliberation/helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CHILD = path.join(here, 'fixtures', 'hung-handler-child.ts');
/** Generous: the child loads tsx and the bus on a shared 2-core machine. */
const CHILD_DEADLINE_MS = 60_000;

interface ChildRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  report: { scenario: string; status?: string; ok?: boolean; code?: string; failures?: DeliveryOutcome[]; sendMs: number } | undefined;
  /** From the child's report line to its exit (ms). */
  exitAfterReportMs: number | undefined;
  stderr: string;
}

function runChild(scenario: string): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, scenario], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let reportedAt: number | undefined;
    const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_DEADLINE_MS);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (reportedAt === undefined && out.includes('\n')) reportedAt = Date.now();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      const line = out.split('\n')[0];
      resolve({
        code,
        signal,
        report: line ? (JSON.parse(line) as ChildRun['report']) : undefined,
        exitAfterReportMs: reportedAt === undefined ? undefined : Date.now() - reportedAt,
        stderr,
      });
    });
  });
}

function assertTimedOut(run: ChildRun, minSendMs: number): void {
  assert.equal(run.signal, null, `child was killed (still alive after ${CHILD_DEADLINE_MS} ms): ${run.stderr}`);
  assert.equal(run.code, 0, `child exit code ${run.code} (13 = unsettled top-level await): ${run.stderr}`);
  const r = run.report;
  assert.ok(r !== undefined, 'the child printed its result');
  assert.equal(r.status, 'delivered');
  assert.equal(r.ok, false);
  assert.equal(r.code, 'TIMEOUT');
  assert.deepEqual(r.failures?.map((f) => [f.agentId, f.code]), [['hung', 'TIMEOUT']]);
  assert.ok(r.sendMs >= minSendMs, `TIMEOUT after ${r.sendMs} ms, not before the handler timeout`);
}

function assertExitsOnItsOwn(run: ChildRun): void {
  assert.equal(run.signal, null, `child was killed (still alive after ${CHILD_DEADLINE_MS} ms): ${run.stderr}`);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(run.exitAfterReportMs !== undefined, 'the child printed its line');
  assert.ok(run.exitAfterReportMs < 5_000, `exited ${run.exitAfterReportMs} ms after its last line`);
}

describe('handler timeout keeps an awaiting process alive (child processes)', () => {
  it('await bus.send(..., { awaitDelivery: true }) to a hung handler as the last thing: TIMEOUT, exit 0', async () => {
    const run = await runChild('await');
    assertTimedOut(run, 90);
    assert.ok(run.exitAfterReportMs! < 5_000, 'and the process exits once it has its answer');
  });

  it('an awaited send queued behind a fire-and-forget send to a hung handler: TIMEOUT of both, exit 0', async () => {
    assertTimedOut(await runChild('queued'), 190);
  });

  it('await bus.broadcast(..., { awaitDelivery: true }) reaching a hung handler: TIMEOUT, exit 0', async () => {
    assertTimedOut(await runChild('broadcast'), 90);
  });

  it('bus.request to a hung handler: a TIMEOUT result, exit 0', async () => {
    const run = await runChild('request');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.report?.code, 'TIMEOUT');
  });

  it('an awaited send queued for a subscriber paused by its breaker: delivered after the reset, exit 0', async () => {
    const run = await runChild('paused');
    assert.equal(run.signal, null, `child was killed (still alive after ${CHILD_DEADLINE_MS} ms): ${run.stderr}`);
    assert.equal(run.code, 0, `child exit code ${run.code} (13 = unsettled top-level await): ${run.stderr}`);
    assert.equal(run.report?.status, 'delivered');
    assert.equal(run.report?.ok, true);
    assert.ok(run.report.sendMs >= 250, `delivered after ${run.report.sendMs} ms, not before the breaker's reset`);
  });

  it('a started-then-stopped bus does not keep the process alive', async () => {
    assertExitsOnItsOwn(await runChild('stopped'));
  });

  it('a running bus with only fire-and-forget sends to a hung handler does not keep the process alive', async () => {
    assertExitsOnItsOwn(await runChild('fire-forget'));
  });
});

describe('DeliveryManager: awaited outcomes and the sweep timer', () => {
  const hung = () => new Promise<never>(() => {});

  it('the sweep is ref\'d only while an awaited delivery is unsettled', () => {
    const realNow = Date.now;
    let now = realNow();
    Date.now = () => now; // deadlines are Date.now() + handlerTimeoutMs
    const m = new DeliveryManager({ handlerTimeoutMs: 100 });
    try {
      m.subscribe('b', 'tenant-a', hung);
      const box = m.mailbox('b', 'tenant-a');
      assert.equal(box.offer(makeMessage(), undefined), undefined);
      assert.equal(m.stats().asyncInFlight, 1);
      assert.equal(m.awaitedOutcomes, 0);
      assert.equal(m.sweepKeepsAlive, false, 'fire-and-forget: unref\'d');

      const outcomes: DeliveryOutcome[] = [];
      assert.equal(box.offer(makeMessage(), (o) => outcomes.push(o)), undefined); // queued behind the hung one
      assert.equal(m.awaitedOutcomes, 1);
      assert.equal(m.sweepKeepsAlive, true, 'an awaited delivery waits behind a hung handler');

      now += 100;
      m.sweep(); // the first times out; the awaited one enters the handler and hangs
      assert.equal(outcomes.length, 0);
      assert.equal(m.stats().asyncInFlight, 1);
      assert.equal(m.sweepKeepsAlive, true);

      now += 100;
      m.sweep();
      assert.deepEqual(outcomes.map((o) => o.code), ['TIMEOUT']);
      assert.equal(m.awaitedOutcomes, 0);
      assert.equal(m.stats().asyncInFlight, 0);
      assert.equal(m.sweepKeepsAlive, false, 'no handler in flight: no timer');
    } finally {
      Date.now = realNow;
      m.close();
    }
  });

  it('the awaited count drops when the outcome is settled, refused or handed to a pull receiver', async () => {
    const m = new DeliveryManager({ handlerTimeoutMs: 100, inboxCapacity: 1 });
    try {
      // pull mailbox: the hand-over to the inbox is the outcome
      const pull = m.mailbox('p', 'tenant-a');
      const got: DeliveryOutcome[] = [];
      assert.equal(pull.offer(makeMessage(), (o) => got.push(o)), undefined);
      assert.deepEqual(got.map((o) => o.ok), [true]);
      assert.equal(m.awaitedOutcomes, 0);
      // full inbox: refused, nothing awaited
      assert.equal(pull.offer(makeMessage(), (o) => got.push(o)), 'BACKPRESSURE');
      assert.equal(got.length, 1);
      assert.equal(m.awaitedOutcomes, 0);

      // a handler that settles
      let finish!: () => void;
      m.subscribe('s', 'tenant-a', () => new Promise<void>((r) => (finish = r)));
      const push = m.mailbox('s', 'tenant-a');
      assert.equal(push.offer(makeMessage(), (o) => got.push(o)), undefined);
      assert.equal(m.awaitedOutcomes, 1);
      assert.equal(m.sweepKeepsAlive, true);
      finish();
      await new Promise((r) => setImmediate(r));
      assert.equal(got.length, 2);
      assert.equal(got[1]!.ok, true);
      assert.equal(m.awaitedOutcomes, 0);
      assert.equal(m.sweepKeepsAlive, false);

      // queued for a subscriber, then the agent leaves: UNKNOWN_RECIPIENT settles it
      m.subscribe('q', 'tenant-a', hung);
      const q = m.mailbox('q', 'tenant-a');
      q.offer(makeMessage(), undefined);
      assert.equal(q.offer(makeMessage(), (o) => got.push(o)), undefined);
      assert.equal(m.awaitedOutcomes, 1);
      m.remove('q');
      assert.equal(got[2]!.code, 'UNKNOWN_RECIPIENT');
      assert.equal(m.awaitedOutcomes, 0);
      assert.equal(m.sweepKeepsAlive, false);
    } finally {
      m.close();
    }
  });
});
