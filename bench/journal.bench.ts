/**
 * Journal cost per message, amortised: append + encode + seal (digests, Merkle leaves, seal) +
 * file write ('interval' fsync), with the entry shape the bus appends (src/bus.ts accepted() and
 * refuse(): ids, recipients or code/reason, `details: undefined` and the message itself, whose
 * digest the journal computes). Measured for worker sealing (the default) and inline sealing,
 * beside baselines in the same process: (a) pushing the same entries into an array, (b) writing
 * JSON.stringify lines to a file stream without hashing; plus the hash-chained AuditLogger of
 * @microsoft/agent-governance-sdk, and messageDigest against the previous canonical-JSON digest.
 *
 * "main-thread" figures are the appending thread's busy time (event-loop utilisation) per entry:
 * what the journal costs the bus's own thread. "wall" figures are elapsed time per entry, append
 * of all entries through flush(), i.e. the throughput the journal sustains.
 *
 *   node --import tsx bench/journal.bench.ts            (JOURNAL_BENCH_N to change the entry count)
 */
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { AuditLogger } from '@microsoft/agent-governance-sdk';
import { openJournal, type JournalEntry, type Sealing } from '../src/journal/index.js';
import { digestOf } from '../src/message/canonical.js';
import { messageDigest } from '../src/message/digest.js';
import type { AgentMessage } from '../src/message/schema.js';
import { emit, median, nsPerOp, ratio, type BenchResult } from './lib.js';

const N = Number(process.env['JOURNAL_BENCH_N'] ?? 200_000);
const ROUNDS = 5;
/** The bus appends from many event-loop turns; yielding every this many appends lets seals interleave. */
const YIELD_EVERY = 1024;

function smallMessage(i: number): AgentMessage {
  return {
    messageId: `msg-${i}`,
    conversationId: `conv-${i >> 4}`,
    correlationId: undefined,
    fromAgent: 'planner',
    toAgent: 'executor',
    messageType: 'command',
    content: { action: 'read', resource: `doc-${i % 97}` },
    payload: undefined,
    headers: undefined,
    tenantId: 'acme',
    priority: 1,
    constitutionalHash: 'cdd01ef066bc6cf2',
    createdAt: 1_764_245_000_000 + i,
    expiresAt: undefined,
    requiredCapabilities: undefined,
    metadata: undefined,
  };
}

/** The digest definition before this change: SHA-256 of the canonical (sorted-key) JSON of the envelope. */
function canonicalMessageDigest(message: AgentMessage): string {
  return digestOf({
    messageId: message.messageId,
    conversationId: message.conversationId,
    correlationId: message.correlationId,
    fromAgent: message.fromAgent,
    toAgent: message.toAgent,
    messageType: message.messageType,
    content: message.content,
    payload: message.payload,
    headers: message.headers,
    tenantId: message.tenantId,
    priority: message.priority,
    constitutionalHash: message.constitutionalHash,
    createdAt: message.createdAt,
    expiresAt: message.expiresAt,
    requiredCapabilities: message.requiredCapabilities,
    metadata: message.metadata,
  });
}

const messages = Array.from({ length: N }, (_, i) => smallMessage(i));
const digests = messages.map(messageDigest);

// The bus's own call sites (src/bus.ts accepted() and refuse()): object literals of two shapes.
function busEntry(message: AgentMessage, i: number): JournalEntry {
  return i % 10 === 0
    ? {
        type: 'message.rejected',
        at: message.createdAt,
        messageId: message.messageId,
        tenantId: message.tenantId,
        fromAgent: message.fromAgent,
        toAgent: message.toAgent,
        code: 'POLICY_DENIED',
        reason: 'denied by policy',
        constitutionalHash: message.constitutionalHash,
        details: undefined,
        message,
      }
    : {
        type: 'message.delivered',
        at: message.createdAt,
        messageId: message.messageId,
        tenantId: message.tenantId,
        fromAgent: message.fromAgent,
        toAgent: message.toAgent,
        recipients: [message.toAgent!],
        constitutionalHash: message.constitutionalHash,
        details: undefined,
        message,
      };
}

