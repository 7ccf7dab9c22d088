import { join } from 'node:path';
import { checkSeal, decodeLeafPrefixes, GENESIS_HASH, leafPrefix, parseLine } from './format.js';
import { journalFileName, listJournalFiles, readLinesForward, type JournalFile } from './files.js';
import { sha256 } from './hash.js';
import { merkleRoot } from './merkle.js';
import { IssueKind, type ChainHead, type Seal, type VerifyIssue, type VerifyReport } from './types.js';

export interface VerifyOptions {
  /**
   * The head exported elsewhere (e.g. printed by `stats().head` into another system). Without it
   * a journal cut exactly after a seal, or missing its newest files, looks complete.
   */
  expectHead?: { hash: string; seq?: number };
  /**
   * Stop after the seal that covers this seq and ignore what follows. For a journal that is being
   * written: `await journal.flush()`, take `stats().head`, verify with `stopAtSeq: head.seq` (and
   * `expectHead: head`), so a batch written meanwhile is not mistaken for a torn tail.
   */
  stopAtSeq?: number;
  /** Issues reported in detail; further ones are only counted. Default 1000. */
  maxIssues?: number;
}

interface PendingRecord {
  file: string;
  line: number;
  /** The record's own seq, or null when the line is not a readable record. */
  seq: number | null;
  leaf: string;
}

/** Records kept while waiting for their seal; beyond this the verifier stops diagnosing per record. */
const MAX_PENDING_RECORDS = 1 << 20;

/** Indexes of a longest strictly increasing subsequence: the records that kept their relative order. */
function longestIncreasing(values: readonly number[]): Set<number> {
  const tails: number[] = [];
  const previous = new Array<number>(values.length).fill(-1);
  for (let i = 0; i < values.length; i++) {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[tails[mid]!]! < values[i]!) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) previous[i] = tails[lo - 1]!;
    tails[lo] = i;
  }
  const keep = new Set<number>();
  for (let i = tails.length > 0 ? tails[tails.length - 1]! : -1; i !== -1; i = previous[i]!) keep.add(i);
  return keep;
}

class Verifier {
  readonly report: VerifyReport;
  private readonly maxIssues: number;
  private expectedPrev: string | null = GENESIS_HASH;
  private expectedSeq = 1;
  private expectedBatch = 1;
  private pending: PendingRecord[] = [];
  private pendingOverflow = 0;
  private readonly stopAtSeq: number | undefined;
  /** Set once the seal covering stopAtSeq was checked. */
  stopped = false;

  constructor(dir: string, maxIssues: number, stopAtSeq: number | undefined) {
    this.maxIssues = maxIssues;
    this.stopAtSeq = stopAtSeq;
    this.report = { ok: false, dir, readable: true, files: [], records: 0, seals: 0, head: null, recoverySeals: [], issues: [], issuesOmitted: 0 };
  }

  issue(issue: VerifyIssue): void {
    if (this.report.issues.length < this.maxIssues) this.report.issues.push(issue);
    else this.report.issuesOmitted++;
  }

  checkFileNumbering(files: readonly JournalFile[]): void {
    let expected = 1;
    for (const file of files) {
      for (; expected < file.index; expected++) {
        this.issue({ kind: IssueKind.DELETED, target: 'file', file: journalFileName(expected), detail: `journal file ${journalFileName(expected)} is missing (files must be numbered without gaps from 000001)` });
      }
      expected = file.index + 1;
    }
  }

  async readFile(dir: string, file: JournalFile, isLast: boolean): Promise<void> {
    const info = { name: file.name, records: 0, seals: 0, bytes: 0 };
    this.report.files.push(info);
    for await (const line of readLinesForward(join(dir, file.name))) {
      if (this.stopped) break;
      info.bytes += line.bytes.length + (line.terminated ? 1 : 0);
      if (!line.terminated) {
        this.issue({
          kind: IssueKind.TORN_TAIL,
          target: 'record',
          file: file.name,
          line: line.lineNo,
          detail: `${line.bytes.length} bytes at the end of the file without a newline (an interrupted write)${isLast ? '' : ' in a file that is not the newest'}`,
        });
        continue;
      }
      const text = line.bytes.toString('utf8');
      const parsed = parseLine(text);
      if (parsed.kind === 'seal') {
        info.seals++;
        this.report.seals++;
        this.onSeal(file.name, line.lineNo, text, parsed.value);
        continue;
      }
      info.records++;
      this.report.records++;
      if (this.pending.length >= MAX_PENDING_RECORDS) {
        this.pendingOverflow++;
        continue;
      }
      this.pending.push({ file: file.name, line: line.lineNo, seq: parsed.kind === 'record' ? parsed.seq : null, leaf: sha256(line.bytes) });
    }
  }

