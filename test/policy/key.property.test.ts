import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createRequestBuilder, decisionKey, MAX_PLAIN_KEY, type PolicyRequest } from '../../src/policy/index.js';
import { agent, context, message } from './helpers.js';

const text = fc.string({ maxLength: 12 });
const set = fc.uniqueArray(text, { maxLength: 4 }).map((a) => [...a].sort());

const requestArb: fc.Arbitrary<PolicyRequest> = fc.record({
  principal: fc.record({ id: text, agentType: text, tenant: text, roles: set }),
  action: text,
  resource: fc.record({
    kind: fc.constantFrom('agent', 'capability', 'broadcast' as const),
    id: text,
    tenant: text,
    agentType: text,
    roles: set,
    capabilities: set,
  }),
  context: fc.record(
    {
      priority: fc.integer({ min: 0, max: 3 }),
      sizeClass: fc.constantFrom('small', 'medium', 'large', 'huge' as const),
      hour: fc.integer({ min: 0, max: 23 }),
      weekday: fc.integer({ min: 0, max: 6 }),
      labels: set,
      constitutionalHash: text,
      hashAccepted: fc.boolean(),
      content: fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean()), { maxKeys: 3 }),
    },
    { requiredKeys: ['priority', 'sizeClass', 'hour', 'weekday', 'labels', 'constitutionalHash', 'hashAccepted'] },
  ),
}) as fc.Arbitrary<PolicyRequest>;

/** Paths of every attribute the key covers, with a way to change it. */
type Mutation = { path: string; ids: boolean; apply: (r: PolicyRequest) => PolicyRequest };
const mutations: Mutation[] = [
  { path: 'principal.id', ids: true, apply: (r) => ({ ...r, principal: { ...r.principal, id: r.principal.id + 'x' } }) },
  { path: 'principal.agentType', ids: false, apply: (r) => ({ ...r, principal: { ...r.principal, agentType: r.principal.agentType + 'x' } }) },
  { path: 'principal.tenant', ids: false, apply: (r) => ({ ...r, principal: { ...r.principal, tenant: r.principal.tenant + 'x' } }) },
  { path: 'principal.roles', ids: false, apply: (r) => ({ ...r, principal: { ...r.principal, roles: [...r.principal.roles, '\u0000new'] } }) },
  { path: 'action', ids: false, apply: (r) => ({ ...r, action: r.action + 'x' }) },
  { path: 'resource.kind', ids: false, apply: (r) => ({ ...r, resource: { ...r.resource, kind: r.resource.kind === 'agent' ? 'broadcast' : 'agent' } }) },
  { path: 'resource.id', ids: true, apply: (r) => ({ ...r, resource: { ...r.resource, id: r.resource.id + 'x' } }) },
  { path: 'resource.tenant', ids: false, apply: (r) => ({ ...r, resource: { ...r.resource, tenant: r.resource.tenant + 'x' } }) },
  { path: 'resource.agentType', ids: false, apply: (r) => ({ ...r, resource: { ...r.resource, agentType: r.resource.agentType + 'x' } }) },
  { path: 'resource.roles', ids: false, apply: (r) => ({ ...r, resource: { ...r.resource, roles: [...r.resource.roles, '\u0000new'] } }) },
  { path: 'resource.capabilities', ids: false, apply: (r) => ({ ...r, resource: { ...r.resource, capabilities: [...r.resource.capabilities, '\u0000c'] } }) },
  { path: 'context.priority', ids: false, apply: (r) => ({ ...r, context: { ...r.context, priority: (r.context.priority + 1) % 4 } }) },
  { path: 'context.sizeClass', ids: false, apply: (r) => ({ ...r, context: { ...r.context, sizeClass: r.context.sizeClass === 'huge' ? 'small' : 'huge' } }) },
  { path: 'context.hour', ids: false, apply: (r) => ({ ...r, context: { ...r.context, hour: (r.context.hour + 1) % 24 } }) },
  { path: 'context.weekday', ids: false, apply: (r) => ({ ...r, context: { ...r.context, weekday: (r.context.weekday + 1) % 7 } }) },
  { path: 'context.labels', ids: false, apply: (r) => ({ ...r, context: { ...r.context, labels: [...r.context.labels, '\u0000l'] } }) },
  { path: 'context.constitutionalHash', ids: false, apply: (r) => ({ ...r, context: { ...r.context, constitutionalHash: r.context.constitutionalHash + 'x' } }) },
  { path: 'context.hashAccepted', ids: false, apply: (r) => ({ ...r, context: { ...r.context, hashAccepted: !r.context.hashAccepted } }) },
  {
    path: 'context.content',
    ids: false,
    apply: (r) => ({ ...r, context: { ...r.context, content: { ...(r.context.content ?? {}), '\u0000f': 1 } } }),
  },
];

