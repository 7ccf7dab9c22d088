/**
 * Impact scoring cost per message: the seven-factor scorer with the shipped fastText model,
 * beside the same scorer with the keyword model (the baseline), the raw fastText predict
 * against the raw keyword predict, and the impact stage against a no-op stage.
 *
 *   npx tsx bench/impact.bench.ts
 */
import { readFileSync } from 'node:fs';
import { LatencyRecorder, emit, median, nsPerOp, ratio, type BenchResult } from './lib.js';
import { ImpactScorer } from '../src/impact/scorer.js';
import { KeywordModel } from '../src/impact/keyword-model.js';
import { loadDefaultTextModel } from '../src/impact/load-model.js';
import { createImpactStage } from '../src/impact/stage.js';
import type { AgentMessage } from '../src/message/schema.js';
import type { GovernanceContext, GovernanceStage } from '../src/governance/stage.js';
import { PROCEED } from '../src/governance/verdict.js';

const ROUNDS = 5;
const MESSAGES_PER_ROUND = 20_000;
const AGENTS = 1_000;

const rows = readFileSync(new URL('../data/impact/messages.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line) as { text: string });

const messages: AgentMessage[] = rows.map((row, i) => ({
  messageId: `bench-${i}`,
  conversationId: `bench-${i}`,
  correlationId: undefined,
  fromAgent: `agent-${i % AGENTS}`,
  toAgent: 'agent-x',
  messageType: i % 7 === 0 ? 'task_request' : 'command',
  content: { instruction: row.text, ...(i % 5 === 0 ? { tools: ['read_file', 'send_email'] } : {}) },
  payload: i % 9 === 0 ? { amount: (i * 37) % 50_000 } : undefined,
  headers: undefined,
  tenantId: 'bench',
  priority: (i % 4) as 0 | 1 | 2 | 3,
  constitutionalHash: 'cdd01ef066bc6cf2',
  createdAt: 0,
  expiresAt: undefined,
  requiredCapabilities: undefined,
  metadata: undefined,
}));
const texts = rows.map((r) => r.text);

function latency(run: (i: number) => unknown): { p50: number; p99: number } {
  const p50s: number[] = [];
  const p99s: number[] = [];
  const recorder = new LatencyRecorder();
  for (let i = 0; i < MESSAGES_PER_ROUND; i++) run(i); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    recorder.reset();
    for (let i = 0; i < MESSAGES_PER_ROUND; i++) {
      const start = process.hrtime.bigint();
      run(i);
      recorder.record(Number(process.hrtime.bigint() - start));
    }
    const summary = recorder.summaryMicros();
    p50s.push(summary.p50);
    p99s.push(summary.p99);
  }
  return { p50: median(p50s), p99: median(p99s) };
}

// An empty timed call: what hrtime + the recorder add to every sample above.
function timerFloor(): { p50: number; p99: number } {
  return latency(() => undefined);
}

const loaded = await loadDefaultTextModel();
if (loaded.fallback) throw new Error(`benchmark needs the fastText model: ${loaded.reason}`);
const fastText = loaded.model;
const keyword = new KeywordModel();

let clock = Date.UTC(2025, 2, 12, 14, 0, 0);
const fastScorer = new ImpactScorer({ model: fastText, timeZone: 'UTC' });
const keywordScorer = new ImpactScorer({ model: keyword, timeZone: 'UTC' });

const floor = timerFloor();
const fastScore = latency((i) => fastScorer.score(messages[i % messages.length]!, { now: (clock += 3) }));
const keywordScore = latency((i) => keywordScorer.score(messages[i % messages.length]!, { now: (clock += 3) }));
const fastPredict = latency((i) => fastText.predict(texts[i % texts.length]!));
const keywordPredict = latency((i) => keyword.predict(texts[i % texts.length]!));

// Worst case: a message whose text fills the 2,000-character extraction budget.
const longMessage: AgentMessage = { ...messages[0]!, content: { instruction: texts.slice(0, 60).join(' ').slice(0, 2_000) } };
const longScore = latency(() => fastScorer.score(longMessage, { now: (clock += 3) }));
const longKeyword = latency(() => keywordScorer.score(longMessage, { now: (clock += 3) }));

let n = 0;
const predictNs = nsPerOp(() => fastText.predict(texts[n++ % texts.length]!));
const keywordNs = nsPerOp(() => keyword.predict(texts[n++ % texts.length]!));

const stage = createImpactStage({ model: fastText, timeZone: 'UTC' });
const noop: GovernanceStage = { name: 'noop', evaluate: () => PROCEED };
const ctx = (): GovernanceContext => ({ now: (clock += 3), idGenerated: true, contentBytes: 0, sender: undefined, recipient: undefined, annotations: {} });
const stageNs = nsPerOp(() => stage.evaluate(messages[n++ % messages.length]!, ctx()));
const noopNs = nsPerOp(() => noop.evaluate(messages[n++ % messages.length]!, ctx()));

const us = (x: number) => Math.round(x * 1000) / 1000;
const results: BenchResult[] = [
  {
    name: 'impact score p50 (fastText model)',
    value: us(fastScore.p50),
    unit: 'µs',
    baseline: { name: 'impact score p50 (keyword model)', value: us(keywordScore.p50) },
    ratio: ratio(fastScore.p50, keywordScore.p50),
  },
  {
    name: 'impact score p99 (fastText model)',
    value: us(fastScore.p99),
    unit: 'µs',
    baseline: { name: 'impact score p99 (keyword model)', value: us(keywordScore.p99) },
    ratio: ratio(fastScore.p99, keywordScore.p99),
    target: '<= 10 µs',
    note: `per-call timing, ${ROUNDS} rounds × ${MESSAGES_PER_ROUND} messages from ${AGENTS} senders, median of rounds; includes ~${us(floor.p50)} µs p50 / ${us(floor.p99)} µs p99 of timer overhead`,
  },
  {
    name: 'impact score p99, 2,000-character message (fastText model)',
    value: us(longScore.p99),
    unit: 'µs',
    baseline: { name: 'same message, keyword model', value: us(longKeyword.p99) },
    ratio: ratio(longScore.p99, longKeyword.p99),
    note: `p50 ${us(longScore.p50)} µs vs ${us(longKeyword.p50)} µs; fastText reads the first 600 characters`,
  },
  {
    name: 'fastText predict p99 (raw)',
    value: us(fastPredict.p99),
    unit: 'µs',
    baseline: { name: 'keyword predict p99 (raw)', value: us(keywordPredict.p99) },
    ratio: ratio(fastPredict.p99, keywordPredict.p99),
    note: `p50 ${us(fastPredict.p50)} µs vs ${us(keywordPredict.p50)} µs`,
  },
  {
    name: 'fastText predict (raw, incl. normalisation)',
    value: Math.round(predictNs),
    unit: 'ns/op',
    baseline: { name: 'keyword predict', value: Math.round(keywordNs) },
    ratio: ratio(predictNs, keywordNs),
  },
  {
    name: 'impact stage evaluate (fastText model)',
    value: Math.round(stageNs),
    unit: 'ns/op',
    baseline: { name: 'no-op stage evaluate', value: Math.round(noopNs) },
    ratio: ratio(stageNs, noopNs),
    note: 'includes building a governance context per call',
  },
];
emit('impact', results);