function entryWithDigest(message: AgentMessage, i: number): JournalEntry {
  const digest = digests[i]!;
  return i % 10 === 0
    ? { type: 'message.rejected', at: message.createdAt, tenantId: message.tenantId, messageId: message.messageId, fromAgent: message.fromAgent, toAgent: message.toAgent, code: 'POLICY_DENIED', reason: 'denied by policy', digest }
    : { type: 'message.delivered', at: message.createdAt, tenantId: message.tenantId, messageId: message.messageId, fromAgent: message.fromAgent, toAgent: message.toAgent, recipients: [message.toAgent!], digest };
}

const withMessage: JournalEntry[] = messages.map(busEntry);
const withDigest: JournalEntry[] = messages.map(entryWithDigest);

function tempDir(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'journal-bench-'));
}

interface Round {
  /** Elapsed ns per entry. */
  wall: number;
  /** Busy ns per entry of this (the appending) thread. */
  main: number;
}

async function timeRounds(run: () => Promise<Round>): Promise<Round> {
  await run(); // warm-up
  const samples: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) samples.push(await run());
  return { wall: median(samples.map((s) => s.wall)), main: median(samples.map((s) => s.main)) };
}

async function measured(count: number, body: () => Promise<void>): Promise<Round> {
  const elu = performance.eventLoopUtilization();
  const start = process.hrtime.bigint();
  await body();
  const wall = Number(process.hrtime.bigint() - start) / count;
  const busy = performance.eventLoopUtilization(elu);
  return { wall, main: (busy.active * 1e6) / count };
}

