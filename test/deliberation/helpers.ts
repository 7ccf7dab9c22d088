import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import type { AgentMessage } from '../../src/message/schema.js';
import {
  DeliberationService,
  ManualClock,
  MemoryDeliberationStore,
  type DeliberationEvent,
  type DeliberationItem,
  type DeliberationOptions,
  type RefusalCode,
} from '../../src/deliberation/index.js';

export function makeMessage(overrides: Partial<AgentMessage> = {}): AgentMessage {
  const messageId = overrides.messageId ?? randomUUID();
  return {
    messageId,
    conversationId: messageId,
    correlationId: undefined,
    fromAgent: 'agent-sender',
    toAgent: 'agent-receiver',
    messageType: 'command',
    content: { action: 'transfer', amount: 50_000 },
    payload: undefined,
    headers: undefined,
    tenantId: 'tenant-a',
    priority: 3,
    constitutionalHash: CONSTITUTIONAL_HASH,
    createdAt: 1_700_000_000_000,
    expiresAt: undefined,
    requiredCapabilities: undefined,
    metadata: undefined,
    ...overrides,
  };
}

export interface Harness {
  service: DeliberationService;
  clock: ManualClock;
  store: MemoryDeliberationStore;
  events: DeliberationEvent[];
  released: DeliberationItem[];
  refused: { item: DeliberationItem; code: RefusalCode }[];
}

/** A service on a memory store and a manual clock, with release/refuse/event recorders. */
export async function harness(options: DeliberationOptions = {}, reuse?: { store: MemoryDeliberationStore; clock: ManualClock }): Promise<Harness> {
  const clock = reuse?.clock ?? new ManualClock();
  const store = reuse?.store ?? new MemoryDeliberationStore();
  const events: DeliberationEvent[] = [];
  const service = await DeliberationService.open({ store, clock, onEvent: (e) => events.push(e), ...options });
  const released: DeliberationItem[] = [];
  const refused: { item: DeliberationItem; code: RefusalCode }[] = [];
  service.onRelease((item) => {
    released.push(item);
  });
  service.onRefuse((item, code) => refused.push({ item, code }));
  return { service, clock, store, events, released, refused };
}

/** Lets pending promise callbacks (releases) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

export async function holdOne(service: DeliberationService, overrides: Partial<AgentMessage> = {}, extra: { score?: number; details?: Record<string, unknown> } = {}): Promise<string> {
  const r = await service.hold({
    message: makeMessage(overrides),
    reason: 'impact score above threshold',
    impact: { score: extra.score ?? 0.85, factors: { semantic: 0.9 } },
    details: extra.details,
  });
  return r.deliberationId;
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `eab-delib-${prefix}-`));
}

export function types(events: DeliberationEvent[], itemId?: string): string[] {
  return events.filter((e) => itemId === undefined || e.itemId === itemId).map((e) => e.type);
}
