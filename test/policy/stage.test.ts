import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import {
  ConstitutionManager,
  createPolicyStage,
  DEFAULT_BUNDLE_DIR,
  PolicyEngineError,
  PolicyFailureKind,
  readBundleDirectory,
  ShadowEvaluator,
  type PolicyAnnotation,
  type PolicyDecision,
  type PolicyEngine,
  type PolicyRequest,
  type ShadowDivergence,
} from '../../src/policy/index.js';
import { agent, context, message } from './helpers.js';

const allowAll: PolicyEngine = {
  name: 'allow-all',
  synchronous: true,
  usesEntityIds: false,
  evaluate: () => ({ allow: true, policyIds: ['all'], diagnostics: [], engine: 'allow-all', latencyUs: 0, bundleHash: '' }),
};

describe('policy stage: failures', () => {
  const a = agent('a');
  const b = agent('b');

  it('requires an engine or a constitution, and a valid failMode', () => {
    assert.throws(() => createPolicyStage({}), /engine or a constitution/);
    assert.throws(() => createPolicyStage({ engine: allowAll, failMode: 'maybe' as never }), /failMode/);
  });

  it('a throwing synchronous engine fails closed, synchronously', () => {
    const engine: PolicyEngine = {
      name: 'broken',
      synchronous: true,
      evaluate() {
        throw new Error('wasm trap');
      },
    };
    const stage = createPolicyStage({ engine });
    const ctx = context(a, b);
    const verdict = stage.evaluate(message(a, { to: b }), ctx);
    assert.ok(!(verdict instanceof Promise));
    assert.ok(verdict.kind === 'reject' && verdict.code === 'POLICY_UNAVAILABLE' && /wasm trap/.test(verdict.reason));
    assert.deepEqual((ctx.annotations['policy'] as PolicyAnnotation).failure, { kind: 'error', message: 'wasm trap' });
  });

  it('a constitution without a bundle fails closed', () => {
    const stage = createPolicyStage({ constitution: new ConstitutionManager() });
    const verdict = stage.evaluate(message(a, { to: b }), context(a, b));
    assert.ok(!(verdict instanceof Promise) && verdict.kind === 'reject' && verdict.code === 'POLICY_UNAVAILABLE');
  });

  it('an async engine that never answers is cut off at the stage deadline', async () => {
    const engine: PolicyEngine = { name: 'slow', evaluate: () => new Promise<PolicyDecision>(() => undefined) };
    const stage = createPolicyStage({ engine, timeoutMs: 20 });
    const verdict = await stage.evaluate(message(a, { to: b }), context(a, b));
    assert.ok(verdict.kind === 'reject' && verdict.code === 'POLICY_UNAVAILABLE' && /deadline/.test(verdict.reason));
  });

  it('an async engine rejection with a breaker_open kind is reported with that kind', async () => {
    const engine: PolicyEngine = {
      name: 'flaky',
      evaluate: () => Promise.reject(new PolicyEngineError(PolicyFailureKind.BREAKER_OPEN, 'open')),
    };
    const events: string[] = [];
    const stage = createPolicyStage({ engine, failMode: 'open', onFailOpen: (e) => events.push(e.kind) });
    const verdict = await stage.evaluate(message(a, { to: b }), context(a, b));
    assert.equal(verdict.kind, 'proceed');
    assert.deepEqual(events, ['breaker_open']);
  });

  it('a throwing onFailOpen observer does not change the pass', () => {
    const engine: PolicyEngine = { name: 'x', evaluate: () => { throw new Error('down'); } };
    const stage = createPolicyStage({ engine, failMode: 'open', onFailOpen: () => { throw new Error('observer'); } });
    assert.equal((stage.evaluate(message(a, { to: b }), context(a, b)) as { kind: string }).kind, 'proceed');
    assert.equal(stage.stats().failOpen, 1);
  });

  it('uses the hash authority for context.hashAccepted', () => {
    const seen: boolean[] = [];
    const engine: PolicyEngine = {
      name: 'spy',
      synchronous: true,
      evaluate(req: PolicyRequest) {
        seen.push(req.context.hashAccepted);
        return { allow: true, policyIds: [], diagnostics: [], engine: 'spy', latencyUs: 0, bundleHash: '' };
      },
    };
    const stage = createPolicyStage({ engine, cache: false, authority: { activeHash: 'aaaa', accepts: (h) => h === 'aaaa' } });
    stage.evaluate(message(a, { to: b, constitutionalHash: 'aaaa' }), context(a, b));
    stage.evaluate(message(a, { to: b, constitutionalHash: CONSTITUTIONAL_HASH }), context(a, b));
    const noAuthority = createPolicyStage({ engine, cache: false });
    noAuthority.evaluate(message(a, { to: b }), context(a, b));
    assert.deepEqual(seen, [true, false, true]);
  });
});