describe('decision cache key (property)', () => {
  it('equal requests give equal keys', () => {
    fc.assert(
      fc.property(requestArb, fc.boolean(), (req, withIds) => {
        const copy = structuredClone(req);
        assert.equal(decisionKey('cedar', 'h', req, withIds), decisionKey('cedar', 'h', copy, withIds));
      }),
    );
  });

  it('any differing attribute gives a different key (with ids)', () => {
    fc.assert(
      fc.property(requestArb, fc.constantFrom(...mutations), (req, m) => {
        assert.notEqual(decisionKey('cedar', 'h', req, true), decisionKey('cedar', 'h', m.apply(req), true), m.path);
      }),
      { numRuns: 500 },
    );
  });

  it('without ids, only the ids may differ between requests with equal keys', () => {
    fc.assert(
      fc.property(requestArb, fc.constantFrom(...mutations), (req, m) => {
        const same = decisionKey('cedar', 'h', req, false) === decisionKey('cedar', 'h', m.apply(req), false);
        assert.equal(same, m.ids, m.path);
      }),
      { numRuns: 500 },
    );
  });

  it('engine name and bundle hash are part of the key, and cannot be confused with each other', () => {
    fc.assert(
      fc.property(requestArb, text, text, text, text, (req, e1, h1, e2, h2) => {
        fc.pre(e1 !== e2 || h1 !== h2);
        assert.notEqual(decisionKey(e1, h1, req, true), decisionKey(e2, h2, req, true));
      }),
    );
  });

  it('long keys are replaced by the full SHA-256 (64 hex), never truncated', () => {
    const long = fc.sample(requestArb, 1)[0]!;
    const req = { ...long, context: { ...long.context, labels: Array.from({ length: 100 }, (_, i) => `label-${i}`) } };
    const key = decisionKey('cedar', 'h', req, true);
    assert.match(key, /^#[0-9a-f]{64}$/);
    const short = decisionKey('cedar', 'h', { ...long, context: { ...long.context, labels: [] } }, false);
    if (short.length <= MAX_PLAIN_KEY) assert.match(short, /^\d/, 'plain keys start with a digit, hashed ones with #');
    const other = { ...req, context: { ...req.context, hour: (req.context.hour + 1) % 24 } };
    assert.notEqual(decisionKey('cedar', 'h', other, true), key);
  });
});

describe('request builder (property)', () => {
  const build = createRequestBuilder();
  const labelsArb = fc.array(fc.constantFrom('pii', 'delete', 'production', 'x', 'y'), { maxLength: 6 });

  it('labels and roles are sets: order and duplicates do not change the key', () => {
    fc.assert(
      fc.property(labelsArb, labelsArb, (labels, roles) => {
        const s1 = agent('s', { roles });
        const s2 = agent('s', { roles: [...roles].reverse().concat(roles) });
        const r = agent('r');
        const k1 = decisionKey('e', 'h', build(message(s1, { to: r, labels }), context(s1, r), undefined), true);
        const k2 = decisionKey('e', 'h', build(message(s2, { to: r, labels: [...labels, ...labels].reverse() }), context(s2, r), undefined), true);
        assert.equal(k1, k2);
      }),
    );
  });

  it('the timestamp only matters through hour and weekday; content bytes only through the size class', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4e12 }), fc.integer({ min: 0, max: 3_599_999 }), fc.integer({ min: 0, max: 500_000 }), (now, withinHour, bytes) => {
        const s = agent('s');
        const hourStart = now - (now % 3_600_000);
        const a = build(message(s), context(s, undefined, { now: hourStart, contentBytes: bytes }), undefined);
        const b = build(message(s), context(s, undefined, { now: hourStart + withinHour, contentBytes: bytes }), undefined);
        assert.equal(decisionKey('e', 'h', a, false), decisionKey('e', 'h', b, false));
        assert.equal(a.context.hour, new Date(hourStart).getUTCHours());
        assert.equal(a.context.weekday, new Date(hourStart).getUTCDay());
      }),
    );
  });

  it('non-string roles and labels are ignored; raw content stays out unless contentFields asks', () => {
    const s = agent('s', { roles: ['ok', 42 as unknown as string] });
    const req = build(message(s, { labels: ['a', { x: 1 }], content: { secret: 'x', amount: 5 } }), context(s, undefined), undefined);
    assert.deepEqual(req.principal.roles, ['ok']);
    assert.deepEqual(req.context.labels, ['a']);
    assert.equal(req.context.content, undefined);
    const withContent = createRequestBuilder({ contentFields: ['amount', 'nested'] });
    const r2 = withContent(message(s, { content: { secret: 'x', amount: 5, nested: { a: 1 } } }), context(s, undefined), undefined);
    assert.deepEqual(r2.context.content, { amount: 5 });
  });

  it('addresses: direct recipient, capabilities, or broadcast', () => {
    const s = agent('s');
    const r = agent('r', { tenantId: 'other', agentType: 'auditor', roles: ['audit'] });
    assert.deepEqual(build(message(s, { to: r }), context(s, r), undefined).resource, {
      kind: 'agent', id: 'r', tenant: 'other', agentType: 'auditor', roles: ['audit'], capabilities: [],
    });
    const caps = build(message(s, { requiredCapabilities: ['search', 'index', 'search'] }), context(s, undefined), undefined).resource;
    assert.deepEqual([caps.kind, caps.id, caps.capabilities, caps.tenant], ['capability', 'capability:index,search', ['index', 'search'], 'acme']);
    assert.equal(build(message(s), context(s, undefined), undefined).resource.kind, 'broadcast');
  });
});

