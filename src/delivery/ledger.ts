import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { AgentMessage } from '../message/schema.js';
import { messageJson } from '../message/json.js';

/**
 * A write-ahead record of deliveries, so that a process crash (SIGKILL) loses nothing accepted:
 * one line when a message enters an agent's mailbox, one when it leaves it — the handler settled
 * (its ack), a receiver took it, the agent left, or a subscriber that settles explicitly (a server
 * session) reported it acknowledged, expired or discarded. Each line is written with one
 * synchronous write(2): once send() has answered, the record is in the kernel and survives the
 * process. (An operating-system crash or power loss additionally needs fsync, which this ledger
 * does only when it compacts.)
 *
 * On open, entries accepted but not done are kept as pending, per agent; the delivery manager puts
 * them back into the agent's mailbox when that agent's mailbox is next created (the agent
 * registered again), and handlers see `ctx.redelivered`. A message whose done line was written is
 * never delivered again.
 *
 * The file is compacted to just the open entries on open, and while running once the lines
 * appended since the last compaction reach `compactAfterBytes` (default 64 MiB) and the size of
 * the last compacted file: the open entries are kept in memory (references to messages the
 * mailboxes and sessions hold anyway) for that.
 */

const FILE = 'deliveries.jsonl';
const DEFAULT_COMPACT_AFTER_BYTES = 64 * 1024 * 1024;
/** Compaction writes in chunks of about this many characters. */
const CHUNK = 1 << 20;

interface Pending {
  agentId: string;
  tenantId: string;
  message: AgentMessage;
}

export interface DeliveryLedgerOptions {
  /** Appended bytes after which the file is compacted while running (default 64 MiB; at least 4 KiB). */
  compactAfterBytes?: number;
}

export interface DeliveryLedgerStats {
  accepted: number;
  done: number;
  /** Entries accepted (or restored) in this process and not done yet. */
  open: number;
  /** Pending entries found on open, those still waiting for their agent, and those given back. */
  recovered: number;
  awaitingAgent: number;
  restored: number;
  bytes: number;
  compactions: number;
  compactionErrors: number;
  /** write(2) calls (lines written in one synchronous run go out together). */
  writes: number;
  /** Failed writes; their lines are kept and written with the next ones (up to MAX_UNWRITTEN). */
  writeErrors: number;
  /** Lines dropped because writes kept failing past MAX_UNWRITTEN bytes. */
  droppedBytes: number;
}

/** Unwritten ledger text kept while writes fail (disk full); beyond it the oldest is dropped and counted. */
const MAX_UNWRITTEN = 16 << 20;
/** Queued text written at once, without waiting for the end of the synchronous run. */
const FLUSH_AT_CHARS = 4 << 20;

export class DeliveryLedger {
  private fd = -1;
  /** Accepted (or restored) and not done, by agent then message id: what a compaction keeps. */
  private readonly open = new Map<string, Map<string, AgentMessage>>();
  private openCount = 0;
  /** Recovered at open and not yet given back to a mailbox, by agent then message id. */
  private readonly pending = new Map<string, Map<string, Pending>>();
  private appended = 0;
  private compactAt: number;
  private readonly counters = { accepted: 0, done: 0, recovered: 0, restored: 0, bytes: 0, compactions: 0, compactionErrors: 0, writes: 0, writeErrors: 0, droppedBytes: 0 };
  /** Lines not yet written: everything appended in the current synchronous run. */
  private unwritten = '';
  private flushQueued = false;
  private readonly flushQueuedLines = (): void => {
    this.flushQueued = false;
    this.flush();
  };

  private constructor(
    readonly file: string,
    private readonly compactAfterBytes: number,
  ) {
    this.compactAt = compactAfterBytes;
  }

  /** Opens (creating) `<dir>/deliveries.jsonl`, recovers pending entries and compacts the file. */
  static open(dir: string, options: DeliveryLedgerOptions = {}): DeliveryLedger {
    const compactAfterBytes = options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES;
    if (!Number.isInteger(compactAfterBytes) || compactAfterBytes < 4096) throw new RangeError('compactAfterBytes must be an integer >= 4096');
    mkdirSync(dir, { recursive: true });
    const ledger = new DeliveryLedger(path.join(dir, FILE), compactAfterBytes);
    ledger.recover();
    return ledger;
  }

  /** The recipient's tenant is always the message's (the bus delivers within a tenant only). */
  accepted(agentId: string, tenantId: string, message: AgentMessage): void {
    this.write(acceptedLine(agentId, tenantId, message));
    this.counters.accepted++;
    let forAgent = this.open.get(agentId);
    if (forAgent === undefined) this.open.set(agentId, (forAgent = new Map()));
    if (!forAgent.has(message.messageId)) this.openCount++;
    forAgent.set(message.messageId, message);
  }

  /** Records that the message left the agent for good. Idempotent: only an open entry is written. */
  done(agentId: string, messageId: string): void {
    const forAgent = this.open.get(agentId);
    if (forAgent === undefined || !forAgent.delete(messageId)) return;
    if (forAgent.size === 0) this.open.delete(agentId);
    this.openCount--;
    this.write(`{"d":${JSON.stringify(agentId)},"i":${JSON.stringify(messageId)}}\n`);
    this.counters.done++;
    if (this.appended >= this.compactAt) this.compact();
  }

