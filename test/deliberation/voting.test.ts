import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DecisionCode, ItemStatus, signVote, tally, type ElectionSpec, type Vote, type VoteChoice } from '../../src/deliberation/index.js';
import { harness, holdOne, settle, types } from './helpers.js';

function votes(...choices: VoteChoice[]): Vote[] {
  return choices.map((vote, i) => ({ agentId: `a${i}`, vote, reason: undefined, signed: false, at: 0 }));
}
const spec = (strategy: ElectionSpec['strategy'], n: number): ElectionSpec => ({ strategy, participants: Array.from({ length: n }, (_, i) => `a${i}`) });
const outcome = (s: ElectionSpec, v: Vote[]) => {
  const t = tally(s, v);
  return t.decided ? `${t.result}:${t.rule}` : 'open';
};

describe('election arithmetic', () => {
  it('quorum: approve when approvals > N/2, reject when rejections >= N/2 (ties reject)', () => {
    assert.equal(outcome(spec('quorum', 5), votes('approve', 'approve')), 'open');
    assert.equal(outcome(spec('quorum', 5), votes('approve', 'approve', 'approve')), 'approve:quorum');
    assert.equal(outcome(spec('quorum', 5), votes('reject', 'reject')), 'open');
    assert.equal(outcome(spec('quorum', 5), votes('reject', 'reject', 'reject')), 'reject:quorum');
    assert.equal(outcome(spec('quorum', 4), votes('approve', 'approve')), 'open', '2 of 4 is not > N/2');
    assert.equal(outcome(spec('quorum', 4), votes('approve', 'approve', 'reject', 'reject')), 'reject:quorum', 'a tie rejects');
    assert.equal(outcome(spec('quorum', 4), votes('reject', 'reject')), 'reject:quorum');
    assert.equal(outcome(spec('quorum', 3), votes('approve', 'abstain', 'reject')), 'reject:no_majority');
  });

  it('unanimous: every participant approves; any rejection rejects; an abstention cannot approve', () => {
    assert.equal(outcome(spec('unanimous', 3), votes('approve', 'approve')), 'open');
    assert.equal(outcome(spec('unanimous', 3), votes('approve', 'approve', 'approve')), 'approve:unanimous');
    assert.equal(outcome(spec('unanimous', 3), votes('approve', 'reject')), 'reject:unanimous');
    assert.equal(outcome(spec('unanimous', 3), votes('approve', 'approve', 'abstain')), 'reject:no_majority');
  });

  it('super-majority: approve when approvals >= 2N/3, reject when rejections > N/3', () => {
    assert.equal(outcome(spec('super_majority', 3), votes('approve', 'approve')), 'approve:super_majority');
    assert.equal(outcome(spec('super_majority', 6), votes('approve', 'approve', 'approve')), 'open');
    assert.equal(outcome(spec('super_majority', 6), votes('approve', 'approve', 'approve', 'approve')), 'approve:super_majority');
    assert.equal(outcome(spec('super_majority', 6), votes('reject', 'reject')), 'open', '2 of 6 is not > N/3');
    assert.equal(outcome(spec('super_majority', 6), votes('reject', 'reject', 'reject')), 'reject:super_majority');
    assert.equal(outcome(spec('super_majority', 3), votes('reject')), 'open');
    assert.equal(outcome(spec('super_majority', 3), votes('reject', 'reject')), 'reject:super_majority');
  });

  it('property: a complete election always closes, and all-reject always rejects', () => {
    const strategy = fc.constantFrom<ElectionSpec['strategy']>('quorum', 'unanimous', 'super_majority');
    const choice = fc.constantFrom<VoteChoice>('approve', 'reject', 'abstain');
    fc.assert(
      fc.property(strategy, fc.array(choice, { minLength: 1, maxLength: 15 }), (s, cs) => {
        const t = tally(spec(s, cs.length), votes(...cs));
        assert.equal(t.decided, true);
        assert.equal(t.approvals + t.rejections + t.abstentions, cs.length);
        if (cs.every((c) => c === 'reject')) assert.equal(t.decided && t.result, 'reject');
        if (cs.every((c) => c === 'approve')) assert.equal(t.decided && t.result, 'approve');
      }),
    );
  });

  it('property: the outcome of a prefix never flips once decided in favour of approve vs reject counts', () => {
    fc.assert(
      fc.property(fc.constantFrom<ElectionSpec['strategy']>('quorum', 'unanimous', 'super_majority'), fc.array(fc.constantFrom<VoteChoice>('approve', 'reject', 'abstain'), { minLength: 1, maxLength: 12 }), (s, cs) => {
        const sp = spec(s, cs.length);
        const t = tally(sp, votes(...cs));
        if (t.decided && t.rule !== 'no_majority' && t.result === 'approve') {
          // an approval never happens with more rejections than the rule allows
          if (s === 'unanimous') assert.equal(t.rejections, 0);
          if (s === 'quorum') assert.ok(t.approvals * 2 > cs.length);
          if (s === 'super_majority') assert.ok(t.approvals * 3 >= cs.length * 2);
        }
      }),
    );
  });
});

