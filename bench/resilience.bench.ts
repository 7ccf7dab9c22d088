/**
 * What the resilience layer costs on the send path, beside the same pipeline without it, in one
 * process (rounds interleaved, medians):
 *   - a governed send (pin, schema, freshness, tenant, screen, Cedar policy, journal sink, push
 *     handler) with resilience on (policy + journal breakers closed, subscriber breaker, shedder
 *     idle, chaos disarmed) vs `resilience: false`;
 *   - one closed breaker's allow() + success() vs a bare call; the journal guard vs a bare sink.
 *   node --import tsx bench/resilience.bench.ts
 */
import { AgentBus, CONSTITUTIONAL_HASH, type AgentBusOptions, type DecisionRecord, type MessageInput } from '../src/index.js';
import type { GovernanceContext, GovernanceStage } from '../src/governance/stage.js';
import { PROCEED } from '../src/governance/verdict.js';
import type { AgentMessage } from '../src/message/schema.js';
import { BreakerRegistry, DependencyClass, guardJournal, guardPolicyStage } from '../src/resilience/index.js';
import { emit, median, nsPerOp, ratio, type BenchResult } from './lib.js';

const quick = process.env['BENCH_QUICK'] === '1';
const ROUNDS = quick ? 3 : 7;
const SEND_ROUNDS = quick ? 6 : 21;

const input: MessageInput = {
  fromAgent: 'planner',
  toAgent: 'worker',
  tenantId: 'acme',
  constitutionalHash: CONSTITUTIONAL_HASH,
  messageType: 'command',
  content: { action: 'summarise', document: 'quarterly-report-7', detail: 'short' },
};

async function newBus(resilience: boolean): Promise<AgentBus> {
  const sink = { append: (_r: DecisionRecord) => true };
  const options: AgentBusOptions = { impact: false, metering: false, deliberation: false, journal: sink, inboxCapacity: 1_000_000, timingSampleEvery: 1024 };
  if (!resilience) options.resilience = false;
  const bus = new AgentBus(options);
  await bus.start();
  await bus.registerAgent({ agentId: 'planner', tenantId: 'acme' });
  await bus.registerAgent({ agentId: 'worker', tenantId: 'acme' });
  bus.subscribe('worker', () => undefined);
  return bus;
}

async function governedSend(results: BenchResult[]): Promise<void> {
  const withR = await newBus(true);
  const without = await newBus(false);
  const on: number[] = [];
  const off: number[] = [];
  const opts = { rounds: 3, roundMs: 60, warmupMs: 50 };
  // Warm both (JIT, duplicate window, caches) before anything is recorded.
  nsPerOp(() => void without.send(input), { rounds: 3, roundMs: 200, warmupMs: 300 });
  nsPerOp(() => void withR.send(input), { rounds: 3, roundMs: 200, warmupMs: 300 });
  for (let r = 0; r < SEND_ROUNDS; r++) {
    // Interleaved, alternating which goes first, so drift of the shared machine hits both alike.
    if (r % 2 === 0) {
      off.push(nsPerOp(() => void without.send(input), opts));
      on.push(nsPerOp(() => void withR.send(input), opts));
    } else {
      on.push(nsPerOp(() => void withR.send(input), opts));
      off.push(nsPerOp(() => void without.send(input), opts));
    }
  }
  const m = withR.metrics();
  if (m.delivered === 0 || m.rejected > 0) throw new Error(`bench sends were not delivered: ${JSON.stringify(m.byCode)}`);
  const onNs = median(on);
  const offNs = median(off);
  const deltas = on.map((v, i) => v - off[i]!);
  const sorted = [...deltas].sort((a, b) => a - b);
  results.push({
    name: 'governed send, resilience on (breakers closed) — ns per send',
    value: Math.round(onNs),
    unit: 'ns',
    baseline: { name: 'same pipeline, resilience: false', value: Math.round(offNs) },
    ratio: ratio(onNs, offNs),
    target: 'added <= 100 ns',
    note: `median of per-round differences ${Math.round(median(deltas))} ns over ${SEND_ROUNDS} interleaved rounds; interquartile range ${Math.round(sorted[Math.floor(sorted.length / 4)]!)} .. ${Math.round(sorted[Math.floor((3 * sorted.length) / 4)]!)} ns (machine noise; the component figures below bound the cost)`,
  });
  await withR.stop();
  await without.stop();
}

function breakerCall(results: BenchResult[]): void {
  const registry = new BreakerRegistry();
  const b = registry.breaker('x', DependencyClass.GOVERNANCE);
  let n = 0;
  const bare = () => {
    n++;
  };
  const guarded = () => {
    if (b.allow()) {
      n++;
      b.success();
    }
  };
  const on: number[] = [];
  const off: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    off.push(nsPerOp(bare, { rounds: 3 }));
    on.push(nsPerOp(guarded, { rounds: 3 }));
  }
  results.push({ name: 'closed breaker allow() + success() around a call', value: Math.round(median(on) * 10) / 10, unit: 'ns', baseline: { name: 'the bare call', value: Math.round(median(off) * 10) / 10 }, ratio: ratio(median(on), median(off)) });

  const sink = { append: (_r: DecisionRecord) => (n++, true) };
  const journal = guardJournal(sink, registry.breaker('journal', DependencyClass.GOVERNANCE), undefined);
  const record: DecisionRecord = { type: 'message.delivered', at: 0 };
  const jOn: number[] = [];
  const jOff: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    jOff.push(nsPerOp(() => sink.append(record), { rounds: 3 }));
    jOn.push(nsPerOp(() => journal.append(record), { rounds: 3 }));
  }
  results.push({ name: 'guarded journal append (breaker closed, chaos off)', value: Math.round(median(jOn) * 10) / 10, unit: 'ns', baseline: { name: 'bare sink append', value: Math.round(median(jOff) * 10) / 10 }, ratio: ratio(median(jOn), median(jOff)) });

  const stage: GovernanceStage = { name: 'policy', evaluate: () => PROCEED };
  const guardedStage = guardPolicyStage(stage, registry.breaker('policy', DependencyClass.GOVERNANCE), undefined);
  const message = {} as AgentMessage;
  const ctx = {} as GovernanceContext;
  const pOn: number[] = [];
  const pOff: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    pOff.push(nsPerOp(() => stage.evaluate(message, ctx), { rounds: 3 }));
    pOn.push(nsPerOp(() => guardedStage.evaluate(message, ctx), { rounds: 3 }));
  }
  results.push({ name: 'guarded policy stage (breaker closed, chaos off)', value: Math.round(median(pOn) * 10) / 10, unit: 'ns', baseline: { name: 'bare stage', value: Math.round(median(pOff) * 10) / 10 }, ratio: ratio(median(pOn), median(pOff)) });
  if (n < 0) console.log(n);
}

const results: BenchResult[] = [];
await governedSend(results);
breakerCall(results);
emit('resilience', results);
