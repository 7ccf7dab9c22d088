/**
 * Missing, malformed and hostile arguments to the deliberation API: approve / reject / cancel /
 * vote answer `{ ok: false, code }` with a documented decision code (never a TypeError), hold()
 * refuses a malformed request with BusError INVALID_ARGUMENT (nothing is held), and get / list
 * never throw.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DECISION_CODES, DecisionCode, ItemStatus, signVote, type DecisionResult, type DeliberationService } from '../../src/deliberation/index.js';
import { AgentBus, ErrorCode, isBusError, MessageType } from '../../src/index.js';
import { harness, holdOne, makeMessage } from './helpers.js';

/** Calls with the wrong types on purpose. */
type Loose = {
  approve(id: unknown, decision?: unknown): DecisionResult;
  reject(id: unknown, decision?: unknown): DecisionResult;
  cancel(id: unknown, request?: unknown): DecisionResult;
  vote(id: unknown, vote?: unknown): DecisionResult;
  hold(request?: unknown): unknown;
  get(id?: unknown): unknown;
  list(query?: unknown): { items: unknown[]; nextCursor: string | undefined };
  election(id?: unknown): unknown;
};
const loose = (s: DeliberationService) => s as unknown as Loose;

const ELECTION = { strategy: 'quorum', participants: ['voter-1', 'voter-2', 'voter-3'] };
const SEC = { reviewerId: 'alice', reason: 'checked', roles: ['security_team'] };
const KNOWN: readonly string[] = DECISION_CODES;

function refusedWith(r: DecisionResult, code: string): void {
  assert.equal(r.ok, false, `expected ${code}, got ok`);
  if (!r.ok) {
    assert.equal(r.code, code, r.reason);
    assert.equal(typeof r.reason, 'string');
  }
}

const invalidArgument = (e: unknown) => isBusError(e) && e.code === ErrorCode.INVALID_ARGUMENT;

describe('missing arguments (the reported crashes)', () => {
  it('approve(id), approve(id, null), reject(id, null), cancel(id) answer REVIEWER_REQUIRED', async () => {
    const h = await harness();
    const s = loose(h.service);
    const id = await holdOne(h.service);
    refusedWith(s.approve(id), DecisionCode.REVIEWER_REQUIRED);
    refusedWith(s.approve(id, null), DecisionCode.REVIEWER_REQUIRED);
    refusedWith(s.reject(id), DecisionCode.REVIEWER_REQUIRED);
    refusedWith(s.reject(id, null), DecisionCode.REVIEWER_REQUIRED);
    refusedWith(s.cancel(id), DecisionCode.REVIEWER_REQUIRED);
    refusedWith(s.cancel(id, null), DecisionCode.REVIEWER_REQUIRED);
    for (const notAnObject of ['alice', 42, true, ['alice'], () => 'alice']) {
      refusedWith(s.approve(id, notAnObject), DecisionCode.REVIEWER_REQUIRED);
      refusedWith(s.reject(id, notAnObject), DecisionCode.REVIEWER_REQUIRED);
      refusedWith(s.cancel(id, notAnObject), DecisionCode.REVIEWER_REQUIRED);
    }
    refusedWith(s.approve(id, { reviewerId: 'alice' }), DecisionCode.REASON_REQUIRED);
    refusedWith(s.cancel(id, { reviewerId: 'ops' }), DecisionCode.REASON_REQUIRED);
    assert.equal(h.service.get(id)!.status, ItemStatus.PENDING, 'nothing was recorded');
    assert.equal(h.service.get(id)!.version, 1);
  });

  it('vote(id), vote(id, null) answer INVALID_VOTE on an election item, NO_ELECTION without one', async () => {
    const h = await harness();
    const s = loose(h.service);
    const elected = await holdOne(h.service, {}, { details: { election: ELECTION } });
    const plain = await holdOne(h.service);
    for (const input of [undefined, null, 'approve', 1, [], {}]) {
      refusedWith(s.vote(elected, input), DecisionCode.INVALID_VOTE);
      refusedWith(s.vote(plain, input), DecisionCode.NO_ELECTION);
    }
    refusedWith(s.vote(elected, { vote: 'approve' }), DecisionCode.NOT_A_PARTICIPANT);
    refusedWith(s.vote(elected, { agentId: 7, vote: 'approve' }), DecisionCode.NOT_A_PARTICIPANT);
    assert.equal(h.service.get(elected)!.votes.length, 0);
  });

  it('hold(null), hold(undefined) and hold({ reason }) throw BusError INVALID_ARGUMENT and hold nothing', async () => {
    const h = await harness();
    const s = loose(h.service);
    assert.throws(() => s.hold(null), invalidArgument);
    assert.throws(() => s.hold(undefined), invalidArgument);
    assert.throws(() => s.hold(), invalidArgument);
    assert.throws(() => s.hold({ reason: 'impact 0.9' }), invalidArgument);
    assert.throws(() => s.hold('message'), invalidArgument);
    assert.throws(() => s.hold([makeMessage(), 'r']), invalidArgument);
    assert.equal(h.service.stats().held, 0);
    assert.equal(h.service.list().items.length, 0);
  });
});

