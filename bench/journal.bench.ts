/**
 * Journal cost per message, amortised: append + encode + seal (digests, Merkle leaves, seal) +
 * file write ('interval' fsync), with the entry shape the bus appends (src/bus.ts accepted() and
 * refuse(): ids, recipients or code/reason, `details: undefined` and the message itself, whose
 * digest the journal computes). Measured for worker sealing (the default) and inline sealing,
 * beside baselines in the same process: (a) pushing the same entries into an array, (b) writing
 * JSON.stringify lines to a file stream without hashing; plus the hash-chained AuditLogger of
 * @microsoft/agent-governance-sdk, and messageDigest against the previous canonical-JSON digest.
 *
 * Three figures per workload, all per entry, over append of every entry through flush():
 * - main CPU: CPU time of the appending (main) thread — what the journal costs the bus's own
 *   thread (Linux /proc/self/task/<pid>/stat, 10 ms ticks; rounds last long enough for ~1 %);
 * - process CPU: CPU time of the whole process (main + seal worker + GC and I/O threads) — what it
 *   costs the machine's cores;
 * - wall: elapsed time, i.e. the throughput it sustains. On a machine shared with other work,
 *   wall is the noisiest of the three: a thread that is descheduled still counts.
 *
 * J1r offers the same entries at a fixed rate (250 000/s, the full pipeline's target) instead of as
 * fast as the journal takes them: the appending thread's cost when the seal worker keeps up. In J1
 * the appender outruns the worker, and the journal's thread hashes batches itself when the
 * worker is behind (counted in the notes): J1 is a saturation figure, J1r the bus's own (issue #3's
 * target, journal <= 1 µs per message amortised, is J1r's: what journaling costs the bus's thread).
 *
 * Plus a sustained-throughput workload (S1): the bus's traffic pattern — waves of WAVE appends with
 * an event-loop turn between waves (bench/lib.ts throughputInWaves), never waiting for
 * `writable` — reporting the records per second accepted and written (append of all + flush) and
 * how many were refused (BACKPRESSURE); baseline: JSON lines to a file stream in the same waves.
 *
 *   node --import tsx bench/journal.bench.ts            (JOURNAL_BENCH_N to change the entry count,
 *   JOURNAL_BENCH_ONLY=j1,j1r,s1 to run some workloads: j1 j1r j1i j2 s1 p1 e1 d1; JOURNAL_PACED_RATE)
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToLoop, setTimeout as sleep } from 'node:timers/promises';
import { AuditLogger } from '@microsoft/agent-governance-sdk';
import { openJournal, type JournalEntry, type Sealing } from '../src/journal/index.js';
import { BatchEncoder } from '../src/journal/record.js';
import { TapeEncoder } from '../src/journal/tape.js';
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
  /** ns per entry: elapsed, CPU of the main thread, CPU of the whole process. */
  wall: number;
  main: number;
  process: number;
  /** Batches the appending thread hashed itself because the seal worker was behind (journal rounds). */
  helped: number;
}

async function timeRounds(run: () => Promise<Round>): Promise<Round> {
  await run(); // warm-up
  const samples: Round[] = [];
  for (let r = 0; r < ROUNDS; r++) samples.push(await run());
  return { wall: median(samples.map((s) => s.wall)), main: median(samples.map((s) => s.main)), process: median(samples.map((s) => s.process)), helped: median(samples.map((s) => s.helped)) };
}

const TICK_NS = 1e9 / 100; // USER_HZ: 100 on Linux

/** CPU ns of the main thread so far (utime + stime); null where /proc is not available. */
function mainThreadCpuNs(): number | null {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_NS;
  } catch {
    return null;
  }
}