describe('shadow evaluation', () => {
  const a = agent('a');
  const b = agent('b');

  it('evaluates a candidate bundle beside the active one, off the send path, and reports divergences', async () => {
    const active = new ConstitutionManager();
    await active.loadDefault();
    const candidateManager = new ConstitutionManager();
    const files = (await readBundleDirectory(DEFAULT_BUNDLE_DIR)).files;
    const loaded = candidateManager.loadFromObject({
      files: [...files, { name: 'stricter.cedar', text: '// candidate\n@id("no-queries")\nforbid (principal, action == Action::"query", resource);\n' }],
    });
    assert.ok(loaded.ok);
    const reported: ShadowDivergence[] = [];
    const stage = createPolicyStage({
      constitution: active,
      shadow: { engine: candidateManager.engine, onDivergence: (d) => reported.push(d), maxDivergences: 2 },
    });
    const verdicts = [
      stage.evaluate(message(a, { to: b, messageType: 'query' }), context(a, b)),
      stage.evaluate(message(a, { to: b, messageType: 'command' }), context(a, b)),
      stage.evaluate(message(a, { to: b, messageType: 'query' }), context(a, b)),
      stage.evaluate(message(a, { to: b, messageType: 'query', priority: 2 }), context(a, b)),
    ];
    // Enforcement is the active constitution's alone.
    assert.deepEqual(verdicts.map((v) => (v as { kind: string }).kind), ['proceed', 'proceed', 'proceed', 'proceed']);
    assert.equal(stage.shadow!.stats().evaluated, 0, 'nothing evaluated on the send path');
    await stage.shadow!.idle();
    const stats = stage.shadow!.stats();
    assert.deepEqual([stats.submitted, stats.evaluated, stats.agreed, stats.divergences, stats.dropped], [4, 4, 1, 3, 0]);
    assert.equal(reported.length, 3);
    assert.equal(reported[0]!.active.allow, true);
    assert.equal(reported[0]!.candidate!.allow, false);
    assert.deepEqual(reported[0]!.candidate!.policyIds, ['no-queries']);
    // The ring keeps the most recent two, oldest first.
    assert.deepEqual(stage.shadow!.divergences().map((d) => d.request.context.priority), [1, 2]);
    await stage.close();
    await active.close();
    await candidateManager.close();
  });

  it('drops work with a counter when the queue is full, and counts candidate failures as divergences', async () => {
    const failing: PolicyEngine = { name: 'candidate', evaluate: () => { throw new Error('candidate broke'); } };
    const shadow = new ShadowEvaluator({ engine: failing, maxQueue: 2, cache: false });
    const decision: PolicyDecision = { allow: true, policyIds: [], diagnostics: [], engine: 'x', latencyUs: 0, bundleHash: '' };
    const req = {} as PolicyRequest;
    for (let i = 0; i < 5; i++) shadow.submit(req, decision, i);
    assert.equal(shadow.stats().dropped, 3);
    await shadow.idle();
    assert.deepEqual([shadow.stats().evaluated, shadow.stats().errors, shadow.stats().divergences], [2, 2, 2]);
    assert.equal(shadow.divergences()[0]!.candidateError, 'candidate broke');
    await shadow.close();
  });
});