describe('malformed arguments', () => {
  it('hold: a message that is not one, a reason that is not a string, details that are not an object', async () => {
    const h = await harness();
    const s = loose(h.service);
    const message = makeMessage();
    for (const bad of [null, 5, 'm', [], {}, { ...message, messageId: undefined }, { ...message, tenantId: 7 }, { ...message, fromAgent: null }, { ...message, messageType: {} }, { ...message, constitutionalHash: [] }]) {
      assert.throws(() => s.hold({ message: bad, reason: 'r' }), invalidArgument, JSON.stringify(bad));
    }
    assert.throws(() => s.hold({ message }), invalidArgument);
    assert.throws(() => s.hold({ message, reason: 5 }), invalidArgument);
    assert.throws(() => s.hold({ message, reason: 'r', details: 'x' }), invalidArgument);
    assert.throws(() => s.hold({ message, reason: 'r', details: [1] }), invalidArgument);
    assert.throws(() => s.hold({ message, reason: 'r', annotations: 3 }), invalidArgument);
    assert.throws(() => s.hold({ message: makeMessage({ content: { n: 1n } }), reason: 'r' }), invalidArgument, 'BigInt content cannot be digested');
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => s.hold({ message: makeMessage({ content: cyclic }), reason: 'r' }), invalidArgument, 'cyclic content cannot be digested');
    assert.equal(h.service.stats().held, 0);
    // what the bus sends is still accepted, null details included
    const ok = (await h.service.hold({ message, reason: 'r', details: null as unknown as undefined, annotations: {} })).deliberationId;
    assert.equal(h.service.get(ok)!.status, ItemStatus.PENDING);
  });

  it('a message type named like an Object.prototype member does not select a policy from the prototype', async () => {
    const h = await harness({ policySelection: { byMessageType: { [MessageType.COMMAND]: 'standard_request' } } });
    for (const messageType of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      const { deliberationId } = await h.service.hold({ message: makeMessage({ messageType: messageType as MessageType }), reason: 'r', impact: { score: 0.75, factors: {} } });
      assert.equal(h.service.get(deliberationId)!.requirements.policyId, 'high_risk_action', messageType);
    }
  });

  it('ids that are not strings or name no item: NOT_FOUND, never a TypeError', async () => {
    const h = await harness();
    const s = loose(h.service);
    await holdOne(h.service);
    const ids = [undefined, null, 0, 42, NaN, true, {}, [], ['x'], Object.create(null), { toString: () => 'x' }, '__proto__', 'constructor', 'hasOwnProperty', '', 'x'.repeat(10_000), Symbol('id'), 10n];
    for (const id of ids) {
      refusedWith(s.approve(id, SEC), DecisionCode.NOT_FOUND);
      refusedWith(s.reject(id, SEC), DecisionCode.NOT_FOUND);
      refusedWith(s.cancel(id, SEC), DecisionCode.NOT_FOUND);
      refusedWith(s.vote(id, { agentId: 'voter-1', vote: 'approve' }), DecisionCode.NOT_FOUND);
      refusedWith(s.approve(id), DecisionCode.NOT_FOUND);
      assert.equal(s.get(id), undefined);
      assert.equal(s.election(id), undefined);
    }
    const long = s.approve('y'.repeat(10_000), SEC);
    assert.ok(!long.ok && long.reason.length < 300, 'the reason does not echo an unbounded id');
  });

  it('bindings that are given but not strings are mismatches (fail closed)', async () => {
    const h = await harness();
    const s = loose(h.service);
    const id = await holdOne(h.service);
    for (const tenantId of [null, 5, {}, ['tenant-a']]) {
      refusedWith(s.approve(id, { ...SEC, tenantId }), DecisionCode.TENANT_MISMATCH);
      refusedWith(s.cancel(id, { reviewerId: 'ops', reason: 'withdrawn', tenantId }), DecisionCode.TENANT_MISMATCH);
    }
    for (const messageDigest of [null, 5, {}]) refusedWith(s.approve(id, { ...SEC, messageDigest }), DecisionCode.DIGEST_MISMATCH);
    for (const constitutionalHash of [null, 5, {}]) refusedWith(s.approve(id, { ...SEC, constitutionalHash }), DecisionCode.HASH_MISMATCH);
    for (const roles of [null, 'security_team', { 0: 'security_team' }, [5, null]]) refusedWith(s.approve(id, { ...SEC, roles }), DecisionCode.ROLE_REQUIRED);
    for (const reviewerId of [null, 5, {}, '   ']) refusedWith(s.approve(id, { ...SEC, reviewerId }), DecisionCode.REVIEWER_REQUIRED);
    for (const reason of [null, 5, {}, ' ']) refusedWith(s.reject(id, { ...SEC, reason }), DecisionCode.REASON_REQUIRED);
    // a well-formed decision with a mixed roles list still works
    const r = s.approve(id, { ...SEC, roles: [5, 'security_team', null] });
    assert.ok(r.ok);
    assert.deepEqual(r.item.decisions[0]!.roles, ['security_team']);
  });

  it('vote: a reason or signature of the wrong type is not a crash', async () => {
    const keys = generateKeyPairSync('ed25519');
    const h = await harness({ voterKeys: { 'voter-2': keys.publicKey } });
    const s = loose(h.service);
    const id = await holdOne(h.service, {}, { details: { election: ELECTION } });
    const r = s.vote(id, { agentId: 'voter-1', vote: 'abstain', reason: 42, signature: { forged: true } });
    assert.ok(r.ok, 'an agent without a key: signature ignored, reason dropped');
    assert.equal(r.item.votes[0]!.reason, undefined);
    for (const signature of [undefined, null, 5, {}, ['x']]) refusedWith(s.vote(id, { agentId: 'voter-2', vote: 'approve', signature }), DecisionCode.BAD_SIGNATURE);
    const item = h.service.get(id)!;
    const signed = s.vote(id, { agentId: 'voter-2', vote: 'approve', signature: signVote(keys.privateKey, id, item.messageDigest, 'approve'), reason: 'fine' });
    assert.ok(signed.ok);
    assert.equal(signed.item.votes[1]!.reason, 'fine');
  });

  it('get / list with hostile arguments never throw', async () => {
    const h = await harness();
    const s = loose(h.service);
    const ids = [await holdOne(h.service), await holdOne(h.service, { tenantId: 'tenant-b' })];
    for (const q of [undefined, null, 0, 5, 'tenant-a', true, [], Object.create(null), { limit: 'x' }, { limit: NaN }, { limit: null }, { limit: -5 }, { limit: Infinity }, { cursor: 5 }, { cursor: {} }, { cursor: null }, { cursor: '!!!' }, { status: '__proto__' }]) {
      const page = s.list(q);
      assert.ok(Array.isArray(page.items));
      assert.ok(page.items.length <= 2);
    }
    assert.equal(s.list({ limit: 'x' }).items.length, 2, 'a limit that is not a number is the default');
    assert.equal(s.list({ limit: -5 }).items.length, 1, 'clamped to at least 1');
    assert.equal(s.list({ cursor: 5 }).items.length, 2, 'a cursor that is not a string starts at the beginning');
    for (const tenantId of [5, null, {}, ['tenant-a']]) assert.equal(s.list({ tenantId }).items.length, 0, `tenantId ${String(tenantId)} matches nothing`);
    assert.equal(s.list({ tenantId: '__proto__' }).items.length, 0);
    assert.equal(s.list({ tenantId: ' TENANT-B ' }).items.length, 1);
    assert.equal(s.list({ status: '__proto__' }).items.length, 0);
    for (const id of ids) assert.ok(s.get(id) !== undefined);
  });

  it('through the bus: bus.deliberation answers missing arguments with codes', async (t) => {
    const bus = new AgentBus({ policy: false, impact: false, metering: false });
    await bus.start();
    t.after(() => bus.stop());
    const service = bus.deliberation;
    assert.ok(service !== undefined, 'the default bus has a deliberation service');
    const s = loose(service);
    const { deliberationId } = await service.hold({ message: makeMessage(), reason: 'impact 0.9', details: { election: ELECTION } });
    refusedWith(s.approve(deliberationId), DecisionCode.REVIEWER_REQUIRED);
    refusedWith(s.approve(deliberationId, null), DecisionCode.REVIEWER_REQUIRED);
    refusedWith(s.reject(deliberationId, null), DecisionCode.REVIEWER_REQUIRED);
    refusedWith(s.cancel(deliberationId), DecisionCode.REVIEWER_REQUIRED);
    refusedWith(s.vote(deliberationId, null), DecisionCode.INVALID_VOTE);
    assert.throws(() => s.hold(null), invalidArgument);
    assert.throws(() => s.hold({ reason: 'r' }), invalidArgument);
  });
});

