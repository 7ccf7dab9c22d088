import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hold, PROCEED, reject, RejectionCode, type AgentMessage, type GovernanceContext, type GovernanceStage, type HoldHandler, type Verdict } from '../../src/index.js';
import { assertDelivered, assertRejected, makeBus, msg, recorder, register, sleep } from '../helpers/core.js';

const stage = (name: string, evaluate: GovernanceStage['evaluate']): GovernanceStage => ({ name, evaluate });

describe('user stages', () => {
  it('run in order after the built-in ones, see the context the built-ins filled, and can annotate', async (t) => {
    const order: string[] = [];
    let seenCtx: GovernanceContext | undefined;
    const bus = await makeBus(t, {
      stages: [
        stage('first', (_m, ctx) => {
          order.push('first');
          seenCtx = ctx;
          ctx.annotations.score = 0.25;
          return PROCEED;
        }),
        stage('second', async () => {
          order.push('second');
          return PROCEED;
        }),
      ],
    });
    assert.deepEqual(bus.stageNames, ['pin', 'schema', 'freshness', 'tenant', 'screen', 'first', 'second']);
    await register(bus, 'a', 'b');
    const r = await bus.send(msg('a', 'b'));
    assertDelivered(r, ['b']);
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(seenCtx!.sender?.agentId, 'a');
    assert.equal(seenCtx!.recipient?.agentId, 'b');
    assert.ok(seenCtx!.contentBytes > 0);
    assert.equal(seenCtx!.idGenerated, true);
    assert.deepEqual(r.details, { score: 0.25 });
  });

  it('do not run for messages a built-in stage refused', async (t) => {
    let calls = 0;
    const bus = await makeBus(t, { stages: [stage('count', () => (calls++, PROCEED))] });
    await register(bus, 'a', 'b');
    await bus.send(msg('a', 'b', { constitutionalHash: 'bad' }));
    await bus.send(msg('a', 'nobody'));
    await bus.send(msg('a', 'b', { content: { x: 'jailbreak' } }));
    assert.equal(calls, 0);
  });

  it('a reject from a user stage is returned with its code, reason and details; later stages do not run', async (t) => {
    let later = 0;
    const bus = await makeBus(t, {
      stages: [stage('policy', () => reject(RejectionCode.POLICY_DENIED, 'not on Sundays', { rule: 'r7' })), stage('later', () => (later++, PROCEED))],
    });
    await register(bus, 'a', 'b');
    const r = await bus.send(msg('a', 'b'));
    assertRejected(r, RejectionCode.POLICY_DENIED);
    assert.equal(r.reason, 'not on Sundays');
    assert.deepEqual(r.details, { rule: 'r7' });
    assert.equal(later, 0);
  });

  it('an async reject works the same', async (t) => {
    const bus = await makeBus(t, { stages: [stage('rate', async () => reject(RejectionCode.RATE_LIMITED, 'slow down'))] });
    await register(bus, 'a', 'b');
    assertRejected(await bus.send(msg('a', 'b')), RejectionCode.RATE_LIMITED);
  });
});

