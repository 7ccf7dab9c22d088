import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { messageDigest } from '../../src/message/digest.js';
import { BUILTIN_POLICIES, DecisionCode, ItemStatus } from '../../src/deliberation/index.js';
import { harness, holdOne, makeMessage, settle, types } from './helpers.js';

const SEC = { reviewerId: 'alice', reason: 'checked the transfer', roles: ['security_team'] };
const COMP = { reviewerId: 'bob', reason: 'compliant', roles: ['compliance_team'] };

describe('human approvals', () => {
  it('holds, approves with role coverage and releases exactly once', async () => {
    const h = await harness();
    const id = await holdOne(h.service);
    const held = h.service.get(id)!;
    assert.equal(held.status, ItemStatus.PENDING);
    assert.equal(held.requirements.policyId, 'high_risk_action');
    assert.equal(held.messageDigest, messageDigest(held.message));
    assert.equal(held.deadlineAt - held.createdAt, 300_000);

    const first = h.service.approve(id, SEC);
    assert.ok(first.ok);
    assert.equal(first.item.status, ItemStatus.UNDER_REVIEW);
    await settle();
    assert.equal(h.released.length, 0, 'not released before the policy is met');

    const second = h.service.approve(id, { ...COMP, messageDigest: held.messageDigest, constitutionalHash: held.constitutionalHash });
    assert.ok(second.ok);
    assert.equal(second.item.status, ItemStatus.APPROVED);
    await settle();
    assert.equal(h.released.length, 1);
    assert.equal(h.released[0]!.message.messageId, held.message.messageId);
    assert.equal(h.service.get(id)!.status, ItemStatus.RELEASED);
    const decisions = h.service.get(id)!.decisions;
    assert.deepEqual(decisions.map((d) => [d.reviewerId, d.messageDigest, d.constitutionalHash]), [
      ['alice', held.messageDigest, held.constitutionalHash],
      ['bob', held.messageDigest, held.constitutionalHash],
    ]);
    assert.deepEqual(types(h.events, id), ['held', 'under_review', 'decision', 'decision', 'approved', 'released']);

    const again = h.service.approve(id, { ...COMP, reviewerId: 'carol' });
    assert.equal(again.ok, false);
    assert.equal(!again.ok && again.code, DecisionCode.CONFLICT);
    await settle();
    assert.equal(h.released.length, 1);
    await h.service.close();
    await h.service.close(); // idempotent
  });

  it('one rejection vetoes, whatever approvals came before', async () => {
    const h = await harness();
    const id = await holdOne(h.service);
    assert.ok(h.service.approve(id, SEC).ok);
    const r = h.service.reject(id, { reviewerId: 'bob', reason: 'amount too high', roles: ['compliance_team'] });
    assert.ok(r.ok);
    assert.equal(r.item.status, ItemStatus.REJECTED);
    assert.equal(r.item.outcome?.reason, 'veto');
    await settle();
    assert.equal(h.released.length, 0);
    assert.deepEqual(h.refused.map((x) => x.code), ['DELIBERATION_REJECTED']);
    await h.service.close();
  });

  it('refuses self-approval, double approval, blank reviewer and blank reason', async () => {
    const h = await harness();
    const id = await holdOne(h.service);
    const self = h.service.approve(id, { ...SEC, reviewerId: 'agent-sender' });
    assert.deepEqual(!self.ok && self.code, DecisionCode.SELF_APPROVAL);
    assert.ok(h.service.approve(id, SEC).ok);
    const twice = h.service.approve(id, { ...SEC, roles: ['compliance_team'] });
    assert.deepEqual(!twice.ok && twice.code, DecisionCode.DUPLICATE_DECISION);
    const noReason = h.service.approve(id, { ...COMP, reason: '   ' });
    assert.deepEqual(!noReason.ok && noReason.code, DecisionCode.REASON_REQUIRED);
    const noReviewer = h.service.approve(id, { ...COMP, reviewerId: '' });
    assert.deepEqual(!noReviewer.ok && noReviewer.code, DecisionCode.REVIEWER_REQUIRED);
    const noRole = h.service.approve(id, { ...COMP, roles: ['tenant_admin'] });
    assert.deepEqual(!noRole.ok && noRole.code, DecisionCode.ROLE_REQUIRED);
    assert.equal(h.service.get(id)!.decisions.length, 1, 'refusals record nothing');
    const missing = h.service.approve('nope', SEC);
    assert.deepEqual(!missing.ok && missing.code, DecisionCode.NOT_FOUND);
    await h.service.close();
  });

  it('an approval naming another message digest, constitution hash or tenant is refused', async () => {
    const h = await harness();
    const id = await holdOne(h.service);
    const otherId = await holdOne(h.service, { content: { action: 'other' } });
    const other = h.service.get(otherId)!;
    const replay = h.service.approve(id, { ...SEC, messageDigest: other.messageDigest });
    assert.deepEqual(!replay.ok && replay.code, DecisionCode.DIGEST_MISMATCH);
    const hash = h.service.approve(id, { ...SEC, constitutionalHash: 'ffffffffffffffff' });
    assert.deepEqual(!hash.ok && hash.code, DecisionCode.HASH_MISMATCH);
    const tenant = h.service.approve(id, { ...SEC, tenantId: 'tenant-b' });
    assert.deepEqual(!tenant.ok && tenant.code, DecisionCode.TENANT_MISMATCH);
    assert.ok(h.service.approve(id, { ...SEC, tenantId: ' Tenant-A ' }).ok, 'tenant compared after normalisation');
    await h.service.close();
  });

  it('requireDigest refuses a decision that does not name the digest', async () => {
    const h = await harness({ requireDigest: true });
    const id = await holdOne(h.service);
    const r = h.service.approve(id, SEC);
    assert.deepEqual(!r.ok && r.code, DecisionCode.DIGEST_MISMATCH);
    assert.ok(h.service.approve(id, { ...SEC, messageDigest: h.service.get(id)!.messageDigest }).ok);
    await h.service.close();
  });

  it('the release re-checks that the stored message still hashes to the approved digest', async () => {
    const h = await harness({}, undefined);
    const id = await holdOne(h.service);
    const item = h.service.get(id)!;
    // tamper with the stored message (as a corrupted store would) before the release runs
    (item as { message: unknown }).message = makeMessage({ messageId: item.message.messageId, content: { action: 'tampered' } });
    h.service.approve(id, SEC);
    h.service.approve(id, COMP);
    await settle();
    assert.equal(h.released.length, 0);
    assert.equal(h.service.get(id)!.status, ItemStatus.REJECTED);
    assert.equal(h.service.get(id)!.outcome?.reason, 'digest_changed');
    assert.equal(h.service.stats().digestChanged, 1);
    await h.service.close();
  });

  it('cancel refuses the message and frees nothing else', async () => {
    const h = await harness();
    const id = await holdOne(h.service);
    const noReason = h.service.cancel(id, { reviewerId: 'ops', reason: '' });
    assert.deepEqual(!noReason.ok && noReason.code, DecisionCode.REASON_REQUIRED);
    const r = h.service.cancel(id, { reviewerId: 'ops', reason: 'duplicate request' });
    assert.ok(r.ok);
    assert.equal(r.item.status, ItemStatus.CANCELLED);
    assert.deepEqual(h.refused.map((x) => x.code), ['DELIBERATION_REJECTED']);
    assert.ok(types(h.events, id).includes('cancelled'));
    await h.service.close();
  });

  it('lists by tenant and status with a cursor', async () => {
    const h = await harness();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await holdOne(h.service, { tenantId: i % 2 === 0 ? 'tenant-a' : 'tenant-b' }));
      h.clock.advance(1);
    }
    assert.ok(h.service.reject(ids[0]!, { ...SEC, reason: 'no' }).ok);
    const page1 = h.service.list({ tenantId: 'tenant-a', limit: 1 });
    assert.deepEqual(page1.items.map((i) => i.id), [ids[0]]);
    const page2 = h.service.list({ tenantId: 'tenant-a', limit: 1, cursor: page1.nextCursor });
    assert.deepEqual(page2.items.map((i) => i.id), [ids[2]]);
    const page3 = h.service.list({ tenantId: 'tenant-a', limit: 5, cursor: page2.nextCursor });
    assert.deepEqual(page3.items.map((i) => i.id), [ids[4]]);
    assert.equal(page3.nextCursor, undefined);
    assert.deepEqual(h.service.list({ status: ItemStatus.PENDING }).items.map((i) => i.id), ids.slice(1));
    assert.deepEqual(h.service.list({ status: ItemStatus.REJECTED, tenantId: 'tenant-b' }).items, []);
    await h.service.close();
  });
});

