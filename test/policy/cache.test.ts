import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createClient } from 'redis';
import {
  ConstitutionManager,
  createPolicyStage,
  DecisionCache,
  type PolicyAnnotation,
  type PolicyDecision,
  type PolicyEngine,
  type PolicyRequest,
} from '../../src/policy/index.js';
import { agent, context, message } from './helpers.js';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

function decisionFor(allow: boolean, engine = 'test'): PolicyDecision {
  return { allow, policyIds: allow ? ['p-allow'] : ['p-deny'], diagnostics: [], engine, latencyUs: 1, bundleHash: 'h1' };
}

/** Counts calls; allows unless the sender has the role "blocked". */
function countingEngine(opts: { async?: boolean; usesEntityIds?: boolean } = {}): PolicyEngine & { calls: number } {
  const engine = {
    name: 'counting',
    bundleHash: 'h1',
    synchronous: !opts.async,
    usesEntityIds: opts.usesEntityIds ?? false,
    calls: 0,
    evaluate(req: PolicyRequest): PolicyDecision | Promise<PolicyDecision> {
      engine.calls++;
      const d = decisionFor(!req.principal.roles.includes('blocked'), 'counting');
      return opts.async ? Promise.resolve(d) : d;
    },
  };
  return engine;
}

describe('DecisionCache (memory tier)', () => {
  it('counts hits and misses', () => {
    const cache = new DecisionCache();
    assert.equal(cache.get('k', 0), undefined);
    cache.set('k', decisionFor(true), 0);
    assert.equal(cache.get('k', 1)?.allow, true);
    assert.deepEqual({ ...cache.stats(), redisErrors: 0 }, {
      hits: 1, misses: 1, evictions: 0, expirations: 0, invalidations: 0, redisHits: 0, redisMisses: 0, redisErrors: 0, redisWrites: 0, size: 1,
    });
  });

  it('expires entries after the TTL', () => {
    const cache = new DecisionCache({ ttlMs: 1_000 });
    cache.set('k', decisionFor(true), 10_000);
    assert.ok(cache.get('k', 10_999));
    assert.equal(cache.get('k', 11_000), undefined);
    assert.equal(cache.stats().expirations, 1);
    assert.equal(cache.size, 0);
  });

  it('property: an evicted entry had at least maxEntries/2 other keys used after its last use (least recently used to within half the capacity)', async () => {
    const fc = (await import('fast-check')).default;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 30 })), { maxLength: 300 }), (maxEntries, ops) => {
        const cache = new DecisionCache({ maxEntries });
        // Reference: the operation number at which each held key was last used (set, or a hit).
        const lastUse = new Map<string, number>();
        let clock = 0;
        for (const [isSet, n] of ops) {
          const key = `k${n}`;
          clock++;
          if (!isSet) {
            if (cache.get(key, 0) !== undefined) lastUse.set(key, clock);
            continue;
          }
          cache.set(key, decisionFor(true), 0);
          lastUse.set(key, clock);
          for (const [k, at] of [...lastUse]) {
            if (cache.has(k)) continue;
            const usedAfter = [...lastUse.values()].filter((other) => other > at).length;
            assert.ok(usedAfter >= Math.ceil(maxEntries / 2), `evicted ${k} with only ${usedAfter} keys used after it (maxEntries ${maxEntries})`);
            lastUse.delete(k);
          }
          assert.ok(cache.size <= maxEntries);
          assert.equal(cache.size, lastUse.size);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('evicts the least recently used entry when full', () => {
    const cache = new DecisionCache({ maxEntries: 3 });
    cache.set('a', decisionFor(true), 0);
    cache.set('b', decisionFor(true), 0);
    cache.set('c', decisionFor(true), 0);
    assert.ok(cache.get('a', 1)); // a is now the most recent; b is the oldest
    cache.set('d', decisionFor(true), 1);
    assert.equal(cache.size, 3);
    assert.equal(cache.stats().evictions, 1);
    assert.equal(cache.get('b', 2), undefined);
    assert.ok(cache.get('a', 2));
    assert.ok(cache.get('c', 2));
    assert.ok(cache.get('d', 2));
  });

  it('defaults to 10,000 entries and 300 s, and refuses nonsense limits', () => {
    const cache = new DecisionCache();
    assert.equal(cache.maxEntries, 10_000);
    assert.equal(cache.ttlMs, 300_000);
    assert.throws(() => new DecisionCache({ maxEntries: 0 }), /maxEntries/);
    assert.throws(() => new DecisionCache({ ttlMs: -1 }), /ttlMs/);
  });
});

