import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { AgentMessage } from '../message/schema.js';

/**
 * A write-ahead record of deliveries, so that a process crash (SIGKILL) loses nothing accepted:
 * one line when a message enters an agent's mailbox, one when it leaves it (the handler settled —
 * its ack —, a receiver took it, or the agent left). Each line is written with one synchronous
 * write(2): once send() has answered, the record is in the kernel and survives the process. (An
 * operating-system crash additionally needs fsync, which this ledger does only at compaction.)
 *
 * On open, entries accepted but not done are kept as pending, per agent; the delivery manager puts
 * them back into the agent's mailbox when that agent's mailbox is next created (the agent
 * registered again), marked with `redelivered` in the handler's context. The file is compacted on
 * open to just the pending entries. A message whose done line was written is never delivered again.
 */

const FILE = 'deliveries.jsonl';

interface Pending {
  agentId: string;
  tenantId: string;
  message: AgentMessage;
}

export interface DeliveryLedgerStats {
  accepted: number;
  done: number;
  /** Pending entries found on open, and those still waiting for their agent. */
  recovered: number;
  awaitingAgent: number;
  restored: number;
  bytes: number;
}

export class DeliveryLedger {
  private fd: number;
  private readonly pending = new Map<string, Map<string, Pending>>();
  private readonly counters = { accepted: 0, done: 0, recovered: 0, restored: 0, bytes: 0 };

  private constructor(readonly file: string) {
    this.fd = -1;
  }

  /** Opens (creating) `<dir>/deliveries.jsonl`, recovers pending entries and compacts the file. */
  static open(dir: string): DeliveryLedger {
    mkdirSync(dir, { recursive: true });
    const ledger = new DeliveryLedger(path.join(dir, FILE));
    ledger.recover();
    return ledger;
  }

  accepted(agentId: string, tenantId: string, message: AgentMessage): void {
    this.write(`{"a":${JSON.stringify(agentId)},"t":${JSON.stringify(tenantId)},"m":${JSON.stringify(message)}}\n`);
    this.counters.accepted++;
  }

  done(agentId: string, messageId: string): void {
    this.write(`{"d":${JSON.stringify(agentId)},"i":${JSON.stringify(messageId)}}\n`);
    this.counters.done++;
  }

  /** The recovered messages for this agent (removed from pending), oldest first. */
  takePending(agentId: string, tenantId: string): AgentMessage[] {
    const forAgent = this.pending.get(agentId);
    if (forAgent === undefined) return [];
    const out: AgentMessage[] = [];
    for (const [id, p] of forAgent) {
      if (p.tenantId !== tenantId) continue;
      out.push(p.message);
      forAgent.delete(id);
    }
    if (forAgent.size === 0) this.pending.delete(agentId);
    this.counters.restored += out.length;
    return out;
  }

  stats(): DeliveryLedgerStats {
    let awaitingAgent = 0;
    for (const m of this.pending.values()) awaitingAgent += m.size;
    return { ...this.counters, awaitingAgent };
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private write(line: string): void {
    if (this.fd < 0) return;
    const bytes = Buffer.from(line);
    writeSync(this.fd, bytes);
    this.counters.bytes += bytes.length;
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
    // Compact: rewrite only what is still pending, then append from there.
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    for (const p of open.values()) writeSync(fd, `{"a":${JSON.stringify(p.agentId)},"t":${JSON.stringify(p.tenantId)},"m":${JSON.stringify(p.message)}}\n`);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.file);
    this.fd = openSync(this.file, 'a');
    for (const p of open.values()) {
      let forAgent = this.pending.get(p.agentId);
      if (forAgent === undefined) this.pending.set(p.agentId, (forAgent = new Map()));
      forAgent.set(p.message.messageId, p);
    }
    this.counters.recovered = open.size;
  }
}