  private onSeal(file: string, line: number, text: string, value: Record<string, unknown>): void {
    const checked = checkSeal(text, value);
    const batchField = typeof value['seal'] === 'number' ? value['seal'] : undefined;
    if ('problem' in checked) {
      this.issue({ kind: IssueKind.BAD_SEAL, target: 'seal', file, line, batch: batchField, detail: `seal is not valid: ${checked.problem}` });
      // Its content cannot be trusted to check records against; carry on from what it claims.
      this.expectedPrev = typeof value['hash'] === 'string' ? value['hash'] : null;
      const last = value['last'];
      if (typeof last === 'number' && Number.isSafeInteger(last)) this.expectedSeq = last + 1;
      if (batchField !== undefined) this.expectedBatch = batchField + 1;
      this.pending = [];
      return;
    }
    const seal = checked.seal;
    if (this.expectedPrev !== null && seal.prev !== this.expectedPrev) {
      this.issue({ kind: IssueKind.CHAIN_BREAK, target: 'seal', file, line, batch: seal.seal, detail: `prev ${seal.prev.slice(0, 16)}… does not match the hash of the previous seal ${this.expectedPrev.slice(0, 16)}…` });
    }
    let members = this.pending;
    if (seal.first > this.expectedSeq) {
      const gapFirst = this.expectedSeq;
      const gapLast = seal.first - 1;
      const orphans = members.filter((m) => m.seq !== null && m.seq >= gapFirst && m.seq <= gapLast);
      if (orphans.length > 0) {
        const first = orphans[0]!;
        this.issue({
          kind: IssueKind.DELETED,
          target: 'seal',
          file: first.file,
          line: first.line,
          seq: gapFirst,
          batch: this.expectedBatch,
          detail: `the seal covering seq ${gapFirst}..${gapLast} is missing: ${orphans.length} record(s) are not sealed`,
        });
        members = members.filter((m) => !orphans.includes(m));
      } else {
        this.issue({
          kind: IssueKind.DELETED,
          target: 'batch',
          file,
          line,
          seq: gapFirst,
          batch: this.expectedBatch,
          detail: `records seq ${gapFirst}..${gapLast} (batch ${this.expectedBatch}${seal.seal - 1 > this.expectedBatch ? `..${seal.seal - 1}` : ''}) are missing with their seal(s)`,
        });
      }
    } else if (seal.first < this.expectedSeq || seal.seal !== this.expectedBatch) {
      this.issue({
        kind: IssueKind.CHAIN_BREAK,
        target: 'seal',
        file,
        line,
        batch: seal.seal,
        detail: `seal ${seal.seal} (seq ${seal.first}..${seal.last}) does not follow seal ${this.expectedBatch - 1} (expected seq from ${this.expectedSeq})`,
      });
    }
    this.checkBatch(members, seal, file, line);
    if (seal.recovery !== undefined) {
      this.report.recoverySeals.push({ file, line, batch: seal.seal, resealed: seal.count, discarded: seal.recovery.discarded, tornBytes: seal.recovery.tornBytes });
    }
    this.expectedPrev = seal.hash;
    this.expectedSeq = seal.last + 1;
    this.expectedBatch = seal.seal + 1;
    this.report.head = { seal: seal.seal, seq: seal.last, hash: seal.hash };
    this.pending = [];
    if (this.stopAtSeq !== undefined && seal.last >= this.stopAtSeq) this.stopped = true;
  }