describe('agent elections on held items', () => {
  const election = { strategy: 'quorum', participants: ['v1', 'v2', 'v3'] };
  const agentOnly = [{ id: 'agents', minApprovers: 0, election: { strategy: 'quorum' as const, participants: ['v1', 'v2', 'v3'] } }];

  it('approves and releases on a quorum of agent votes', async () => {
    const h = await harness({ policies: agentOnly });
    const id = await holdOne(h.service, {}, { details: { approvalPolicy: 'agents' } });
    assert.ok(h.service.vote(id, { agentId: 'v1', vote: 'approve' }).ok);
    assert.equal(h.service.get(id)!.status, ItemStatus.UNDER_REVIEW);
    assert.ok(h.service.vote(id, { agentId: 'v2', vote: 'approve', reason: 'fine' }).ok);
    await settle();
    assert.equal(h.service.get(id)!.status, ItemStatus.RELEASED);
    assert.equal(h.service.get(id)!.outcome?.reason, 'election_approve');
    assert.deepEqual(types(h.events, id), ['held', 'under_review', 'vote', 'vote', 'approved', 'released']);
    const human = h.service.approve(id, { reviewerId: 'x', reason: 'y' });
    assert.deepEqual(!human.ok && human.code, DecisionCode.CONFLICT);
    await h.service.close();
  });

  it('votes can reject: a rejection majority refuses the message', async () => {
    const h = await harness();
    const id = await holdOne(h.service, {}, { details: { election } });
    assert.ok(h.service.vote(id, { agentId: 'v1', vote: 'reject' }).ok);
    assert.ok(h.service.vote(id, { agentId: 'v2', vote: 'reject' }).ok);
    assert.equal(h.service.get(id)!.status, ItemStatus.REJECTED);
    assert.equal(h.service.get(id)!.outcome?.reason, 'election_deny');
    assert.deepEqual(h.refused.map((r) => r.code), ['DELIBERATION_REJECTED']);
    await h.service.close();
  });

  it('an election and human approvals must both approve', async () => {
    const h = await harness();
    const id = await holdOne(h.service, {}, { details: { election } });
    assert.ok(h.service.vote(id, { agentId: 'v1', vote: 'approve' }).ok);
    assert.ok(h.service.vote(id, { agentId: 'v2', vote: 'approve' }).ok);
    assert.equal(h.service.get(id)!.status, ItemStatus.UNDER_REVIEW, 'humans have not approved yet');
    assert.ok(h.service.approve(id, { reviewerId: 'alice', reason: 'ok', roles: ['security_team'] }).ok);
    assert.ok(h.service.approve(id, { reviewerId: 'bob', reason: 'ok', roles: ['compliance_team'] }).ok);
    await settle();
    assert.equal(h.service.get(id)!.status, ItemStatus.RELEASED);
    assert.equal(h.service.get(id)!.outcome?.reason, 'approvals_and_election_met');
    await h.service.close();
  });

  it('refuses non-participants, second votes, bad choices and votes on items without an election', async () => {
    const h = await harness();
    const id = await holdOne(h.service, {}, { details: { election } });
    const outsider = h.service.vote(id, { agentId: 'mallory', vote: 'approve' });
    assert.deepEqual(!outsider.ok && outsider.code, DecisionCode.NOT_A_PARTICIPANT);
    assert.ok(h.service.vote(id, { agentId: 'v1', vote: 'abstain' }).ok);
    const again = h.service.vote(id, { agentId: 'v1', vote: 'approve' });
    assert.deepEqual(!again.ok && again.code, DecisionCode.ALREADY_VOTED);
    const bad = h.service.vote(id, { agentId: 'v2', vote: 'maybe' as VoteChoice });
    assert.deepEqual(!bad.ok && bad.code, DecisionCode.INVALID_VOTE);
    const plain = await holdOne(h.service);
    const none = h.service.vote(plain, { agentId: 'v1', vote: 'approve' });
    assert.deepEqual(!none.ok && none.code, DecisionCode.NO_ELECTION);
    await h.service.close();
  });

  it('an election still open at the deadline is denied (timed out)', async () => {
    const h = await harness();
    const id = await holdOne(h.service, {}, { details: { election } });
    assert.ok(h.service.vote(id, { agentId: 'v1', vote: 'approve' }).ok);
    h.clock.advance(300_000);
    assert.equal(h.service.get(id)!.status, ItemStatus.TIMED_OUT);
    assert.deepEqual(h.refused.map((r) => r.code), ['DELIBERATION_TIMED_OUT']);
    await h.service.close();
  });

  it('Ed25519: a signed vote verifies; forged, replayed or unsigned ones are refused', async () => {
    const v1 = generateKeyPairSync('ed25519');
    const v2 = generateKeyPairSync('ed25519');
    const h = await harness({ voterKeys: { v1: v1.publicKey, v2: v2.publicKey.export({ format: 'pem', type: 'spki' }).toString() } });
    const id = await holdOne(h.service, {}, { details: { election } });
    const other = await holdOne(h.service, { content: { other: true } }, { details: { election } });
    const item = h.service.get(id)!;
    const unsigned = h.service.vote(id, { agentId: 'v1', vote: 'approve' });
    assert.deepEqual(!unsigned.ok && unsigned.code, DecisionCode.BAD_SIGNATURE);
    const forged = h.service.vote(id, { agentId: 'v1', vote: 'approve', signature: signVote(v2.privateKey, id, item.messageDigest, 'approve') });
    assert.deepEqual(!forged.ok && forged.code, DecisionCode.BAD_SIGNATURE, 'signed with another key');
    const otherVote = h.service.vote(id, { agentId: 'v1', vote: 'approve', signature: signVote(v1.privateKey, id, item.messageDigest, 'reject') });
    assert.deepEqual(!otherVote.ok && otherVote.code, DecisionCode.BAD_SIGNATURE, 'signature over another choice');
    const replay = h.service.vote(id, { agentId: 'v1', vote: 'approve', signature: signVote(v1.privateKey, other, h.service.get(other)!.messageDigest, 'approve') });
    assert.deepEqual(!replay.ok && replay.code, DecisionCode.BAD_SIGNATURE, 'signature for another item');
    const garbage = h.service.vote(id, { agentId: 'v1', vote: 'approve', signature: 'not base64 at all!' });
    assert.deepEqual(!garbage.ok && garbage.code, DecisionCode.BAD_SIGNATURE);
    const good = h.service.vote(id, { agentId: 'v1', vote: 'approve', signature: signVote(v1.privateKey, id, item.messageDigest, 'approve') });
    assert.ok(good.ok);
    assert.equal(good.item.votes[0]!.signed, true);
    // v3 has no key: unsigned votes accepted unless requireSignedVotes
    assert.ok(h.service.vote(id, { agentId: 'v3', vote: 'abstain' }).ok);
    await h.service.close();

    const strict = await harness({ requireSignedVotes: true });
    const sid = await holdOne(strict.service, {}, { details: { election } });
    const r = strict.service.vote(sid, { agentId: 'v3', vote: 'approve' });
    assert.deepEqual(!r.ok && r.code, DecisionCode.BAD_SIGNATURE);
    strict.service.registerVoterKey('v3', v1.publicKey.export({ format: 'jwk' }).x!.replace(/-/g, '+').replace(/_/g, '/') + '=');
    const item3 = strict.service.get(sid)!;
    assert.ok(strict.service.vote(sid, { agentId: 'v3', vote: 'approve', signature: signVote(v1.privateKey, sid, item3.messageDigest, 'approve') }).ok, 'raw base64 key accepted');
    await strict.service.close();
  });
});
