import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorCode } from '../../src/errors.js';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import {
  bundleContentHash,
  ConstitutionManager,
  DEFAULT_BUNDLE_DIR,
  PolicyBundleError,
  readBundleDirectory,
  type ConstitutionEvent,
} from '../../src/policy/index.js';
import { agent, context, message } from './helpers.js';

const SCHEMA = `entity Agent = { tenant: String, agentType: String, roles: Set<String> };
entity Target = { kind: String, tenant: String, agentType: String, roles: Set<String>, capabilities: Set<String> };
type Ctx = { priority: Long, sizeClass: String, hour: Long, weekday: Long, labels: Set<String>, constitutionalHash: String, hashAccepted: Bool };
action command, query appliesTo { principal: Agent, resource: Target, context: Ctx };
`;
const PERMIT = '@id("allow-all")\npermit (principal, action, resource);\n';

describe('ConstitutionManager', () => {
  let tmp: string;
  before(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'eab-policy-'));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  async function bundleDir(name: string, files: Record<string, string>): Promise<string> {
    const dir = path.join(tmp, name);
    await cp(DEFAULT_BUNDLE_DIR, dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(path.join(dir, file), text);
    return dir;
  }

  it('starts with CONSTITUTIONAL_HASH and fails (never allows) without a bundle', () => {
    const manager = new ConstitutionManager();
    assert.equal(manager.activeHash, CONSTITUTIONAL_HASH);
    assert.equal(manager.accepts(CONSTITUTIONAL_HASH, 0), true);
    assert.equal(manager.accepts('0000000000000000', 0), false);
    assert.throws(() => manager.engine.evaluate({} as never), /no constitution bundle/);
  });

  it('identifies any other bundle by its content hash (16 hex of SHA-256 of canonical content)', async () => {
    const dir = await bundleDir('custom', { 'extra.cedar': '// extra\n@id("extra-forbid-query")\nforbid (principal, action == Action::"query", resource);\n' });
    const source = await readBundleDirectory(dir);
    const expected = bundleContentHash(source);
    assert.match(expected, /^[0-9a-f]{16}$/);
    const manager = new ConstitutionManager();
    const loaded = await manager.load(dir);
    assert.deepEqual(loaded, { ok: true, hash: expected, changed: true });
    assert.equal(manager.activeHash, expected);
    assert.notEqual(expected, CONSTITUTIONAL_HASH);
    // Reloading identical content is not a rotation.
    assert.deepEqual(await manager.load(dir), { ok: true, hash: expected, changed: false });
    await manager.close();
  });

  it('rotation: the previous hash is accepted until the grace window ends, then refused', () => {
    let now = 1_000_000;
    const manager = new ConstitutionManager({ clock: () => now, graceMs: 60_000 });
    const events: ConstitutionEvent[] = [];
    manager.onChange((e) => events.push(e));
    const first = manager.loadFromObject({ files: { 'p.cedar': PERMIT, 's.cedarschema': SCHEMA } }, 'first');
    assert.ok(first.ok);
    now += 10;
    const second = manager.loadFromObject({ files: { 'p.cedar': PERMIT + '// v2\n', 's.cedarschema': SCHEMA } }, 'second');
    assert.ok(second.ok);
    assert.notEqual(first.hash, second.hash);
    assert.equal(manager.activeHash, second.hash);
    assert.equal(manager.previousHash, first.hash);
    assert.equal(manager.accepts(second.hash, now), true);
    assert.equal(manager.accepts(first.hash, now + 59_999), true);
    assert.equal(manager.accepts(first.hash, now + 60_000), false);
    assert.equal(manager.accepts(CONSTITUTIONAL_HASH, now), false, 'only one previous hash is kept');
    assert.deepEqual(
      events.map((e) => (e.type === 'activated' ? [e.type, e.previousHash, e.hash, e.graceUntil] : [e.type])),
      [
        ['activated', CONSTITUTIONAL_HASH, first.hash, 1_000_000 + 60_000],
        ['activated', first.hash, second.hash, now + 60_000],
      ],
    );
  });

  it('rotation grace comes from the bundle setting rotationGraceSeconds when present', () => {
    const now = 5_000;
    const manager = new ConstitutionManager({ clock: () => now, graceMs: 60_000 });
    manager.loadFromObject({ files: { 'p.cedar': PERMIT, 's.cedarschema': SCHEMA } });
    const next = manager.loadFromObject({ files: { 'p.cedar': PERMIT, 's.cedarschema': SCHEMA }, settings: { rotationGraceSeconds: 2 } });
    assert.ok(next.ok);
    assert.equal(manager.graceUntil, now + 2_000);
    assert.equal(manager.accepts(manager.previousHash!, now + 1_999), true);
    assert.equal(manager.accepts(manager.previousHash!, now + 2_000), false);
  });

  it('the policy decision follows the grace window through context.hashAccepted', async () => {
    let now = Date.UTC(2026, 0, 7, 10);
    const manager = new ConstitutionManager({ clock: () => now, graceMs: 1_000 });
    await manager.loadDefault();
    const dir = await bundleDir('rotated', { 'bundle.json': JSON.stringify({ rotationGraceSeconds: 1, note: 'rotated' }) });
    const loaded = await manager.load(dir);
    assert.ok(loaded.ok);
    const { createPolicyStage } = await import('../../src/policy/index.js');
    const stage = createPolicyStage({ constitution: manager });
    const a = agent('a');
    const b = agent('b');
    const legacy = () => stage.evaluate(message(a, { to: b, constitutionalHash: CONSTITUTIONAL_HASH }), context(a, b, { now }));
    assert.equal((legacy() as { kind: string }).kind, 'proceed');
    now += 1_000;
    const refused = legacy() as { kind: string; code?: string; reason?: string };
    assert.equal(refused.kind, 'reject');
    assert.match(refused.reason!, /constitutional-hash/);
    await stage.close();
    await manager.close();
  });

  describe('invalid bundles are refused with file, line and message; last-known-good stays active', () => {
    async function refused(files: Record<string, string>) {
      const manager = new ConstitutionManager();
      await manager.loadDefault();
      const events: ConstitutionEvent[] = [];
      manager.onChange((e) => events.push(e));
      const dir = await bundleDir(`bad-${Math.random().toString(36).slice(2)}`, files);
      const result = await manager.load(dir);
      assert.equal(result.ok, false);
      assert.ok(!result.ok);
      assert.ok(result.error instanceof PolicyBundleError);
      assert.equal(result.error.code, ErrorCode.INVALID_POLICY_BUNDLE);
      assert.equal(manager.activeHash, CONSTITUTIONAL_HASH, 'last-known-good still active');
      assert.equal(manager.lastError, result.error);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, 'rejected');
      // The LKG engine still decides.
      const lkg = manager.engine.evaluate({
        principal: { id: 'a', agentType: 'w', tenant: 'acme', roles: [] },
        action: 'command',
        resource: { kind: 'agent', id: 'b', tenant: 'acme', agentType: 'w', roles: [], capabilities: [] },
        context: { priority: 1, sizeClass: 'small', hour: 10, weekday: 3, labels: [], constitutionalHash: CONSTITUTIONAL_HASH, hashAccepted: true },
      });
      assert.equal(lkg.allow, true, JSON.stringify(lkg));
      await manager.close();
      return result.error;
    }

    it('syntax error', async () => {
      const error = await refused({ 'rbac.cedar': '// ok\n@id("fine")\npermit (principal, action, resource);\n\n@id("broken")\nforbid (principal, action, resource) when { ; };\n' });
      const issue = error.issues[0]!;
      assert.equal(issue.file, 'rbac.cedar');
      assert.equal(issue.line, 6);
      assert.ok(issue.column > 1);
      assert.match(issue.message, /unexpected token/);
      assert.match(error.message, /rbac\.cedar:6:/);
    });

    it('schema violation (unknown attribute)', async () => {
      const error = await refused({ 'compliance.cedar': '// c\n@id("typo")\nforbid (principal, action, resource)\nwhen { principal.tenantz == "x" };\n' });
      const issue = error.issues[0]!;
      assert.equal(issue.file, 'compliance.cedar');
      assert.equal(issue.line, 4);
      assert.equal(issue.policyId, 'policy0');
      assert.match(issue.message, /tenantz/);
    });

    it('unknown action', async () => {
      const error = await refused({ 'x.cedar': '@id("x")\nforbid (principal, action == Action::"delete_everything", resource);\n' });
      assert.equal(error.issues[0]!.file, 'x.cedar');
      assert.match(error.issues[0]!.message, /delete_everything/);
    });

    it('policy without an @id, and duplicate ids', async () => {
      const error = await refused({ 'noid.cedar': '// one\npermit (principal, action, resource);\n@id("baseline-permit")\npermit (principal, action, resource);\n' });
      assert.deepEqual(
        error.issues.map((i) => [i.file, i.line, /no @id/.test(i.message) || /duplicate policy id "baseline-permit"/.test(i.message)]),
        [
          ['noid.cedar', 2, true],
          ['noid.cedar', 3, true],
        ],
      );
    });

    it('broken schema', async () => {
      const error = await refused({ 'bus.cedarschema': (await readFile(path.join(DEFAULT_BUNDLE_DIR, 'bus.cedarschema'), 'utf8')).replace('tenant: String', 'tenant: Strin') });
      assert.equal(error.issues[0]!.file, 'bus.cedarschema');
      assert.ok(error.issues[0]!.line > 1);
      assert.match(error.issues[0]!.message, /Strin/);
    });

    it('bundle.json that is not JSON, or has wrong settings', async () => {
      const notJson = await refused({ 'bundle.json': '{\n  "screen": true,\n  oops\n}' });
      assert.equal(notJson.issues[0]!.file, 'bundle.json');
      assert.equal(notJson.issues[0]!.line, 3);
      const wrong = await refused({ 'bundle.json': JSON.stringify({ impactThreshold: 3 }) });
      assert.match(wrong.issues[0]!.message, /impactThreshold/);
    });

    it('a missing directory', async () => {
      const manager = new ConstitutionManager();
      const result = await manager.load(path.join(tmp, 'does-not-exist'));
      assert.equal(result.ok, false);
      assert.match(manager.lastError!.message, /cannot read bundle directory/);
    });
  });

  it('watch: a file change reloads the directory (debounced); a broken edit keeps the last-known-good', async () => {
    const dir = await bundleDir('watched', {});
    const manager = new ConstitutionManager({ debounceMs: 30 });
    await manager.load(dir);
    const events: ConstitutionEvent[] = [];
    const next = () => new Promise<ConstitutionEvent>((resolve) => {
      const off = manager.onChange((e) => {
        off();
        resolve(e);
      });
    });
    manager.onChange((e) => events.push(e));
    // The watcher does not keep the process alive (persistent: false); this test must.
    const keepAlive = setInterval(() => undefined, 1_000);
    after(() => clearInterval(keepAlive));
    manager.watch(dir);
    let pending = next();
    // Several quick writes produce one reload.
    await writeFile(path.join(dir, 'bundle.json'), JSON.stringify({ screen: false }));
    await writeFile(path.join(dir, 'bundle.json'), JSON.stringify({ screen: false, impactThreshold: 0.5 }));
    const activated = await pending;
    assert.equal(activated.type, 'activated');
    assert.equal(manager.settings.impactThreshold, 0.5);
    const goodHash = manager.activeHash;
    pending = next();
    await writeFile(path.join(dir, 'rbac.cedar'), 'permit (principal, action, resource) when {');
    const rejected = await pending;
    assert.equal(rejected.type, 'rejected');
    assert.equal(manager.activeHash, goodHash);
    assert.equal(events.filter((e) => e.type === 'activated').length, 1);
    await manager.close();
    clearInterval(keepAlive);
  });
});