  /** Compares the records before a seal with what the seal commits to, and says what differs. */
  private checkBatch(members: readonly PendingRecord[], seal: Seal, sealFile: string, sealLine: number): void {
    if (members.length === seal.count && merkleRoot(members.map((m) => m.leaf)) === seal.root) return;
    const expected = decodeLeafPrefixes(seal.leaves);
    if (expected.length !== seal.count) {
      this.issue({ kind: IssueKind.BAD_SEAL, target: 'seal', file: sealFile, line: sealLine, batch: seal.seal, detail: 'leaves list does not match the record count' });
      return;
    }
    const slotOf = new Map<string, number>();
    expected.forEach((prefix, j) => {
      if (!slotOf.has(prefix)) slotOf.set(prefix, j);
    });
    const used = new Array<boolean>(seal.count).fill(false);
    const slots = members.map((m) => {
      const j = slotOf.get(leafPrefix(m.leaf));
      if (j === undefined || used[j]) return -1;
      used[j] = true;
      return j;
    });
    const before = this.report.issues.length + this.report.issuesOmitted;

    // Records not in the seal: a changed record if a sealed slot between its neighbours is free, else an insertion.
    members.forEach((m, i) => {
      if (slots[i] !== -1) return;
      let low = -1;
      for (let k = i - 1; k >= 0; k--) if (slots[k]! >= 0) { low = slots[k]!; break; }
      let high = seal.count;
      for (let k = i + 1; k < members.length; k++) if (slots[k]! >= 0) { high = slots[k]!; break; }
      const own = m.seq === null ? -1 : m.seq - seal.first;
      let pick = -1;
      if (own > low && own < high && !used[own]) pick = own;
      else for (let j = low + 1; j < high; j++) if (!used[j]) { pick = j; break; }
      if (pick >= 0) {
        used[pick] = true;
        slots[i] = pick;
        this.issue({ kind: IssueKind.MODIFIED, target: 'record', file: m.file, line: m.line, seq: seal.first + pick, batch: seal.seal, detail: `record seq ${seal.first + pick} differs from the sealed one` });
      } else {
        this.issue({ kind: IssueKind.INSERTED, target: 'record', file: m.file, line: m.line, seq: m.seq ?? undefined, batch: seal.seal, detail: `line is not one of the records sealed in batch ${seal.seal}` });
      }
    });

    for (let j = 0; j < seal.count; j++) {
      if (used[j]) continue;
      const next = members.find((_, i) => slots[i]! > j);
      this.issue({
        kind: IssueKind.DELETED,
        target: 'record',
        file: next?.file ?? sealFile,
        line: next?.line ?? sealLine,
        seq: seal.first + j,
        batch: seal.seal,
        detail: `sealed record seq ${seal.first + j} is missing (it belongs before this line)`,
      });
    }

    const placed = members.map((m, i) => ({ m, j: slots[i]! })).filter((p) => p.j >= 0);
    const inOrder = longestIncreasing(placed.map((p) => p.j));
    placed.forEach((p, k) => {
      if (inOrder.has(k)) return;
      this.issue({ kind: IssueKind.REORDERED, target: 'record', file: p.m.file, line: p.m.line, seq: seal.first + p.j, batch: seal.seal, detail: `record seq ${seal.first + p.j} is out of its sealed position` });
    });

    if (this.report.issues.length + this.report.issuesOmitted === before) {
      this.issue({ kind: IssueKind.MODIFIED, target: 'batch', file: sealFile, line: sealLine, batch: seal.seal, detail: 'records do not match the Merkle root of their seal' });
    }
  }

  finish(options: VerifyOptions, lastFile: string | null): void {
    if (this.pending.length > 0 || this.pendingOverflow > 0) {
      const first = this.pending[0] ?? { file: lastFile ?? '', line: undefined };
      const seqs = this.pending.map((m) => m.seq).filter((s): s is number => s !== null);
      this.issue({
        kind: IssueKind.TRUNCATED,
        target: 'record',
        file: first.file,
        line: first.line,
        seq: seqs[0],
        batch: this.expectedBatch,
        detail: `${this.pending.length + this.pendingOverflow} record(s) after the last seal are not sealed (the seal is missing: crash not yet recovered, or the tail was cut)`,
      });
    }
    const expected = options.expectHead;
    const head: ChainHead | null = this.report.head;
    if (expected !== undefined && head?.hash !== expected.hash) {
      const shorter = expected.seq !== undefined && (head?.seq ?? 0) < expected.seq;
      this.issue({
        kind: shorter ? IssueKind.TRUNCATED : IssueKind.CHAIN_BREAK,
        target: 'seal',
        file: lastFile ?? '',
        detail: shorter
          ? `journal ends at seq ${head?.seq ?? 0} but the exported head is at seq ${expected.seq}`
          : `last seal ${head?.hash.slice(0, 16) ?? 'none'}… is not the exported head ${expected.hash.slice(0, 16)}…`,
      });
    }
    this.report.ok = this.report.readable && this.report.issues.length === 0 && this.report.issuesOmitted === 0;
  }
}

/**
 * Re-reads a journal directory file by file (streamed) and recomputes every record hash, Merkle
 * root, seal hash and chain link. `ok` is true only for an intact journal; each issue says what
 * kind of damage was found and where.
 */
export async function verifyJournal(dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const verifier = new Verifier(dir, options.maxIssues ?? 1000, options.stopAtSeq);
  const report = verifier.report;
  let files: JournalFile[];
  try {
    files = await listJournalFiles(dir);
  } catch (error) {
    report.readable = false;
    report.error = `cannot read ${dir}: ${(error as Error).message}`;
    return report;
  }
  if (files.length === 0) {
    report.readable = false;
    report.error = `no journal files (journal-NNNNNN.jsonl) in ${dir}`;
    return report;
  }
  verifier.checkFileNumbering(files);
  try {
    for (let i = 0; i < files.length && !verifier.stopped; i++) await verifier.readFile(dir, files[i]!, i === files.length - 1);
  } catch (error) {
    report.readable = false;
    report.error = `cannot read journal: ${(error as Error).message}`;
  }
  verifier.finish(options, files.at(-1)?.name ?? null);
  return report;
}
