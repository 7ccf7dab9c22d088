/**
 * The sessions' index of retained messages by delivery id: every ack names exactly the message it
 * acknowledges, whatever the ids a client sends, and the counts stay right under any interleaving
 * of deliveries, leases, acks and detaches (a property test against a model).
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import fc from 'fast-check';
import { AgentBus } from '../../src/bus.js';
import { SessionManager } from '../../src/server/index.js';
import type { Retained } from '../../src/server/sessions.js';
import { config, HASH } from './helpers.js';

async function setup(t: TestContext): Promise<{ bus: AgentBus; sessions: SessionManager }> {
  const bus = new AgentBus({ policy: false, impact: false, deliberation: false, metering: false, drainTimeoutMs: 50 });
  await bus.start();
  await bus.registerAgent({ agentId: 'alice', tenantId: 'acme' });
  await bus.registerAgent({ agentId: 'bob', tenantId: 'acme' });
  const sessions = new SessionManager(bus, config().delivery, 0);
  t.after(async () => {
    sessions.closeAll();
    await bus.stop();
  });
  return { bus, sessions };
}

async function send(bus: AgentBus, n: number): Promise<void> {
  const r = await bus.send({ fromAgent: 'alice', toAgent: 'bob', tenantId: 'acme', constitutionalHash: HASH, content: { n } });
  assert.equal(r.ok, true, JSON.stringify(r));
}

describe('session index', () => {
  it('an ack of an id that is not a delivery of this session acknowledges nothing', async (t) => {
    const { bus, sessions } = await setup(t);
    const bob = sessions.open('bob', 'acme');
    for (let i = 0; i < 3; i++) await send(bus, i);
    const [first] = bob.take(1, 60_000);
    const seq = first!.id - sessions.idBase;
    // The same low 31 bits as a live delivery, below the id base, far above it, fractional: none is a delivery.
    const bogus = [first!.id + 2 ** 31, first!.id - 2 ** 31, sessions.idBase - 1, sessions.idBase + seq + 2 ** 32, -first!.id, 0, Number.MAX_SAFE_INTEGER];
    assert.deepEqual(bob.ack(bogus), { acked: [], unknown: bogus });
    assert.equal(bob.retained, 3);
    assert.equal(bob.leasedCount, 1);
    assert.deepEqual(bob.ack([first!.id, first!.id]), { acked: [first!.id], unknown: [first!.id] });
    assert.equal(bob.retained, 2);
    assert.equal(bob.leasedCount, 0);
  });

  it('past 2^31 deliveries, a new message never takes the key of one still held', async (t) => {
    const { bus, sessions } = await setup(t);
    const bob = sessions.open('bob', 'acme');
    await send(bus, 0); // seq 1
    // 2^31 deliveries later (to other agents), message 0 still unacknowledged: the next seq, 2^31 + 1, shares its key.
    (sessions as unknown as { seq: number }).seq = 2 ** 31;
    await send(bus, 1);
    assert.equal(bob.retained, 2);
    assert.equal(sessions.stats().retained, 2);
    const taken = bob.take(10, 60_000);
    assert.deepEqual(
      taken.map((e) => (e.message.content as { n: number }).n),
      [0, 1],
    );
    assert.equal(taken[1]!.seq, 2 ** 31 + 2, 'the seq whose key was held is skipped');
    assert.deepEqual(bob.ack([taken[1]!.id]), { acked: [taken[1]!.id], unknown: [] });
    assert.deepEqual(bob.ack([taken[0]!.id]), { acked: [taken[0]!.id], unknown: [] });
    assert.equal(bob.retained, 0);
    assert.equal(sessions.stats().retained, 0);
  });

  it('keeps retained, leased and queued counts and acks right under any interleaving (model check)', async (t) => {
    const { bus, sessions } = await setup(t);
    type Op = { kind: 'send'; count: number } | { kind: 'take'; count: number } | { kind: 'ack'; picks: number[] } | { kind: 'ackUnknown' } | { kind: 'detach' };
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('send' as const), count: fc.integer({ min: 1, max: 5 }) }),
      fc.record({ kind: fc.constant('take' as const), count: fc.integer({ min: 1, max: 4 }) }),
      fc.record({ kind: fc.constant('ack' as const), picks: fc.array(fc.nat(), { maxLength: 4 }) }),
      fc.constant({ kind: 'ackUnknown' as const }),
      fc.constant({ kind: 'detach' as const }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 30 }), async (ops) => {
        sessions.drop('bob');
        const bob = sessions.open('bob', 'acme');
        const sink = { deliver: (_entries: readonly Retained[]) => undefined };
        const queued = new Set<number>(); // content n of messages not leased
        const leased = new Map<number, number>(); // delivery id -> n
        const acked = new Set<number>();
        let next = 0;
        for (const o of ops) {
          if (o.kind === 'send') {
            for (let i = 0; i < o.count; i++) {
              await send(bus, next);
              queued.add(next++);
            }
          } else if (o.kind === 'take') {
            for (const entry of bob.take(o.count, 60_000)) {
              const n = (entry.message.content as { n: number }).n;
              assert.ok(queued.delete(n), `message ${n} was handed out twice or never sent`);
              leased.set(entry.id, n);
            }
          } else if (o.kind === 'ack') {
            const ids = [...leased.keys()];
            const chosen = o.picks.map((p) => ids[p % Math.max(1, ids.length)]).filter((x): x is number => x !== undefined);
            const unique = [...new Set(chosen)];
            const result = bob.ack(unique);
            assert.deepEqual(result.acked, unique);
            for (const id of unique) {
              acked.add(leased.get(id)!);
              leased.delete(id);
            }
          } else if (o.kind === 'ackUnknown') {
            const id = sessions.idBase + 2 ** 31 + (leased.keys().next().value ?? 1) - sessions.idBase;
            assert.deepEqual(bob.ack([id]), { acked: [], unknown: [id] });
          } else {
            // A push consumer that detaches returns every lease it held: attach one, take nothing, detach.
            bob.attach(sink);
            bob.detach(sink);
          }
          assert.equal(bob.retained, queued.size + leased.size);
          assert.equal(bob.leasedCount, leased.size);
          assert.equal(bob.queued, queued.size);
        }
        // Whatever is left comes out in order, once.
        const rest = bob.take(1_000, 60_000).map((e) => (e.message.content as { n: number }).n);
        for (const n of rest) assert.ok(!acked.has(n), `acked message ${n} delivered again`);
        assert.equal(rest.length, queued.size);
      }),
      { numRuns: 60 },
    );
  });
});
