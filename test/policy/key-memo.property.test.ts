import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import { createPolicyStage, createRequestBuilder, createSituationCoder, DecisionKeyMemo, type PolicyDecision, type PolicyEngine, type PolicyRequest } from '../../src/policy/index.js';
import { agent, context, message } from './helpers.js';

const sender = agent('s', { roles: ['operator'] });
const recipient = agent('r', { agentType: 'auditor' });

/** A message and its governance context, over everything the context of a request depends on. */
const situationArb = fc.record({
  priority: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(-1, 4, 1.5, Number.NaN)),
  now: fc.oneof(fc.integer({ min: 0, max: 4e12 }), fc.constant(-3_600_000)),
  contentBytes: fc.oneof(fc.integer({ min: 0, max: 200_000 }), fc.constantFrom(1_023, 1_024, 9_999, 10_000, 99_999, 100_000)),
  hash: fc.constantFrom(CONSTITUTIONAL_HASH, 'aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'),
  labels: fc.oneof(fc.constant(undefined), fc.constant([]), fc.array(fc.constantFrom('pii', 'x'), { maxLength: 2 }), fc.constant('pii')),
});
type Situation = typeof situationArb extends fc.Arbitrary<infer T> ? T : never;

function of(s: Situation) {
  const m = message(sender, { to: recipient, priority: s.priority as 0, constitutionalHash: s.hash, labels: s.labels });
  return { message: m, ctx: context(sender, recipient, { now: s.now, contentBytes: s.contentBytes }) };
}

/** Accepts the default hash always and 'aaaa…' only before t = 2e12 (a grace window). */
const authority = { activeHash: CONSTITUTIONAL_HASH, accepts: (hash: string, now: number) => hash === CONSTITUTIONAL_HASH || (hash === 'aaaaaaaaaaaaaaaa' && now < 2e12) };

describe('situation code (property)', () => {
  it('equal codes (not -1) for the same sender, recipient and action mean equal requests', () => {
    for (const options of [{}, { utcOffsetMinutes: 330 }, { sizeClassBounds: [10, 20, 30] as [number, number, number] }]) {
      const build = createRequestBuilder(options);
      const code = createSituationCoder(options);
      fc.assert(
        fc.property(situationArb, situationArb, (a, b) => {
          const x = of(a);
          const y = of(b);
          const cx = code(x.message, x.ctx, authority);
          const cy = code(y.message, y.ctx, authority);
          assert.ok(Number.isSafeInteger(cx) && cx >= -1);
          if (cx >= 0 && cx === cy) assert.deepEqual(build(x.message, x.ctx, authority), build(y.message, y.ctx, authority));
        }),
        { numRuns: 2_000 },
      );
    }
  });

  it('labels, content fields, odd priorities and clocks before 1970 give -1 (the stage builds the request)', () => {
    const code = createSituationCoder();
    const c = (m: ReturnType<typeof message>, now = 1e12) => code(m, context(sender, recipient, { now }), undefined);
    assert.ok(c(message(sender, { to: recipient })) >= 0);
    assert.equal(c(message(sender, { to: recipient, labels: ['pii'] })), -1);
    assert.equal(c(message(sender, { to: recipient, priority: 7 as 0 })), -1);
    assert.equal(c(message(sender, { to: recipient }), -1), -1);
    assert.equal(createSituationCoder({ contentFields: ['amount'] })(message(sender, { to: recipient }), context(sender, recipient), undefined), -1);
  });
});

describe('decision key memo', () => {
  it('finds a key by sender, recipient, action and code, and starts over past its limit', () => {
    const memo = new DecisionKeyMemo(3);
    const [a, b] = [{}, {}];
    memo.set(a, b, 'command', 1, 'k1');
    memo.set(a, b, 'command', 2, 'k2');
    memo.set(a, b, 'query', 1, 'k3');
    assert.equal(memo.get(a, b, 'command', 1), 'k1');
    assert.equal(memo.get(b, a, 'command', 1), undefined);
    assert.equal(memo.size, 3);
    memo.set(b, a, 'command', 1, 'k4');
    assert.equal(memo.size, 1, 'the fourth key started it over');
    assert.equal(memo.get(a, b, 'command', 1), undefined);
    assert.equal(memo.get(b, a, 'command', 1), 'k4');
  });

  it('answers as a plain map of every key set (property)', () => {
    const senders = [{}, {}, {}];
    const recipients = [{}, {}];
    const op = fc.record({ set: fc.boolean(), s: fc.nat(2), r: fc.nat(1), a: fc.constantFrom('command', 'query'), c: fc.nat(2), key: fc.string({ maxLength: 3 }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const memo = new DecisionKeyMemo(1_000);
        const model = new Map<string, string>();
        for (const o of ops) {
          const id = `${o.s}/${o.r}/${o.a}/${o.c}`;
          if (o.set) {
            memo.set(senders[o.s]!, recipients[o.r]!, o.a, o.c, o.key);
            model.set(id, o.key);
          }
          assert.equal(memo.get(senders[o.s]!, recipients[o.r]!, o.a, o.c), model.get(id));
          assert.equal(memo.size, model.size);
        }
      }),
    );
  });

  it('the policy stage decides through the memo exactly as without it: every situation, hits and misses', async () => {
    // An engine that allows only during business hours at normal priority with an accepted hash,
    // and counts its evaluations: a memo giving a wrong key would return a wrong cached decision.
    let evaluations = 0;
    const decide = (req: PolicyRequest): PolicyDecision => {
      evaluations++;
      const c = req.context;
      return { allow: c.hashAccepted && c.priority <= 1 && c.hour >= 9 && c.hour < 18 && c.sizeClass !== 'huge' && c.labels.length === 0, policyIds: [], diagnostics: [], engine: 'fake', latencyUs: 0, bundleHash: 'h' };
    };
    const engine: PolicyEngine = { name: 'fake', synchronous: true, bundleHash: 'h', usesEntityIds: false, evaluate: decide };
    const stage = createPolicyStage({ engine, authority });
    const build = createRequestBuilder();
    await fc.assert(
      fc.asyncProperty(fc.array(situationArb, { minLength: 1, maxLength: 40 }), async (situations) => {
        for (const s of [...situations, ...situations]) {
          const { message: m, ctx } = of(s);
          const verdict = stage.evaluate(m, ctx);
          const expected = decide(build(m, ctx, authority)).allow;
          evaluations--;
          assert.equal((verdict as { kind: string }).kind === 'proceed', expected, JSON.stringify(s));
        }
      }),
      { numRuns: 200 },
    );
    const stats = stage.stats();
    assert.ok(stats.cache!.hits > 0, 'the memo path produced hits');
    assert.equal(stats.cache!.misses, evaluations, 'every miss asked the engine once');
    await stage.close();
  });
});