describe('key profiles (property)', () => {
  const profile = {
    ids: false,
    principal: new Set(['roles']),
    resource: new Set(['tenant']),
    context: new Set(['labels', 'hour']),
  };
  const covered = new Set(['principal.roles', 'resource.tenant', 'context.labels', 'context.hour', 'action']);

  it('a profile key changes exactly when a covered attribute changes', () => {
    fc.assert(
      fc.property(requestArb, fc.constantFrom(...mutations), (req, m) => {
        const same = decisionKey('cedar', 'h', req, profile) === decisionKey('cedar', 'h', m.apply(req), profile);
        assert.equal(same, !covered.has(m.path), m.path);
      }),
      { numRuns: 500 },
    );
  });

  it('Cedar: requests with equal profile keys get equal decisions (default constitution)', async () => {
    const { ConstitutionManager } = await import('../../src/policy/index.js');
    const manager = new ConstitutionManager();
    await manager.loadDefault();
    const engine = manager.engine;
    const p = engine.keyProfile!;
    assert.equal(p.ids, false);
    const roleArb = fc.uniqueArray(fc.constantFrom('admin', 'operator', 'governance', 'developer', 'global_admin', 'data_clearance', 'after_hours', 'bulk_transfer', 'x'), { maxLength: 3 }).map((a) => a.sort());
    const labelArb = fc.uniqueArray(fc.constantFrom('delete', 'deploy', 'production', 'pii', 'user_data', 'x'), { maxLength: 3 }).map((a) => a.sort());
    const reqArb = fc.record({
      principal: fc.record({ id: fc.constantFrom('a', 'b'), agentType: fc.constantFrom('w', 'p'), tenant: fc.constantFrom('acme', 'globex'), roles: roleArb }),
      action: fc.constantFrom('command', 'query', 'event', 'task_request', 'governance_request', 'constitutional_validation'),
      resource: fc.record({
        kind: fc.constantFrom('agent', 'broadcast' as const),
        id: fc.constantFrom('r1', 'r2'),
        tenant: fc.constantFrom('acme', 'globex'),
        agentType: fc.constantFrom('w', 'p'),
        roles: roleArb,
        capabilities: fc.constant([] as string[]),
      }),
      context: fc.record({
        priority: fc.integer({ min: 0, max: 3 }),
        sizeClass: fc.constantFrom('small', 'huge' as const),
        hour: fc.integer({ min: 0, max: 23 }),
        weekday: fc.integer({ min: 0, max: 6 }),
        labels: labelArb,
        constitutionalHash: fc.constantFrom('cdd01ef066bc6cf2', 'other'),
        hashAccepted: fc.boolean(),
      }),
    }) as fc.Arbitrary<PolicyRequest>;
    fc.assert(
      fc.property(reqArb, reqArb, (r1, r2) => {
        // Make r2 agree with r1 on everything the profile covers; the rest stays random.
        const twin: PolicyRequest = {
          principal: { ...r2.principal, roles: r1.principal.roles, tenant: r1.principal.tenant },
          action: r1.action,
          resource: { ...r2.resource, tenant: r1.resource.tenant },
          context: { ...r2.context, sizeClass: r1.context.sizeClass, labels: r1.context.labels, hashAccepted: r1.context.hashAccepted, weekday: r1.context.weekday, hour: r1.context.hour },
        };
        assert.equal(decisionKey('cedar', 'h', r1, p), decisionKey('cedar', 'h', twin, p));
        const d1 = engine.evaluate(r1);
        const d2 = engine.evaluate(twin);
        assert.deepEqual([d1.allow, [...d1.policyIds].sort()], [d2.allow, [...d2.policyIds].sort()]);
      }),
      { numRuns: 150 },
    );
    await manager.close();
  });

  it('Cedar profiles: ids and whole-context uses are detected', async () => {
    const { CedarEngine, DEFAULT_BUNDLE_DIR, readBundleDirectory } = await import('../../src/policy/index.js');
    const schema = (await readBundleDirectory(DEFAULT_BUNDLE_DIR)).files.find((f) => f.name.endsWith('.cedarschema'))!;
    const load = (text: string) => CedarEngine.load({ policies: [{ name: 'p.cedar', text }], schema });
    const byId = load('@id("x")\npermit (principal == Agent::"boss", action, resource);');
    assert.equal(byId.keyProfile.ids, true);
    const self = load('@id("x")\nforbid (principal, action, resource) when { principal == resource };');
    assert.equal(self.keyProfile.ids, true);
    const attrs = load('@id("x")\nforbid (principal, action, resource) when { principal has roles && resource.agentType == "a" && context.priority > 2 };');
    assert.deepEqual([attrs.keyProfile.ids, [...attrs.keyProfile.principal!], [...attrs.keyProfile.resource!], [...attrs.keyProfile.context!]], [false, ['roles'], ['agentType'], ['priority']]);
    for (const e of [byId, self, attrs]) await e.close();
  });
});