describe('the four built-in policies', () => {
  const cases = [
    { policy: 'high_risk_action', min: 2, roles: ['security_team', 'compliance_team'] },
    { policy: 'policy_change', min: 2, roles: ['policy_owner', 'platform_admin'] },
    { policy: 'critical_deployment', min: 3, roles: ['engineering_lead', 'security_team', 'on_call'] },
    { policy: 'standard_request', min: 1, roles: ['tenant_admin'] },
  ];

  it('carry the original parameters', () => {
    const byId = Object.fromEntries(BUILTIN_POLICIES.map((p) => [p.id, p]));
    const hours = (ms: number | undefined) => (ms ?? 0) / 3_600_000;
    assert.deepEqual(
      BUILTIN_POLICIES.map((p) => [p.id, p.minApprovers, p.requireAllRoles, hours(p.timeoutMs), hours(p.escalationMs), p.riskThreshold]),
      [
        ['high_risk_action', 2, true, 24, 4, 0.8],
        ['policy_change', 2, true, 48, 8, 0.5],
        ['critical_deployment', 3, true, 4, 1, 0.9],
        ['standard_request', 1, false, 72, 24, 0.5],
      ],
    );
    assert.equal(byId.standard_request!.autoApproveBelow, 0.3);
  });

  for (const c of cases) {
    it(`${c.policy}: needs ${c.min} approvers covering ${c.roles.join(', ')}`, async () => {
      const h = await harness();
      const id = await holdOne(h.service, {}, { details: { approvalPolicy: c.policy } });
      assert.equal(h.service.get(id)!.requirements.policyId, c.policy);
      // min - 1 approvers, or min approvers that all hold the same role, are not enough
      if (c.min > 1) {
        for (let i = 0; i < c.min - 1; i++) assert.ok(h.service.approve(id, { reviewerId: `r${i}`, reason: 'ok', roles: [c.roles[i]!] }).ok);
        assert.equal(h.service.get(id)!.status, ItemStatus.UNDER_REVIEW);
        // the last approver repeats a covered role: count met, coverage not
        assert.ok(h.service.approve(id, { reviewerId: 'dup', reason: 'ok', roles: [c.roles[0]!] }).ok);
        assert.equal(h.service.get(id)!.status, ItemStatus.UNDER_REVIEW, 'role coverage still missing');
        assert.ok(h.service.approve(id, { reviewerId: 'last', reason: 'ok', roles: [c.roles[c.min - 1]!] }).ok);
      } else {
        assert.ok(h.service.approve(id, { reviewerId: 'r0', reason: 'ok', roles: [c.roles[0]!] }).ok);
      }
      assert.equal(h.service.get(id)!.status, ItemStatus.APPROVED);
      await settle();
      assert.equal(h.service.get(id)!.status, ItemStatus.RELEASED);
      assert.equal(h.released.length, 1);
      await h.service.close();
    });
  }

  it('selects by impact score: >= 0.9 critical, >= 0.7 high risk, >= 0.5 policy change, else standard', async () => {
    const h = await harness();
    const pick = async (score: number) => h.service.get(await holdOne(h.service, {}, { score }))!.requirements.policyId;
    assert.equal(await pick(0.95), 'critical_deployment');
    assert.equal(await pick(0.9), 'critical_deployment');
    assert.equal(await pick(0.8), 'high_risk_action');
    assert.equal(await pick(0.6), 'policy_change');
    assert.equal(await pick(0.4), 'standard_request');
    await h.service.close();
  });

  it('selects by message type before the score, and accepts user-defined policies', async () => {
    const h = await harness({
      policies: [{ id: 'two_admins', requiredRoles: ['tenant_admin'], minApprovers: 2 }],
      policySelection: { byMessageType: { governance_request: 'two_admins' } },
    });
    const id = await holdOne(h.service, { messageType: 'governance_request' }, { score: 0.99 });
    assert.equal(h.service.get(id)!.requirements.policyId, 'two_admins');
    assert.ok(h.service.approve(id, { reviewerId: 'a1', reason: 'ok', roles: ['tenant_admin'] }).ok);
    assert.equal(h.service.get(id)!.status, ItemStatus.UNDER_REVIEW);
    assert.ok(h.service.approve(id, { reviewerId: 'a2', reason: 'ok', roles: ['tenant_admin'] }).ok);
    await settle();
    assert.equal(h.released.length, 1);
    assert.throws(() => h.service.hold({ message: makeMessage(), reason: 'x', details: { approvalPolicy: 'missing' } }), /unknown approval policy/);
    await h.service.close();
  });

  it('accepts the request shape the bus sends (impact and policy decision in the annotations)', async () => {
    const h = await harness();
    const message = makeMessage();
    const impact = { score: 0.93, factors: { semantic: 0.9, priority: 1 }, lane: 'deliberation', threshold: 0.8, model: 'keyword' };
    const policyAnnotation = { decision: { allow: true }, cached: false };
    const { deliberationId } = await h.service.hold({ message, reason: 'impact score 0.930 ≥ threshold 0.8', details: { impact }, annotations: { impact, policy: policyAnnotation } });
    const item = h.service.get(deliberationId)!;
    assert.equal(item.requirements.policyId, 'critical_deployment');
    assert.deepEqual(item.impact, { score: 0.93, factors: { semantic: 0.9, priority: 1 } });
    assert.deepEqual(item.policyDecision, policyAnnotation);
    await h.service.close();
  });

  it('standard_request auto-approves below 0.3 and releases at once', async () => {
    const h = await harness();
    const id = await holdOne(h.service, {}, { score: 0.1, details: { approvalPolicy: 'standard_request' } });
    await settle();
    assert.equal(h.service.get(id)!.status, ItemStatus.RELEASED);
    assert.equal(h.service.get(id)!.outcome?.reason, 'auto_approve_low_risk');
    assert.deepEqual(types(h.events, id), ['held', 'approved', 'released']);
    await h.service.close();
  });
});

