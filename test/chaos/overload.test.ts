/**
 * (d) Overload at 3× the subscriber's capacity: lower priorities are shed at the inbox watermarks
 * (BACKPRESSURE, journaled), CRITICAL messages are never shed and, with a reserved handler slot,
 * their p99 latency stays within 2× its unloaded value; every message is accounted for.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AgentBus, type AgentMessage, type DecisionRecord, type SendResult } from '../../src/index.js';
import { figures, HASH, sleep, until } from './helpers.js';

const TICK_MS = 2;
const ROUNDS = 3;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function p(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * q))] ?? 0;
}

it('(d) overload at 3x capacity: CRITICAL p99 within 2x unloaded, shed traffic all accounted for', async (t) => {
  // Counted, not kept: the loaded phase should not turn into a garbage-collection benchmark.
  const journaled = { rejected: 0, backpressure: 0 };
  const bus = new AgentBus({
    impact: false,
    metering: false,
    deliberation: false,
    inboxCapacity: 400,
    journal: {
      append: (r: DecisionRecord) => {
        if (r.type === 'message.rejected') {
          journaled.rejected++;
          if (r.code === 'BACKPRESSURE') journaled.backpressure++;
        }
        return true;
      },
    },
    resilience: { shedding: { inboxWatermarks: [0.25, 0.5, 0.75] } },
  });
  await bus.start();
  t.after(() => bus.stop());
  await bus.registerAgent({ agentId: 'producer', tenantId: 'acme' });
  await bus.registerAgent({ agentId: 'worker', tenantId: 'acme' });
  const criticalLatency: number[] = [];
  let handled = 0;
  bus.subscribe(
    'worker',
    async (m: AgentMessage) => {
      await sleep(1); // the work: ~1 ms of waiting per message
      handled++;
      if (m.priority === 3) criticalLatency.push(performance.now() - (m.content as { at: number }).at);
    },
    { concurrency: 2, criticalReserve: 2 },
  );
  const send = (priority: number) => bus.send({ fromAgent: 'producer', toAgent: 'worker', tenantId: 'acme', constitutionalHash: HASH, priority: priority as 0 | 1 | 2 | 3, content: { at: performance.now() } });

  /** Paced load: `perSecond` messages a second for `ms`, priorities drawn from `mix`; outcomes counted per priority. */
  const load = async (perSecond: number, ms: number, mix: readonly number[]) => {
    const tally = { sent: 0, accepted: 0, refused: [0, 0, 0, 0], codes: {} as Record<string, number> };
    const settle = (priority: number) => (r: SendResult) => {
      if (r.ok) tally.accepted++;
      else {
        tally.refused[priority]!++;
        tally.codes[r.code!] = (tally.codes[r.code!] ?? 0) + 1;
      }
    };
    const pending: Promise<void>[] = [];
    const perTick = perSecond / (1000 / TICK_MS);
    let owed = 0;
    let k = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      owed += perTick;
      for (; owed >= 1; owed--) {
        const priority = mix[k++ % mix.length]!;
        tally.sent++;
        pending.push(send(priority).then(settle(priority)));
      }
      await sleep(TICK_MS);
    }
    await Promise.all(pending);
    return tally;
  };

  // Capacity: what the worker handles per second with its inbox kept full.
  const c0 = handled;
  const t0 = performance.now();
  await load(4000, 1500, [1]);
  const capacity = Math.round(((handled - c0) * 1000) / (performance.now() - t0));
  await until(() => bus.pending('worker') === 0, 5000, 'drain');
  assert.ok(capacity > 50, `capacity ${capacity}/s`);

  // Rounds of unloaded (CRITICAL alone at 10 % of capacity) then loaded (3x capacity, 10 % CRITICAL,
  // the rest LOW / NORMAL / HIGH); medians over the rounds, since the machine is shared and noisy.
  const mix = [3, 0, 1, 2, 0, 1, 2, 0, 1, 2];
  const p99s = { unloaded: [] as number[], loaded: [] as number[] };
  const p50s = { unloaded: [] as number[], loaded: [] as number[] };
  const total = { sent: 0, accepted: 0, handled: 0, refused: [0, 0, 0, 0], codes: {} as Record<string, number>, journaled: 0 };
  for (let round = 0; round < ROUNDS; round++) {
    criticalLatency.length = 0;
    await load(capacity * 0.1, 1500, [3]);
    await until(() => bus.pending('worker') === 0, 5000, 'drain');
    await sleep(50);
    p99s.unloaded.push(p(criticalLatency, 0.99));
    p50s.unloaded.push(p(criticalLatency, 0.5));
    criticalLatency.length = 0;

    const journaledBefore = journaled.rejected;
    const handledBefore = handled;
    const tally = await load(capacity * 3, 2000, mix);
    await until(() => bus.pending('worker') === 0, 10_000, 'drain after the overload');
    await sleep(50);
    p99s.loaded.push(p(criticalLatency, 0.99));
    p50s.loaded.push(p(criticalLatency, 0.5));
    total.sent += tally.sent;
    total.accepted += tally.accepted;
    total.handled += handled - handledBefore;
    total.journaled += journaled.rejected - journaledBefore;
    tally.refused.forEach((n, i) => (total.refused[i]! += n));
    for (const [code, n] of Object.entries(tally.codes)) total.codes[code] = (total.codes[code] ?? 0) + n;
  }
  const { sent, accepted } = total;
  const refusedByPriority = total.refused;
  const refusedCount = refusedByPriority.reduce((a, b) => a + b, 0);
  const journaledRefusals = total.journaled;
  const p99Unloaded = median(p99s.unloaded);
  const p99Loaded = median(p99s.loaded);
  figures('d overload', {
    capacityPerSecond: capacity,
    offeredPerSecond: capacity * 3,
    sent,
    rounds: ROUNDS,
    delivered: total.handled,
    refusedByCode: total.codes,
    refusedByPriority: { LOW: refusedByPriority[0], NORMAL: refusedByPriority[1], HIGH: refusedByPriority[2], CRITICAL: refusedByPriority[3] },
    journaledRefusals,
    lost: sent - accepted - refusedCount,
    critical: {
      p50UnloadedMs: +median(p50s.unloaded).toFixed(2),
      p99UnloadedMs: +p99Unloaded.toFixed(2),
      p50LoadedMs: +median(p50s.loaded).toFixed(2),
      p99LoadedMs: +p99Loaded.toFixed(2),
      ratio: +(p99Loaded / p99Unloaded).toFixed(2),
      p99PerRound: { unloaded: p99s.unloaded.map((x) => +x.toFixed(2)), loaded: p99s.loaded.map((x) => +x.toFixed(2)) },
    },
  });
  assert.deepEqual(Object.keys(total.codes), ['BACKPRESSURE'], 'shed with BACKPRESSURE only');
  assert.equal(journaledRefusals, refusedCount, 'every shed message journaled');
  assert.equal(refusedByPriority[3], 0, 'no CRITICAL message shed');
  assert.equal(total.handled, accepted, 'every admitted message handled: sent = handled + shed');
  assert.ok(refusedCount > sent / 3, `overload really shed (${refusedCount} of ${sent})`);
  assert.ok(p99Loaded <= 2 * p99Unloaded, `CRITICAL p99 ${p99Loaded.toFixed(2)} ms loaded vs ${p99Unloaded.toFixed(2)} ms unloaded`);
});
