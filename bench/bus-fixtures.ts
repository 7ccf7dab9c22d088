/**
 * The bus benchmarks' shared fixtures: the message every workload sends, a bus with the issue #2
 * stages, and the EventEmitter baseline.
 */
import { EventEmitter } from 'node:events';
import { AgentBus, CONSTITUTIONAL_HASH, type AgentBusOptions, type MessageInput } from '../src/index.js';

export function input(from: string, to: string): MessageInput {
  return {
    fromAgent: from,
    toAgent: to,
    tenantId: 'acme',
    constitutionalHash: CONSTITUTIONAL_HASH,
    messageType: 'command',
    content: { action: 'summarise', document: 'quarterly-report-7', detail: 'short' },
  };
}

/** Issue #2 workloads: the built-in stages (pin, schema, freshness, tenant, screen), metering on. */
export async function newBus(extra: AgentBusOptions = { policy: false, impact: false }): Promise<AgentBus> {
  const window = process.env.BENCH_DUP_CAPACITY === undefined ? undefined : { capacity: Number(process.env.BENCH_DUP_CAPACITY) };
  const bus = new AgentBus({ metering: { flushIntervalMs: 1000, maxQueueSize: 1_000_000 }, inboxCapacity: 1_000_000, duplicateWindow: window, ...extra });
  await bus.start();
  return bus;
}

export function baselineEmitter(): { emitter: EventEmitter; send: (m: MessageInput) => Promise<boolean> } {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  let delivered = 0;
  emitter.on('worker', () => {
    delivered++;
  });
  // Same shape of API as bus.send: an async call that resolves once the handler ran.
  const send = (m: MessageInput) => Promise.resolve(emitter.emit(m.toAgent!, m));
  void delivered;
  return { emitter, send };
}