describe('policy stage with the cache', () => {
  it('answers repeated requests from the cache, synchronously, and marks them cached', () => {
    const engine = countingEngine();
    const stage = createPolicyStage({ engine });
    const a = agent('a');
    const b = agent('b');
    const first = context(a, b);
    assert.equal((stage.evaluate(message(a, { to: b }), first) as { kind: string }).kind, 'proceed');
    assert.equal((first.annotations['policy'] as PolicyAnnotation).cached, false);
    const second = context(a, b);
    assert.equal((stage.evaluate(message(a, { to: b }), second) as { kind: string }).kind, 'proceed');
    assert.equal((second.annotations['policy'] as PolicyAnnotation).cached, true);
    assert.equal(engine.calls, 1);
    // Another sender of the same type, tenant and roles: same key, since the engine ignores ids.
    const c = agent('c');
    stage.evaluate(message(c, { to: b }), context(c, b));
    assert.equal(engine.calls, 1);
    // A different attribute (roles) is a different key.
    const blocked = agent('x', { roles: ['blocked'] });
    const verdict = stage.evaluate(message(blocked, { to: b }), context(blocked, b)) as { kind: string; code: string; reason: string };
    assert.equal(verdict.kind, 'reject');
    assert.equal(verdict.code, 'POLICY_DENIED');
    assert.match(verdict.reason, /p-deny/);
    assert.equal(engine.calls, 2);
    assert.deepEqual([stage.stats().cache!.hits, stage.stats().cache!.misses], [2, 2]);
  });

  it('keeps ids in the key when the engine may depend on them', () => {
    const engine = countingEngine({ usesEntityIds: true });
    const stage = createPolicyStage({ engine });
    const b = agent('b');
    for (const id of ['a1', 'a2', 'a1']) {
      const s = agent(id);
      stage.evaluate(message(s, { to: b }), context(s, b));
    }
    assert.equal(engine.calls, 2);
  });

  it('expires decisions after the TTL (clock = ctx.now)', () => {
    const engine = countingEngine();
    const stage = createPolicyStage({ engine, cache: { ttlMs: 1_000 } });
    const a = agent('a');
    const b = agent('b');
    const now = Date.UTC(2026, 0, 7, 10);
    stage.evaluate(message(a, { to: b }), context(a, b, { now }));
    stage.evaluate(message(a, { to: b }), context(a, b, { now: now + 999 }));
    stage.evaluate(message(a, { to: b }), context(a, b, { now: now + 1_000 }));
    assert.equal(engine.calls, 2);
    assert.equal(stage.stats().cache!.expirations, 1);
  });

  it('is invalidated when the constitution rotates, and new decisions carry the new hash', async () => {
    const manager = new ConstitutionManager();
    await manager.loadDefault();
    const stage = createPolicyStage({ constitution: manager });
    const a = agent('a');
    const b = agent('b');
    stage.evaluate(message(a, { to: b }), context(a, b));
    assert.equal(stage.cache!.size, 1);
    const files = Object.fromEntries(
      (await (await import('../../src/policy/index.js')).readBundleDirectory((await import('../../src/policy/index.js')).DEFAULT_BUNDLE_DIR)).files.map((f) => [f.name, f.text]),
    );
    const rotated = manager.loadFromObject({ files: { ...files, 'extra.cedar': '// x\n@id("no-events")\nforbid (principal, action == Action::"event", resource);\n' } });
    assert.ok(rotated.ok);
    assert.equal(stage.cache!.size, 0);
    assert.equal(stage.cache!.stats().invalidations, 1);
    const ctx = context(a, b);
    // The message still names the legacy hash, accepted during the grace window.
    assert.equal((stage.evaluate(message(a, { to: b }), ctx) as { kind: string }).kind, 'proceed');
    assert.equal((ctx.annotations['policy'] as PolicyAnnotation).decision!.bundleHash, rotated.hash);
    const denied = stage.evaluate(message(a, { to: b, messageType: 'event' }), context(a, b)) as { kind: string; reason: string };
    assert.match(denied.reason, /no-events/);
    await stage.close();
    await manager.close();
  });
});