/** append of all entries (yielding every YIELD_EVERY) + flush: everything sealed and written. */
async function journalRound(entries: readonly JournalEntry[], sealing: Sealing): Promise<Round> {
  const dir = tempDir();
  const journal = await openJournal({ dir, fsync: 'interval', sealing });
  let refused = 0;
  try {
    const round = await measured(entries.length, async () => {
      for (let i = 0; i < entries.length; i++) {
        // Sustained throughput: when the sealer falls behind, wait (idle) as a producer honouring back-pressure would.
        while (!journal.writable) await sleep(1);
        if (!journal.append(entries[i]!)) refused++;
        if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
      }
      await journal.flush();
    });
    if (refused > 0) throw new Error(`journal refused ${refused} entries during the benchmark`);
    return round;
  } finally {
    await journal.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function arrayRound(entries: readonly JournalEntry[]): Promise<Round> {
  const sink: JournalEntry[] = [];
  const round = await measured(entries.length, async () => {
    for (let i = 0; i < entries.length; i++) {
      sink.push(entries[i]!);
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
    }
  });
  if (sink.length !== entries.length) throw new Error('unreachable');
  return round;
}

async function streamRound(entries: readonly JournalEntry[]): Promise<Round> {
  const dir = tempDir();
  const stream = createWriteStream(path.join(dir, 'plain.jsonl'));
  try {
    return await measured(entries.length, async () => {
      for (let i = 0; i < entries.length; i++) {
        if (!stream.write(JSON.stringify(entries[i]) + '\n')) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
        else if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
      }
      await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function peerRound(entries: readonly JournalEntry[]): Promise<Round> {
  // maxEntries = N: with its default (10 000) every log() past the limit copies the whole array.
  const logger = new AuditLogger({ maxEntries: entries.length });
  const round = await measured(entries.length, async () => {
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      logger.log({ agentId: entry.fromAgent ?? entry.message?.fromAgent ?? 'unknown', action: entry.type, decision: entry.code === undefined ? 'allow' : 'deny' });
      if (i % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
    }
  });
  if (!logger.verify()) throw new Error('peer audit chain did not verify');
  return round;
}

const worker = await timeRounds(() => journalRound(withMessage, 'worker'));
const inline = await timeRounds(() => journalRound(withMessage, 'inline'));
const workerOwn = await timeRounds(() => journalRound(withDigest, 'worker'));
const array = await timeRounds(() => arrayRound(withMessage));
const stream = await timeRounds(() => streamRound(withMessage));
const peer = await timeRounds(() => peerRound(withMessage));
let probe = 0;
const digestNew = nsPerOp(() => messageDigest(messages[probe++ % N]!), { rounds: 7, roundMs: 100 });
const digestOld = nsPerOp(() => canonicalMessageDigest(messages[probe++ % N]!), { rounds: 7, roundMs: 100 });

const f = (n: number): string => n.toFixed(0);
const results: BenchResult[] = [
  {
    name: `J1 journal (worker sealing, default), bus entry with message, digest computed by the journal: wall ns/entry, append+seal+write over ${N}`,
    value: worker.wall,
    unit: 'ns/entry',
    baseline: { name: 'JSON.stringify lines to a file stream, no hashing (wall)', value: stream.wall },
    ratio: ratio(worker.wall, stream.wall),
    target: '<= 1000',
    note: `vs array push ${f(array.wall)} ns: ratio ${ratio(worker.wall, array.wall)}`,
  },
  {
    name: `J1m journal (worker sealing), same entries: main-thread busy ns/entry over ${N}`,
    value: worker.main,
    unit: 'ns/entry',
    baseline: { name: 'array push of the same entries, main-thread busy', value: array.main },
    ratio: ratio(worker.main, array.main),
    target: '<= 1000',
    note: `stream baseline main-thread busy ${f(stream.main)} ns: ratio ${ratio(worker.main, stream.main)}`,
  },
  {
    name: `J1i journal (inline sealing), same entries: wall ns/entry over ${N}`,
    value: inline.wall,
    unit: 'ns/entry',
    baseline: { name: 'JSON.stringify lines to a file stream, no hashing (wall)', value: stream.wall },
    ratio: ratio(inline.wall, stream.wall),
    target: '<= 1000',
    note: `main-thread busy ${f(inline.main)} ns/entry; vs worker sealing wall ratio ${ratio(inline.wall, worker.wall)}`,
  },
  {
    name: `J2 journal (worker sealing), digest supplied by the caller: wall ns/entry over ${N}`,
    value: workerOwn.wall,
    unit: 'ns/entry',
    baseline: { name: 'JSON.stringify lines to a file stream, no hashing (wall)', value: stream.wall },
    ratio: ratio(workerOwn.wall, stream.wall),
    target: '<= 1000',
    note: `main-thread busy ${f(workerOwn.main)} ns/entry`,
  },
  {
    name: `J3 stream baseline: JSON.stringify line per entry to a file stream, wall ns/entry over ${N}`,
    value: stream.wall,
    unit: 'ns/entry',
    baseline: { name: 'array push of the same entries', value: array.wall },
    ratio: ratio(stream.wall, array.wall),
  },
  {
    name: `P1 peer: @microsoft/agent-governance-sdk AuditLogger.log (in memory, per-entry hash chain, no persistence), wall ns/entry over ${N}`,
    value: peer.wall,
    unit: 'ns/entry',
    baseline: { name: 'journal J1 (worker sealing, wall)', value: worker.wall },
    ratio: ratio(peer.wall, worker.wall),
    note: `peer / journal J1m main-thread ratio ${ratio(peer.main, worker.main)}`,
  },
  {
    name: 'D1 messageDigest of the small message (array pre-image + crypto.hash), ns/op',
    value: digestNew,
    unit: 'ns/op',
    baseline: { name: 'previous definition: canonical JSON with sorted keys + createHash', value: digestOld },
    ratio: ratio(digestNew, digestOld),
  },
];
emit('journal', results);
