import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { openJournal, type Journal, type JournalEntry, type JournalOptions } from '../../src/journal/index.js';
import type { AgentMessage } from '../../src/message/schema.js';

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'journal-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function message(i: number, overrides: Partial<AgentMessage> = {}): AgentMessage {
  return {
    messageId: `msg-${i}`,
    conversationId: `conv-${i}`,
    correlationId: undefined,
    fromAgent: 'planner',
    toAgent: 'executor',
    messageType: 'command',
    content: { action: 'read', n: i },
    payload: undefined,
    headers: undefined,
    tenantId: 'acme',
    priority: 1,
    constitutionalHash: 'cdd01ef066bc6cf2',
    createdAt: 1_764_245_000_000 + i,
    expiresAt: undefined,
    requiredCapabilities: undefined,
    metadata: undefined,
    ...overrides,
  };
}

export function entry(i: number): JournalEntry {
  return i % 3 === 0
    ? { type: 'message.rejected', at: 1_764_245_000_000 + i, message: message(i), code: 'POLICY_DENIED', reason: `rule ${i}` }
    : { type: 'message.delivered', at: 1_764_245_000_000 + i, message: message(i), recipients: ['executor'] };
}

/** Writes `count` entries, flushes after each `batch`, closes. */
export async function writeJournal(dir: string, count: number, options: Partial<JournalOptions> = {}): Promise<Journal> {
  const journal = await openJournal({ dir, maxBatchRecords: 4, ...options });
  for (let i = 1; i <= count; i++) journal.append(entry(i));
  await journal.close();
  return journal;
}

export async function readLines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').slice(0, -1);
}

export async function writeLines(file: string, lines: readonly string[]): Promise<void> {
  await writeFile(file, lines.map((line) => line + '\n').join(''));
}

export function isSeal(line: string): boolean {
  return typeof (JSON.parse(line) as Record<string, unknown>)['seal'] === 'number';
}

/** 0-based indexes of seal lines. */
export function sealIndexes(lines: readonly string[]): number[] {
  return lines.flatMap((line, i) => (isSeal(line) ? [i] : []));
}