  /** The recovered messages for this agent (open again from now on), oldest first. */
  takePending(agentId: string, tenantId: string): AgentMessage[] {
    const forAgent = this.pending.get(agentId);
    if (forAgent === undefined) return [];
    const out: AgentMessage[] = [];
    let open = this.open.get(agentId);
    for (const [id, p] of forAgent) {
      if (p.tenantId !== tenantId) continue;
      out.push(p.message);
      forAgent.delete(id);
      if (open === undefined) this.open.set(agentId, (open = new Map()));
      if (!open.has(id)) this.openCount++;
      open.set(id, p.message);
    }
    if (forAgent.size === 0) this.pending.delete(agentId);
    this.counters.restored += out.length;
    return out;
  }

  stats(): DeliveryLedgerStats {
    let awaitingAgent = 0;
    for (const m of this.pending.values()) awaitingAgent += m.size;
    return { ...this.counters, open: this.openCount, awaitingAgent };
  }

  close(): void {
    this.flush();
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  /**
   * Lines go out in one write(2) per synchronous run, from a microtask queued by the first of them.
   * That microtask runs before the continuation of anyone awaiting the send (or ack) that wrote
   * them, so a sender is never told "delivered" before its line is in the file.
   */
  private write(line: string): void {
    if (this.fd < 0) return;
    this.unwritten += line;
    // Counted when queued (in UTF-16 units), so that a long synchronous run also triggers a compaction.
    this.appended += line.length;
    // A very long synchronous run is written as it goes, so the queued text stays bounded.
    if (this.unwritten.length >= FLUSH_AT_CHARS) this.flush();
    if (!this.flushQueued) {
      this.flushQueued = true;
      queueMicrotask(this.flushQueuedLines);
    }
  }

  /** Writes the queued lines now. Never throws: a failed write is counted and retried with the next. */
  flush(): void {
    if (this.unwritten === '' || this.fd < 0) return;
    const bytes = Buffer.from(this.unwritten);
    let offset = 0;
    try {
      while (offset < bytes.length) offset += writeSync(this.fd, bytes, offset);
      this.unwritten = '';
    } catch {
      this.counters.writeErrors++;
      // What was written stays written; the rest waits for the next flush, within a bound.
      let rest = bytes.subarray(offset);
      if (rest.length > MAX_UNWRITTEN) {
        this.counters.droppedBytes += rest.length - MAX_UNWRITTEN;
        rest = rest.subarray(rest.length - MAX_UNWRITTEN);
      }
      this.unwritten = rest.toString();
    }
    this.counters.writes++;
    this.counters.bytes += offset;
  }

  private recover(): void {
    const open = new Map<string, Pending>();
    if (existsSync(this.file)) {
      const text = readFileSync(this.file, 'utf8');
      for (const line of text.split('\n')) {
        if (line === '') continue;
        let entry: { a?: string; t?: string; m?: AgentMessage; d?: string; i?: string };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue; // A torn last line from the crash: its message was never acknowledged to the sender.
        }
        if (entry.a !== undefined && entry.m !== undefined && entry.t !== undefined) open.set(`${entry.a}\u0000${entry.m.messageId}`, { agentId: entry.a, tenantId: entry.t, message: entry.m });
        else if (entry.d !== undefined && entry.i !== undefined) open.delete(`${entry.d}\u0000${entry.i}`);
      }
    }
    for (const p of open.values()) {
      let forAgent = this.pending.get(p.agentId);
      if (forAgent === undefined) this.pending.set(p.agentId, (forAgent = new Map()));
      forAgent.set(p.message.messageId, p);
    }
    this.counters.recovered = open.size;
    this.rewrite();
  }

  /** Rewrites the file with only what is still open; on failure keeps appending to the old one and tries again later. */
  private compact(): void {
    try {
      this.rewrite();
      this.counters.compactions++;
    } catch {
      this.counters.compactionErrors++;
      rmSync(`${this.file}.tmp`, { force: true });
      this.appended = 0;
    }
  }

  /**
   * Writes the pending and open entries to a new file, fsyncs it and renames it over the ledger
   * (atomic: a crash leaves either file whole), then appends to it from there.
   */
  private rewrite(): void {
    const tmp = `${this.file}.tmp`;
    // The new file is written from the in-memory state, which already holds what the queued lines say.
    const queued = this.unwritten;
    this.unwritten = '';
    const fd = openSync(tmp, 'w');
    let size = 0;
    try {
      let chunk = '';
      const writeChunk = () => {
        if (chunk === '') return;
        size += writeSync(fd, chunk);
        chunk = '';
      };
      for (const forAgent of this.pending.values()) {
        for (const p of forAgent.values()) {
          chunk += acceptedLine(p.agentId, p.tenantId, p.message);
          if (chunk.length >= CHUNK) writeChunk();
        }
      }
      for (const [agentId, forAgent] of this.open) {
        for (const message of forAgent.values()) {
          chunk += acceptedLine(agentId, message.tenantId, message);
          if (chunk.length >= CHUNK) writeChunk();
        }
      }
      writeChunk();
      fsyncSync(fd);
      renameSync(tmp, this.file);
    } catch (error) {
      this.unwritten = queued + this.unwritten;
      throw error;
    } finally {
      closeSync(fd);
    }
    const old = this.fd;
    this.fd = -1;
    if (old >= 0) closeSync(old);
    this.fd = openSync(this.file, 'a');
    this.appended = 0;
    this.compactAt = Math.max(this.compactAfterBytes, size);
  }
}

/** The line that opens an entry: the agent, its tenant and the message. */
function acceptedLine(agentId: string, tenantId: string, message: AgentMessage): string {
  return `{"a":${JSON.stringify(agentId)},"t":${JSON.stringify(tenantId)},"m":${messageJson(message)}}\n`;
}