describe('escalation', () => {
  it('rises a level every escalation interval (scaled to the deadline) and keeps accepting decisions', async () => {
    const h = await harness();
    const id = await holdOne(h.service); // high_risk_action: 4 h of 24 h → 1/6 of 300 s = 50 s
    assert.equal(h.service.get(id)!.requirements.escalationMs, 50_000);
    h.clock.advance(49_999);
    assert.equal(h.service.get(id)!.escalationLevel, 1);
    h.clock.advance(1);
    assert.equal(h.service.get(id)!.status, ItemStatus.ESCALATED);
    assert.equal(h.service.get(id)!.escalationLevel, 2);
    h.clock.advance(50_000);
    assert.equal(h.service.get(id)!.escalationLevel, 3);
    h.clock.advance(50_000);
    assert.equal(h.service.get(id)!.escalationLevel, 4);
    h.clock.advance(50_000);
    assert.equal(h.service.get(id)!.escalationLevel, 4, 'EXECUTIVE is the last level');
    assert.deepEqual(
      h.events.filter((e) => e.type === 'escalated').map((e) => e.details?.to),
      [2, 3, 4],
    );
    assert.ok(h.service.approve(id, SEC).ok);
    assert.ok(h.service.approve(id, COMP).ok);
    await settle();
    assert.equal(h.service.get(id)!.status, ItemStatus.RELEASED);
    await h.service.close();
  });

  it('uses the policy hours with usePolicyTimeouts', async () => {
    const h = await harness({ defaults: { usePolicyTimeouts: true } });
    const id = await holdOne(h.service, {}, { score: 0.95 }); // critical_deployment: 4 h, escalate hourly
    const item = h.service.get(id)!;
    assert.equal(item.deadlineAt - item.createdAt, 4 * 3_600_000);
    h.clock.advance(3_600_000);
    assert.equal(h.service.get(id)!.escalationLevel, 2);
    h.clock.advance(3 * 3_600_000);
    assert.equal(h.service.get(id)!.status, ItemStatus.TIMED_OUT);
    await h.service.close();
  });
});

