import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RejectionCode } from '../../src/errors.js';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import {
  bundleContentHash,
  ConstitutionManager,
  createPolicyStage,
  DEFAULT_BUNDLE_CONTENT_HASH,
  DEFAULT_BUNDLE_DIR,
  readBundleDirectory,
  type PolicyAnnotation,
  type PolicyStage,
} from '../../src/policy/index.js';
import type { AgentRecord } from '../../src/registry/types.js';
import { agent, BUSINESS_HOURS, context, message, WEEKEND_NIGHT } from './helpers.js';

type MsgOpts = Parameters<typeof message>[1];

describe('default constitution (policies/default)', () => {
  const manager = new ConstitutionManager();
  let stage: PolicyStage;

  before(async () => {
    const loaded = await manager.loadDefault();
    assert.equal(loaded.ok, true);
    stage = createPolicyStage({ constitution: manager, cache: false });
  });
  after(async () => {
    await stage.close();
    await manager.close();
  });

  function decide(from: AgentRecord, to: AgentRecord | undefined, opts: MsgOpts = {}, ctxOpts: { now?: number; contentBytes?: number } = {}) {
    const ctx = context(from, to, ctxOpts);
    const verdict = stage.evaluate(message(from, { to, ...opts }), ctx);
    assert.ok(!(verdict instanceof Promise), 'Cedar decisions are synchronous');
    const annotation = ctx.annotations['policy'] as PolicyAnnotation;
    return { verdict, decision: annotation.decision! };
  }

  function assertAllowed(result: ReturnType<typeof decide>): void {
    assert.equal(result.verdict.kind, 'proceed', JSON.stringify(result.decision));
    assert.deepEqual(result.decision.policyIds, ['baseline-permit']);
  }

  function assertDenied(result: ReturnType<typeof decide>, policyId: string): void {
    assert.equal(result.verdict.kind, 'reject');
    assert.ok(result.verdict.kind === 'reject');
    assert.equal(result.verdict.code, RejectionCode.POLICY_DENIED);
    assert.deepEqual(result.decision.policyIds, [policyId]);
    assert.match(result.verdict.reason, new RegExp(policyId));
  }

  const worker = agent('worker-1');
  const peer = agent('worker-2');

  it('is identified by the legacy hash, and the pinned content hash matches the shipped files', async () => {
    assert.equal(manager.activeHash, CONSTITUTIONAL_HASH);
    assert.equal(bundleContentHash(await readBundleDirectory(DEFAULT_BUNDLE_DIR)), DEFAULT_BUNDLE_CONTENT_HASH);
    assert.equal(manager.active?.contentHash, DEFAULT_BUNDLE_CONTENT_HASH);
    assert.equal(manager.settings.impactThreshold, 0.8);
    const { decision } = decide(worker, peer);
    assert.equal(decision.bundleHash, CONSTITUTIONAL_HASH);
    assert.equal(decision.engine, 'cedar');
  });

  it('baseline-permit: an ordinary message between agents of one tenant passes', () => {
    assertAllowed(decide(worker, peer));
    assertAllowed(decide(worker, undefined, { requiredCapabilities: ['search'], messageType: 'query' }));
    assertAllowed(decide(worker, undefined, { messageType: 'event' }));
  });

  it('constitutional-hash: a message naming another hash is denied', () => {
    assertDenied(decide(worker, peer, { constitutionalHash: 'deadbeefdeadbeef' }), 'constitutional-hash');
    assertAllowed(decide(worker, peer, { constitutionalHash: CONSTITUTIONAL_HASH }));
  });

  it('tenant-isolation: cross-tenant messages are denied unless the sender is global_admin', () => {
    const foreign = agent('other-1', { tenantId: 'globex' });
    assertDenied(decide(worker, foreign), 'tenant-isolation');
    assertAllowed(decide(agent('root', { roles: ['global_admin'] }), foreign));
  });

  it('governance-role-required: governance message types need the governance or admin role', () => {
    assertDenied(decide(worker, peer, { messageType: 'governance_request' }), 'governance-role-required');
    assertDenied(decide(worker, peer, { messageType: 'constitutional_validation' }), 'governance-role-required');
    assertAllowed(decide(agent('gov', { roles: ['governance'] }), peer, { messageType: 'governance_request' }));
    assertAllowed(decide(agent('adm', { roles: ['admin'] }), peer, { messageType: 'governance_response' }));
  });

  it('destructive-role-required: destructive commands need operator or admin', () => {
    assertDenied(decide(worker, peer, { labels: ['delete'] }), 'destructive-role-required');
    assertDenied(decide(worker, peer, { messageType: 'task_request', labels: ['shutdown'] }), 'destructive-role-required');
    assertAllowed(decide(agent('op', { roles: ['operator'] }), peer, { labels: ['delete'] }));
    // Only commands and task requests are "destructive"; a query labelled delete is not.
    assertAllowed(decide(worker, peer, { messageType: 'query', labels: ['delete'] }));
  });

  it('developer-not-in-production: developers may not send production commands', () => {
    const dev = agent('dev', { roles: ['developer'] });
    assertDenied(decide(dev, peer, { labels: ['production'] }), 'developer-not-in-production');
    assertAllowed(decide(dev, peer, { labels: ['staging'] }));
    assertAllowed(decide(agent('devop', { roles: ['developer', 'operator'] }), peer, { labels: ['production'] }));
  });

  it('compliance-size-limit: huge messages (>= 100,000 bytes) need bulk_transfer', () => {
    assertDenied(decide(worker, peer, {}, { contentBytes: 150_000 }), 'compliance-size-limit');
    assertAllowed(decide(worker, peer, {}, { contentBytes: 99_999 }));
    assertAllowed(decide(agent('bulk', { roles: ['bulk_transfer'] }), peer, {}, { contentBytes: 150_000 }));
  });

  it('sensitive-data-clearance: messages labelled pii/financial_data/user_data need data_clearance', () => {
    assertDenied(decide(worker, peer, { labels: ['pii'] }), 'sensitive-data-clearance');
    assertDenied(decide(worker, peer, { messageType: 'event', labels: ['financial_data'] }), 'sensitive-data-clearance');
    assertAllowed(decide(agent('dc', { roles: ['data_clearance'] }), peer, { labels: ['pii', 'user_data'] }));
  });

  it('destructive-business-hours: destructive commands only Mon-Fri 09:00-18:00 unless after_hours', () => {
    const op = agent('op', { roles: ['operator'] });
    assertAllowed(decide(op, peer, { labels: ['deploy'] }, { now: BUSINESS_HOURS }));
    assertDenied(decide(op, peer, { labels: ['deploy'] }, { now: WEEKEND_NIGHT }), 'destructive-business-hours');
    assertDenied(decide(op, peer, { labels: ['deploy'] }, { now: Date.UTC(2026, 0, 7, 18, 0, 0) }), 'destructive-business-hours');
    assertAllowed(decide(agent('night-op', { roles: ['operator', 'after_hours'] }), peer, { labels: ['deploy'] }, { now: WEEKEND_NIGHT }));
    assertAllowed(decide(agent('adm', { roles: ['admin'] }), peer, { labels: ['deploy'] }, { now: WEEKEND_NIGHT }));
  });

  it('reports every matching forbid when several deny', () => {
    const foreign = agent('other-1', { tenantId: 'globex' });
    const { decision, verdict } = decide(worker, foreign, { messageType: 'governance_request', labels: ['pii'] });
    assert.equal(verdict.kind, 'reject');
    assert.deepEqual([...decision.policyIds].sort(), ['governance-role-required', 'sensitive-data-clearance', 'tenant-isolation']);
  });
});