describe('STAGE_FAILED: a stage that does not return a verdict fails closed', () => {
  const broken: Array<[string, GovernanceStage['evaluate']]> = [
    ['throws an Error', () => {
      throw new Error('boom');
    }],
    ['throws a string', () => {
      throw 'raw string';
    }],
    ['returns undefined', () => undefined as unknown as Verdict],
    ['returns null', () => null as unknown as Verdict],
    ['returns a number', () => 42 as unknown as Verdict],
    ['returns a string', () => 'proceed' as unknown as Verdict],
    ['returns an object without kind', () => ({ ok: true }) as unknown as Verdict],
    ['returns an unknown kind', () => ({ kind: 'maybe' }) as unknown as Verdict],
    ['returns a rejected promise', () => Promise.reject(new Error('async boom'))],
    ['returns a promise of garbage', () => Promise.resolve({ kind: 'nope' } as unknown as Verdict)],
    ['returns a promise of undefined', () => Promise.resolve(undefined as unknown as Verdict)],
    ['is an async function that throws', async () => {
      await sleep(1);
      throw new TypeError('late');
    }],
    ['returns a thenable that rejects', () => ({ then: (_ok: unknown, fail: (e: unknown) => void) => fail(new Error('thenable')) }) as unknown as Verdict],
  ];
  for (const [name, evaluate] of broken) {
    it(`a stage that ${name}`, async (t) => {
      const rec = recorder();
      const bus = await makeBus(t, { stages: [stage('broken', evaluate)] });
      await register(bus, 'a', 'b');
      bus.subscribe('b', rec.handler);
      const r = await bus.send(msg('a', 'b'));
      assertRejected(r, RejectionCode.STAGE_FAILED);
      assert.match(r.reason!, /broken/, 'the reason names the stage');
      assert.equal(rec.seen.length, 0, 'nothing delivered');
      assert.equal(bus.metrics().byCode.STAGE_FAILED, 1);
      // The bus keeps working afterwards.
      assertRejected(await bus.send(msg('a', 'b')), RejectionCode.STAGE_FAILED);
    });
  }

  it('a failing stage after a hold still refuses', async (t) => {
    const bus = await makeBus(t, {
      deliberation: { hold: () => ({ deliberationId: 'd' }) },
      stages: [stage('h', () => hold('look')), stage('x', () => {
        throw new Error('x');
      })],
    });
    await register(bus, 'a', 'b');
    assertRejected(await bus.send(msg('a', 'b')), RejectionCode.STAGE_FAILED);
  });
});