describe('approval fatigue guard', () => {
  it('flags a reviewer approving too much too fast, and reports it', async () => {
    const h = await harness({ fatigue: { windowMs: 60_000, maxApprovals: 2 }, policies: [{ id: 'one', requiredRoles: [], minApprovers: 1 }] });
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await holdOne(h.service, {}, { details: { approvalPolicy: 'one' } }));
    for (const id of ids.slice(0, 3)) assert.ok(h.service.approve(id, { reviewerId: 'rubber-stamp', reason: 'ok' }).ok);
    assert.equal(h.service.stats().fatigue.flagged, 1);
    assert.equal(h.events.filter((e) => e.type === 'fatigue').length, 1);
    assert.equal(h.service.get(ids[2]!)!.decisions[0]!.fatigueFlagged, true);
    h.clock.advance(60_001);
    assert.ok(h.service.approve(ids[3]!, { reviewerId: 'rubber-stamp', reason: 'ok' }).ok);
    assert.equal(h.service.stats().fatigue.flagged, 1, 'window slid: no new flag');
    await h.service.close();
  });

  it('blocks in block mode', async () => {
    const h = await harness({ fatigue: { windowMs: 60_000, maxApprovals: 1, mode: 'block' }, policies: [{ id: 'one', requiredRoles: [], minApprovers: 1 }] });
    const a = await holdOne(h.service, {}, { details: { approvalPolicy: 'one' } });
    const b = await holdOne(h.service, {}, { details: { approvalPolicy: 'one' } });
    assert.ok(h.service.approve(a, { reviewerId: 'fast', reason: 'ok' }).ok);
    const r = h.service.approve(b, { reviewerId: 'fast', reason: 'ok' });
    assert.deepEqual(!r.ok && r.code, DecisionCode.FATIGUE);
    assert.equal(h.service.get(b)!.status, ItemStatus.PENDING);
    assert.equal(h.service.stats().fatigue.blocked, 1);
    assert.ok(h.service.approve(b, { reviewerId: 'someone-else', reason: 'ok' }).ok);
    await h.service.close();
  });
});