describe('size classes through the bus: measured on the real size, not the bound', () => {
  it('compliance-size-limit refuses from 100,000 real bytes, and only from there', async () => {
    const { AgentBus } = await import('../../src/index.js');
    const bus = new AgentBus({ impact: false });
    await bus.start();
    try {
      await bus.registerAgent({ agentId: 'w1', tenantId: 'acme', agentType: 'worker' });
      await bus.registerAgent({ agentId: 'w2', tenantId: 'acme', agentType: 'worker' });
      bus.subscribe('w2', () => undefined);
      const send = (chars: number) =>
        bus.send({ fromAgent: 'w1', toAgent: 'w2', tenantId: 'acme', constitutionalHash: CONSTITUTIONAL_HASH, messageType: 'event', content: { text: 'a'.repeat(chars) } });
      // {"text":"…"} is chars + 11 bytes: the 6-bytes-per-character bound put 17k–44k characters in 'huge'.
      for (const chars of [1_000, 16_000, 20_000, 50_000, 99_988]) assert.equal((await send(chars)).status, 'delivered', `${chars} characters`);
      const huge = await send(99_989);
      assert.equal(huge.code, 'POLICY_DENIED');
      assert.match(huge.reason ?? '', /compliance-size-limit/);
    } finally {
      await bus.stop();
    }
  });
});