describe('property: arbitrary JSON-ish arguments never throw', () => {
  const jsonish = fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 3 }),
    fc.constant(undefined),
    fc.constantFrom('__proto__', 'constructor', 'toString', '', ' ', 'alice', 'voter-1', 'approve', 'security_team', 'tenant-a'),
    fc.anything({ maxDepth: 2, withNullPrototype: true, withBoxedValues: true, withSparseArray: true }),
  );
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof(arb, jsonish);
  /** Decisions: random values, and records whose fields are sometimes valid (so some calls succeed). */
  const decision = fc.oneof(
    jsonish,
    fc.record(
      {
        reviewerId: maybe(fc.constantFrom('alice', 'bob', ' carol ', 'agent-sender')),
        reason: maybe(fc.constantFrom('checked', 'ok')),
        roles: maybe(fc.constantFrom(['security_team'], ['compliance_team'], ['tenant_admin'], [])),
        tenantId: maybe(fc.constantFrom('tenant-a', 'TENANT-A', 'tenant-b')),
        messageDigest: jsonish,
        constitutionalHash: jsonish,
      },
      { requiredKeys: [] },
    ),
  );
  const vote = fc.oneof(
    jsonish,
    fc.record(
      {
        agentId: maybe(fc.constantFrom('voter-1', 'voter-2', 'voter-3', 'stranger')),
        vote: maybe(fc.constantFrom('approve', 'reject', 'abstain')),
        reason: jsonish,
        signature: jsonish,
      },
      { requiredKeys: [] },
    ),
  );
  const idChoice = fc.oneof(fc.constant('held' as const), jsonish);
  const op = fc.constantFrom('approve' as const, 'reject' as const, 'cancel' as const, 'vote' as const);

  it('approve / reject / cancel / vote: ok, or ok:false with a documented code; nothing recorded on a refusal', async () => {
    await fc.assert(
      fc.asyncProperty(op, idChoice, decision, vote, async (which, idArg, decisionArg, voteArg) => {
        const h = await harness();
        const s = loose(h.service);
        const held = await holdOne(h.service, {}, { details: { election: ELECTION } });
        const id = idArg === 'held' ? held : idArg;
        const before = h.service.get(held)!;
        let r: DecisionResult;
        try {
          r = which === 'vote' ? s.vote(id, voteArg) : s[which](id, decisionArg);
        } catch (err) {
          assert.fail(`${which} threw ${String(err)}`);
        }
        assert.equal(typeof r.ok, 'boolean');
        if (r.ok) {
          assert.equal(id, held);
          assert.equal(r.item.id, held);
          assert.equal(r.item.version, before.version + 1);
        } else {
          assert.ok(KNOWN.includes(r.code), `unknown code ${r.code}`);
          assert.equal(typeof r.reason, 'string');
          if (id !== held) assert.equal(r.code, DecisionCode.NOT_FOUND);
          assert.equal(h.service.get(held), before, 'a refusal changes nothing');
        }
        await h.service.close();
      }),
      { numRuns: 300 },
    );
  });

  it('hold: a stored item, or BusError INVALID_ARGUMENT; never a TypeError', async () => {
    const h = await harness();
    const s = loose(h.service);
    const message = fc.oneof(
      jsonish,
      fc.constant(makeMessage()),
      fc.record(
        {
          messageId: maybe(fc.uuid()),
          fromAgent: maybe(fc.constant('agent-sender')),
          tenantId: maybe(fc.constant('tenant-a')),
          messageType: maybe(fc.constantFrom('command', 'query', 'constructor', '__proto__')),
          constitutionalHash: maybe(fc.constant('cdd01ef066bc6cf2')),
          content: jsonish,
        },
        { requiredKeys: [] },
      ),
    );
    const details = fc.oneof(
      jsonish,
      fc.record({ approvalPolicy: maybe(fc.constantFrom('standard_request', 'nope')), timeoutMs: jsonish, election: maybe(fc.constant(ELECTION)), impact: jsonish }, { requiredKeys: [] }),
    );
    const request = fc.oneof(jsonish, fc.record({ message, reason: maybe(fc.constant('impact 0.9')), impact: jsonish, policy: jsonish, details, annotations: maybe(fc.record({ impact: jsonish, policy: jsonish })) }, { requiredKeys: [] }));
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        let held: unknown;
        try {
          held = await s.hold(req);
        } catch (err) {
          assert.ok(isBusError(err), `hold threw a ${err instanceof Error ? err.name : typeof err}: ${String(err)}`);
          assert.equal(err.code, ErrorCode.INVALID_ARGUMENT, err.message);
          return;
        }
        const id = (held as { deliberationId: unknown }).deliberationId;
        assert.equal(typeof id, 'string');
        assert.ok(h.service.get(id as string) !== undefined);
      }),
      { numRuns: 400 },
    );
    await h.service.close();
  });

  it('get / list: never throw, list answers at most 1000 items', async () => {
    const h = await harness();
    const s = loose(h.service);
    await holdOne(h.service);
    const query = fc.oneof(jsonish, fc.record({ tenantId: jsonish, status: jsonish, limit: jsonish, cursor: jsonish }, { requiredKeys: [] }));
    fc.assert(
      fc.property(jsonish, query, (id, q) => {
        const got = s.get(id);
        assert.ok(got === undefined || typeof got === 'object');
        const page = s.list(q);
        assert.ok(Array.isArray(page.items) && page.items.length <= 1);
        assert.ok(page.nextCursor === undefined || typeof page.nextCursor === 'string');
      }),
      { numRuns: 300 },
    );
    await h.service.close();
  });
});