async function measured(count: number, body: () => Promise<void>): Promise<Round> {
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const main = mainThreadCpuNs();
  const start = process.hrtime.bigint();
  await body();
  const wall = Number(process.hrtime.bigint() - start) / count;
  const mainEnd = mainThreadCpuNs();
  const used = process.cpuUsage(cpu);
  // Without /proc: the main thread's busy time (event-loop utilisation), which also counts time descheduled.
  const mainNs = main !== null && mainEnd !== null ? mainEnd - main : performance.eventLoopUtilization(elu).active * 1e6;
  return { wall, main: mainNs / count, process: ((used.user + used.system) * 1000) / count, helped: 0 };
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
    return { ...round, helped: journal.stats().helpedBatches };
  } finally {
    await journal.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same entries offered at a fixed rate (waves of WAVE, each due at i / rate seconds), as the
 * bus appends at its own pace: what the journal costs the appending thread when the seal worker
 * keeps up. The journal must accept every entry.
 */
async function pacedRound(entries: readonly JournalEntry[], rate: number): Promise<Round> {
  const dir = tempDir();
  const journal = await openJournal({ dir, fsync: 'interval' });
  try {
    const round = await measured(entries.length, async () => {
      const start = performance.now();
      for (let i = 0; i < entries.length; i += WAVE) {
        const wait = start + (i / rate) * 1000 - performance.now();
        if (wait > 1) await sleep(wait);
        else await yieldToLoop();
        const end = Math.min(i + WAVE, entries.length);
        for (let k = i; k < end; k++) if (!journal.append(entries[k]!)) throw new Error(`journal refused entry ${k} at ${rate} entries/s`);
      }
      await journal.flush();
    });
    return { ...round, helped: journal.stats().helpedBatches };
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

/** The bus's pattern: WAVE appends, then one event-loop turn. */
const WAVE = 1000;
/** J1r's offered rate: the full pipeline's target (issue #3, W6 in bench/bus.bench.ts). */
const PACED_RATE = Number(process.env['JOURNAL_PACED_RATE'] ?? 250_000);
const SUSTAINED_N = Number(process.env['JOURNAL_SUSTAINED_N'] ?? 300_000);
const SUSTAINED_ROUNDS = 3;

interface Sustained {
  /** Records per second accepted and written: accepted / (append of every wave + flush). */
  rate: number;
  refused: number;
  batches: number;
  /** Batches the appending thread hashed itself. */
  helped: number;
}

/** Appends `count` entries in waves of WAVE with a turn between waves; refusals are counted, not retried. */
async function sustainedJournalRound(entries: readonly JournalEntry[], count: number): Promise<Sustained> {
  const dir = tempDir();
  const journal = await openJournal({ dir, fsync: 'interval' });
  try {
    let refused = 0;
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i += WAVE) {
      const end = Math.min(i + WAVE, count);
      for (let k = i; k < end; k++) if (!journal.append(entries[k % entries.length]!)) refused++;
      await yieldToLoop();
    }
    await journal.flush();
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const stats = journal.stats();
    if (stats.recordsWritten !== count - refused) throw new Error(`wrote ${stats.recordsWritten} of ${count - refused} accepted records`);
    return { rate: (count - refused) / seconds, refused, batches: stats.sealedBatches, helped: stats.helpedBatches };
  } finally {
    await journal.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same waves as JSON lines to a file stream (no hashing, no sealing; the stream buffers what the disk has not taken). */
async function sustainedStreamRound(entries: readonly JournalEntry[], count: number): Promise<Sustained> {
  const dir = tempDir();
  const stream = createWriteStream(path.join(dir, 'plain.jsonl'));
  try {
    const start = process.hrtime.bigint();
    for (let i = 0; i < count; i += WAVE) {
      const end = Math.min(i + WAVE, count);
      for (let k = i; k < end; k++) stream.write(JSON.stringify(entries[k % entries.length]) + '\n');
      await yieldToLoop();
    }
    await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
    return { rate: count / (Number(process.hrtime.bigint() - start) / 1e9), refused: 0, batches: 0, helped: 0 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sustainedRounds(run: () => Promise<Sustained>): Promise<{ median: Sustained; rounds: Sustained[] }> {
  await run(); // warm-up
  const rounds: Sustained[] = [];
  for (let r = 0; r < SUSTAINED_ROUNDS; r++) rounds.push(await run());
  const byRate = [...rounds].sort((a, b) => a.rate - b.rate);
  return { median: byRate[byRate.length >> 1]!, rounds };
}

/** JOURNAL_BENCH_ONLY=j1,j1r,s1 (comma list of j1 j1r j1i j2 s1 p1 e1 d1) runs only those; baselines come along. */
const only = process.env['JOURNAL_BENCH_ONLY']?.split(',');
const runs = (id: string): boolean => only === undefined || only.includes(id);
const none: Round = { wall: NaN, main: NaN, process: NaN, helped: NaN };
const noSustained = { median: { rate: NaN, refused: 0, batches: 0 }, rounds: [] as Sustained[] };

const sustainedJournal = runs('s1') ? await sustainedRounds(() => sustainedJournalRound(withMessage, SUSTAINED_N)) : noSustained;
const sustainedStream = runs('s1') ? await sustainedRounds(() => sustainedStreamRound(withMessage, SUSTAINED_N)) : noSustained;

const worker = runs('j1') || runs('j1i') || runs('p1') ? await timeRounds(() => journalRound(withMessage, 'worker')) : none;
const paced = runs('j1r') ? await timeRounds(() => pacedRound(withMessage, PACED_RATE)) : none;
const inline = runs('j1i') ? await timeRounds(() => journalRound(withMessage, 'inline')) : none;
const workerOwn = runs('j2') ? await timeRounds(() => journalRound(withDigest, 'worker')) : none;
const array = await timeRounds(() => arrayRound(withMessage));
const stream = await timeRounds(() => streamRound(withMessage));
const peer = runs('p1') ? await timeRounds(() => peerRound(withMessage)) : none;
let probe = 0;
// The appending thread's encoding alone, in pieces of 1 024 bus entries (J1's), buffers recycled as the sealer gives them back.
const PIECE = 1024;
const tapeEncoder = new TapeEncoder(false);
const batchEncoder = new BatchEncoder(false);
let piece = 0;
const nextPiece = (): number => (piece++ * PIECE) % (N - PIECE);
const encodeNew = runs('e1') ? nsPerOp(() => {
  const start = nextPiece();
  tapeEncoder.recycle(tapeEncoder.encode(withMessage, start, start + PIECE));
}, { rounds: 7, roundMs: 200 }) / PIECE : NaN;
const encodeOld = runs('e1') ? nsPerOp(() => {
  const start = nextPiece();
  batchEncoder.encode(withMessage, start, start + PIECE, 1);
}, { rounds: 7, roundMs: 200 }) / PIECE : NaN;
const digestNew = runs('d1') ? nsPerOp(() => messageDigest(messages[probe++ % N]!), { rounds: 7, roundMs: 100 }) : NaN;
const digestOld = runs('d1') ? nsPerOp(() => canonicalMessageDigest(messages[probe++ % N]!), { rounds: 7, roundMs: 100 }) : NaN;

const f = (n: number): string => n.toFixed(0);
const all = (r: Round): string => `wall ${f(r.wall)}, main CPU ${f(r.main)}, process CPU ${f(r.process)}`;
const helped = (r: Round): string => `; batches hashed by the appending thread because the seal worker was behind (median per round): ${f(r.helped)}`;
const results: Array<BenchResult & { id: string }> = [
  {
    id: 'j1',
    name: `J1 journal, worker sealing (default), bus entries with a message (digest computed by the journal), appended as fast as the journal takes them: main-thread CPU ns/entry, append+seal+write over ${N}`,
    value: worker.main,
    unit: 'ns/entry',
    baseline: { name: 'JSON.stringify lines to a file stream, no hashing: main-thread CPU', value: stream.main },
    ratio: ratio(worker.main, stream.main),
    note: `saturation (the issue #3 target, <= 1000 ns per message, is read at the bus's pace: J1r); ${all(worker)}; stream baseline: ${all(stream)}; array push: ${all(array)}${helped(worker)}`,
  },
  {
    id: 'j1',
    name: `J1p journal, worker sealing, same entries: whole-process CPU ns/entry (main + seal worker + GC/IO threads) over ${N}`,
    value: worker.process,
    unit: 'ns/entry',
    baseline: { name: 'JSON.stringify lines to a file stream, no hashing: process CPU', value: stream.process },
    ratio: ratio(worker.process, stream.process),
  },
  {
    id: 'j1',
    name: `J1w journal, worker sealing, same entries: wall ns/entry over ${N}`,
    value: worker.wall,
    unit: 'ns/entry',
    baseline: { name: 'JSON.stringify lines to a file stream, no hashing: wall', value: stream.wall },
    ratio: ratio(worker.wall, stream.wall),
    note: 'saturation: the throughput one appending thread reaches (1e9 / this entries per second)',
  },
  {
    id: 'j1r',
    name: `J1r journal, worker sealing, same entries offered at ${PACED_RATE} entries/s in waves of ${WAVE} (the bus's pace at the W6 target): main-thread CPU ns/entry over ${N}`,
    value: paced.main,
    unit: 'ns/entry',
    baseline: { name: 'JSON.stringify lines to a file stream, no hashing: main-thread CPU', value: stream.main },
    ratio: ratio(paced.main, stream.main),
    target: '<= 1000',
    note: `${all(paced)}${helped(paced)}`,
  },
  {
    id: 'j1i',
    name: `J1i journal, inline sealing, same entries: main-thread CPU ns/entry over ${N}`,
    value: inline.main,
    unit: 'ns/entry',
    baseline: { name: 'journal, worker sealing: main-thread CPU', value: worker.main },
    ratio: ratio(inline.main, worker.main),
    note: `${all(inline)}`,
  },
  {
    id: 'j2',
    name: `J2 journal, worker sealing, digest supplied by the caller: main-thread CPU ns/entry over ${N}`,
    value: workerOwn.main,
    unit: 'ns/entry',
    baseline: { name: 'JSON.stringify lines to a file stream, no hashing: main-thread CPU', value: stream.main },
    ratio: ratio(workerOwn.main, stream.main),
    note: `${all(workerOwn)}${helped(workerOwn)}`,
  },
  {
    id: 'base',
    name: `J3 stream baseline: JSON.stringify line per entry to a file stream: wall ns/entry over ${N}`,
    value: stream.wall,
    unit: 'ns/entry',
    baseline: { name: 'array push of the same entries: wall (its CPU time is below the 10 ms tick)', value: array.wall },
    ratio: ratio(stream.wall, array.wall),
    note: `${all(stream)}; array push: ${all(array)}`,
  },
  {
    id: 'p1',
    name: `P1 peer: @microsoft/agent-governance-sdk AuditLogger.log (in memory, per-entry hash chain, no persistence): main-thread CPU ns/entry over ${N}`,
    value: peer.main,
    unit: 'ns/entry',
    baseline: { name: 'journal J1 (worker sealing): main-thread CPU', value: worker.main },
    ratio: ratio(peer.main, worker.main),
    note: `${all(peer)}; peer / journal process CPU ratio ${ratio(peer.process, worker.process)}`,
  },
  {
    id: 's1',
    name: `S1 journal, worker sealing, sustained: records/s accepted and written, ${SUSTAINED_N} bus entries appended in waves of ${WAVE} with an event-loop turn between waves (no waiting for writable)`,
    value: Math.round(sustainedJournal.median.rate),
    unit: 'records/s',
    baseline: { name: 'JSON.stringify lines to a file stream in the same waves (no hashing)', value: Math.round(sustainedStream.median.rate) },
    ratio: ratio(sustainedJournal.median.rate, sustainedStream.median.rate),
    target: '>= 300000 without refusal',
    note: `rounds (records/s, refused, seals, helped): ${sustainedJournal.rounds.map((r) => `${Math.round(r.rate)}/${r.refused}/${r.batches}/${r.helped}`).join('; ')}; stream rounds: ${sustainedStream.rounds.map((r) => Math.round(r.rate)).join('; ')}`,
  },
  {
    id: 'e1',
    name: `E1 encoding alone on the appending thread: TapeEncoder.encode of the J1 bus entries in pieces of ${PIECE}, ns/entry`,
    value: encodeNew,
    unit: 'ns/entry',
    baseline: { name: 'BatchEncoder (JSON.stringify of the record line and of the digest pre-image, UTF-8 buffer writes): the same bytes', value: encodeOld },
    ratio: ratio(encodeNew, encodeOld),
  },
  {
    id: 'd1',
    name: 'D1 messageDigest of the small message (JSON array pre-image + crypto.hash), ns/op',
    value: digestNew,
    unit: 'ns/op',
    baseline: { name: 'previous definition: canonical JSON with sorted keys + createHash', value: digestOld },
    ratio: ratio(digestNew, digestOld),
  },
];
emit(
  'journal',
  results.filter((r) => r.id === 'base' || runs(r.id)).map(({ id: _id, ...result }) => result),
);