describe('Redis second tier (real Redis at REDIS_URL)', () => {
  const prefix = `eab-test:policy:${randomUUID()}:`;
  const admin = createClient({ url: REDIS_URL });

  after(async () => {
    if (!admin.isOpen) await admin.connect();
    const keys: string[] = [];
    for await (const batch of admin.scanIterator({ MATCH: prefix + '*', COUNT: 100 })) keys.push(...batch);
    if (keys.length > 0) await admin.del(keys);
    await admin.close();
  });

  async function until(predicate: () => boolean): Promise<void> {
    for (let i = 0; i < 200 && !predicate(); i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(predicate(), 'condition not reached in time');
  }

  it('shares decisions between nodes: a decision written by one cache is read by another', async () => {
    const cacheA = new DecisionCache({ redis: { url: REDIS_URL, keyPrefix: prefix, ttlSeconds: 60 } });
    const cacheB = new DecisionCache({ redis: { url: REDIS_URL, keyPrefix: prefix, ttlSeconds: 60 } });
    await Promise.all([cacheA.ready(), cacheB.ready()]);
    const engineA = countingEngine({ async: true });
    const engineB = countingEngine({ async: true });
    const stageA = createPolicyStage({ engine: engineA, cache: cacheA });
    const stageB = createPolicyStage({ engine: engineB, cache: cacheB });
    const a = agent('a');
    const b = agent('b');
    assert.equal((await stageA.evaluate(message(a, { to: b }), context(a, b))).kind, 'proceed');
    await until(() => cacheA.stats().redisWrites === 1);
    const ctx = context(a, b);
    assert.equal((await stageB.evaluate(message(a, { to: b }), ctx)).kind, 'proceed');
    assert.equal(engineB.calls, 0);
    assert.equal(cacheB.stats().redisHits, 1);
    assert.equal((ctx.annotations['policy'] as PolicyAnnotation).cached, true);
    // Now in B's memory tier.
    stageB.evaluate(message(a, { to: b }), context(a, b));
    assert.equal(cacheB.stats().hits, 1);
    // The TTL is set on the Redis key.
    await admin.connect();
    const keys: string[] = [];
    for await (const batch of admin.scanIterator({ MATCH: prefix + '*', COUNT: 100 })) keys.push(...batch);
    assert.equal(keys.length, 1);
    const ttl = await admin.ttl(keys[0]!);
    assert.ok(ttl > 0 && ttl <= 60, `ttl ${ttl}`);
    await Promise.all([cacheA.close(), cacheB.close()]);
  });

  it('Redis failures are counted and ignored: decisions are unchanged', async () => {
    const cache = new DecisionCache({ redis: { url: 'redis://127.0.0.1:1', keyPrefix: prefix } });
    await cache.ready();
    const engine = countingEngine({ async: true });
    const stage = createPolicyStage({ engine, cache });
    const a = agent('a');
    const blocked = agent('z', { roles: ['blocked'] });
    assert.equal((await stage.evaluate(message(a), context(a, undefined))).kind, 'proceed');
    assert.equal((await stage.evaluate(message(blocked), context(blocked, undefined))).kind, 'reject');
    assert.equal(engine.calls, 2);
    assert.ok(cache.stats().redisErrors >= 1);
    // The memory tier still works.
    assert.equal((await stage.evaluate(message(a), context(a, undefined))).kind, 'proceed');
    assert.equal(engine.calls, 2);
    await cache.close();
  });

  it('a corrupt Redis value is an error and a miss, never a decision', async () => {
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    const cache = new DecisionCache({ redis: { client: client as never, keyPrefix: prefix } });
    await client.set(prefix + 'k', '{"allow":true}');
    assert.equal(await cache.getRemote('k', 0), undefined);
    assert.equal(cache.stats().redisErrors, 1);
    await client.close();
  });
});
