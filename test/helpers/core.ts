/**
 * Shared helpers for the core bus tests (test/core). Every bus made here is stopped after the
 * test that made it, so no timer or pending request outlives its test.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import {
  AgentBus,
  CONSTITUTIONAL_HASH,
  REJECTION_CODES,
  type AgentBusOptions,
  type AgentMessage,
  type AgentRegistration,
  type DeliveryContext,
  type MessageInput,
  type RejectionCode,
  type SendResult,
} from '../../src/index.js';

export const HASH = CONSTITUTIONAL_HASH;
export const TENANT = 'acme';

/**
 * The core tests exercise the built-in stages, routing and delivery: the policy and impact stages
 * (on by default) are off unless a test turns them on, so CRITICAL test messages are not held and
 * no Cedar or fastText model loads per test.
 */
export const CORE_ONLY: AgentBusOptions = { policy: false, impact: false };

/** A started bus (metering off unless asked for) that is stopped when the test ends. */
export async function makeBus(t: TestContext, options: AgentBusOptions = {}): Promise<AgentBus> {
  const bus = new AgentBus({ ...CORE_ONLY, metering: false, ...options });
  await bus.start();
  t.after(() => bus.stop());
  return bus;
}

/** Registers agents given as ids (tenant acme) or full registrations. */
export async function register(bus: AgentBus, ...agents: Array<string | AgentRegistration>): Promise<void> {
  for (const a of agents) await bus.registerAgent(typeof a === 'string' ? { agentId: a, tenantId: TENANT } : a);
}

/** A valid message input from `from` to `to` (tenant acme unless overridden). */
export function msg(from: string, to: string | undefined, extra: Partial<MessageInput> & Record<string, unknown> = {}): MessageInput {
  const base: Record<string, unknown> = { fromAgent: from, tenantId: TENANT, constitutionalHash: HASH, content: { text: 'hello' } };
  if (to !== undefined) base.toAgent = to;
  return { ...base, ...extra } as MessageInput;
}

/** Records every message a push handler saw. */
export function recorder(): { seen: Array<{ message: AgentMessage; ctx: DeliveryContext }>; handler: (m: AgentMessage, c: DeliveryContext) => void } {
  const seen: Array<{ message: AgentMessage; ctx: DeliveryContext }> = [];
  return { seen, handler: (message, ctx) => void seen.push({ message, ctx }) };
}

export function assertRejected(result: SendResult, code: RejectionCode, why?: string): void {
  assert.equal(result.ok, false, `${why ?? ''} expected a refusal with ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.status, 'rejected', why);
  assert.equal(result.code, code, `${why ?? ''} ${result.reason ?? ''}`);
  assert.deepEqual(result.recipients, []);
  assert.equal(typeof result.reason, 'string');
}

export function assertDelivered(result: SendResult, recipients?: string[]): void {
  assert.equal(result.ok, true, `expected delivery, got ${JSON.stringify(result)}`);
  assert.equal(result.status, 'delivered');
  assert.equal(result.code, undefined);
  if (recipients !== undefined) assert.deepEqual([...result.recipients].sort(), [...recipients].sort());
}

export function isRejectionCode(code: unknown): code is RejectionCode {
  return typeof code === 'string' && (REJECTION_CODES as readonly string[]).includes(code);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Lets queued microtasks and immediates run. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A promise with its resolve/reject exposed. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves with the promise's value, or with 'pending' if it has not settled after `ms`. */
export async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A controllable clock for tests that depend on lastSeen or expiry. */
export function manualClock(start = Date.UTC(2026, 0, 7, 10, 0, 0)): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (ms) => void (t = ms) };
}