describe('hold path and deliberation', () => {
  it('a hold with deliberation turned off is refused fail-closed with DELIBERATION_REJECTED', async (t) => {
    const rec = recorder();
    const bus = await makeBus(t, { deliberation: false, stages: [stage('impact', () => hold('impact 0.9'))] });
    await register(bus, 'a', 'b');
    bus.subscribe('b', rec.handler);
    const r = await bus.send(msg('a', 'b'));
    assertRejected(r, RejectionCode.DELIBERATION_REJECTED);
    assert.match(r.reason!, /impact 0\.9/);
    assert.equal(rec.seen.length, 0);
  });

  for (const mode of ['sync', 'async'] as const) {
    it(`with a ${mode} deliberation handler: status held, lane deliberation, deliberationId, not delivered`, async (t) => {
      const requests: Array<Parameters<HoldHandler['hold']>[0]> = [];
      const deliberation: HoldHandler = {
        hold: (request) => {
          requests.push(request);
          const id = { deliberationId: `delib-${requests.length}` };
          return mode === 'sync' ? id : sleep(2).then(() => id);
        },
      };
      const rec = recorder();
      const bus = await makeBus(t, {
        deliberation,
        stages: [stage('impact', (_m, ctx) => {
          ctx.annotations.impact = 0.93;
          return hold('high impact', { score: 0.93 });
        })],
      });
      await register(bus, 'a', 'b');
      bus.subscribe('b', rec.handler);
      const r = await bus.send(msg('a', 'b', { messageId: 'held-1' }));
      assert.equal(r.ok, true);
      assert.equal(r.status, 'held');
      assert.equal(r.lane, 'deliberation');
      assert.equal(r.deliberationId, 'delib-1');
      assert.equal(r.messageId, 'held-1');
      assert.deepEqual(r.recipients, []);
      assert.equal(r.code, undefined);
      assert.equal(r.reason, 'high impact');
      assert.deepEqual(r.details, { impact: 0.93 });
      assert.equal(rec.seen.length, 0, 'a held message is not delivered');
      assert.equal(bus.pending('b'), 0);
      assert.equal(requests.length, 1);
      assert.equal(requests[0]!.message.messageId, 'held-1');
      assert.equal(requests[0]!.reason, 'high impact');
      assert.deepEqual(requests[0]!.details, { score: 0.93 });
      assert.deepEqual(requests[0]!.annotations, { impact: 0.93 });
      const m = bus.metrics();
      assert.equal(m.held, 1);
      assert.equal(m.tenants.acme?.held, 1);
      // A held id is remembered: sending it again is a duplicate.
      assertRejected(await bus.send(msg('a', 'b', { messageId: 'held-1' })), RejectionCode.DUPLICATE);
    });
  }

  it('a later stage reject wins over an earlier hold; the deliberation handler is not called', async (t) => {
    let holds = 0;
    const bus = await makeBus(t, {
      deliberation: { hold: () => (holds++, { deliberationId: 'd' }) },
      stages: [stage('impact', () => hold('review')), stage('policy', async () => reject(RejectionCode.POLICY_DENIED, 'denied'))],
    });
    await register(bus, 'a', 'b');
    assertRejected(await bus.send(msg('a', 'b')), RejectionCode.POLICY_DENIED);
    assert.equal(holds, 0);
  });

  it('the first hold reason is kept when several stages hold', async (t) => {
    const bus = await makeBus(t, {
      deliberation: { hold: () => ({ deliberationId: 'd' }) },
      stages: [stage('one', () => hold('first reason')), stage('two', async () => hold('second reason'))],
    });
    await register(bus, 'a', 'b');
    const r = await bus.send(msg('a', 'b'));
    assert.equal(r.status, 'held');
    assert.equal(r.reason, 'first reason');
  });

  it('a deliberation handler that throws or rejects refuses with STAGE_FAILED, and the id stays usable', async (t) => {
    let fail: 'throw' | 'reject' | 'none' = 'throw';
    const bus = await makeBus(t, {
      deliberation: {
        hold: () => {
          if (fail === 'throw') throw new Error('store down');
          if (fail === 'reject') return Promise.reject(new Error('store down'));
          return { deliberationId: 'ok' };
        },
      },
      stages: [stage('impact', () => hold('review'))],
    });
    await register(bus, 'a', 'b');
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'h1' })), RejectionCode.STAGE_FAILED);
    fail = 'reject';
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'h1' })), RejectionCode.STAGE_FAILED);
    fail = 'none';
    assert.equal((await bus.send(msg('a', 'b', { messageId: 'h1' }))).status, 'held');
  });

  it('release() of a message that was never held delivers it to its recipient', async (t) => {
    const rec = recorder();
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    bus.subscribe('b', rec.handler);
    const message = { messageId: 'approved-elsewhere', conversationId: 'c', correlationId: undefined, fromAgent: 'a', toAgent: 'b', messageType: 'command', content: { x: 1 }, payload: undefined, headers: undefined, tenantId: 'acme', priority: 1, constitutionalHash: 'cdd01ef066bc6cf2', createdAt: 1, expiresAt: undefined, requiredCapabilities: undefined, metadata: undefined } satisfies AgentMessage;
    const r = await bus.release(message);
    assertDelivered(r, ['b']);
    assert.equal(rec.seen[0]!.message, message);
  });

  it('release() re-checks the sender and the recipient tenant', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', { agentId: 'g', tenantId: 'globex' });
    const base = { conversationId: 'c', correlationId: undefined, messageType: 'command', content: {}, payload: undefined, headers: undefined, tenantId: 'acme', priority: 1, constitutionalHash: 'cdd01ef066bc6cf2', createdAt: 1, expiresAt: undefined, requiredCapabilities: undefined, metadata: undefined } as const;
    assertRejected(await bus.release({ ...base, messageId: 'r1', fromAgent: 'gone', toAgent: 'a' }), RejectionCode.UNKNOWN_SENDER);
    assertRejected(await bus.release({ ...base, messageId: 'r2', fromAgent: 'a', toAgent: 'g' }), RejectionCode.TENANT_MISMATCH);
    assertRejected(await bus.release({ ...base, messageId: 'r3', fromAgent: 'a', toAgent: 'missing' }), RejectionCode.UNKNOWN_RECIPIENT);
  });
});
