import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDefaultTextModel } from '../../src/impact/load-model.js';
import { FastTextModel } from '../../src/impact/fasttext-model.js';
import { FastTextJsModel } from '../../src/impact/fasttext-js-model.js';
import { assembleGovernance, checkGovernanceOptions } from '../../src/assembly.js';
import { CachedTextModel } from '../../src/impact/cached-model.js';
import { BusError } from '../../src/errors.js';
import { KeywordModel } from '../../src/impact/keyword-model.js';
import { createImpactStage, type ImpactAnnotation } from '../../src/impact/stage.js';
import { governanceContext, message } from './helpers.js';

const CLEAR_HIGH = [
  'wire $48,000 to the new vendor account today',
  'drop the customers table in production',
  'grant the contractor admin access to the production AWS account',
  'export all customer records with emails and phone numbers to my personal gmail',
  'delete the account of user 5512 and all associated data',
  'terminate the employment of our sales lead effective today and revoke their badge',
];
const CLEAR_LOW = [
  'reviewed the security audit checklist, nothing to do',
  'thanks, that fixed it',
  'scheduled the weekly sync for Tuesday at 10:00',
  'the staging deploy of search-indexer finished green',
  'how many active users did we have last week? aggregate only',
  'translated the FAQ into Spanish',
];

for (const backend of ['js', 'wasm'] as const) {
  test(`the shipped fastText model loads from data/ (${backend} backend) and separates clear high- from clear low-impact text`, async () => {
    const reasons: string[] = [];
    const loaded = await loadDefaultTextModel({ backend, onFallback: (r) => reasons.push(r) });
    assert.equal(loaded.fallback, false, `fell back: ${loaded.reason}`);
    assert.deepEqual(reasons, []);
    assert.equal(loaded.backend, backend);
    assert.ok(loaded.model instanceof (backend === 'js' ? FastTextJsModel : FastTextModel));
    assert.equal(loaded.model.name, 'fasttext');
    assert.ok(loaded.path.endsWith('data/impact/impact-model.bin'));
    for (const text of CLEAR_HIGH) {
      const p = loaded.model.predict(text) as number;
      assert.ok(p > 0.5, `expected high impact for "${text}", got ${p}`);
    }
    for (const text of CLEAR_LOW) {
      const p = loaded.model.predict(text) as number;
      assert.ok(p < 0.5, `expected low impact for "${text}", got ${p}`);
    }
    const keyword = new KeywordModel();
    // the keyword baseline misses the payment with no keyword in it
    assert.equal(keyword.predict(CLEAR_HIGH[0]!), 0);
    assert.equal(loaded.model.predict(''), 0);
    assert.equal(loaded.model.predict('  ?! '), 0);
    // text beyond maxChars is not read: a long tail cannot change the prediction
    const head = CLEAR_HIGH[0]! + ' ';
    const padded = head + 'x'.repeat(600 - head.length);
    assert.equal(loaded.model.predict(padded + ' thanks, that fixed it'.repeat(200)), loaded.model.predict(padded));
  });
}

test('the js backend is the default; an unknown backend is a configuration error', async () => {
  const loaded = await loadDefaultTextModel({ onFallback: () => assert.fail('fallback') });
  assert.equal(loaded.backend, 'js');
  assert.ok(loaded.model instanceof FastTextJsModel);
  await assert.rejects(loadDefaultTextModel({ backend: 'onnx' as 'js' }), /fastText backend must be 'js' or 'wasm', got onnx/);
  assert.throws(() => checkGovernanceOptions({ impact: { backend: 'onnx' as 'js' } }), (e: unknown) => e instanceof BusError && e.code === 'INVALID_OPTIONS' && /impact\.backend/.test(e.message));
  assert.doesNotThrow(() => checkGovernanceOptions({ impact: { backend: 'wasm' } }));
});

test('impact.backend chooses the runtime of the bus’s fastText model (cached either way)', async () => {
  for (const [backend, kind] of [[undefined, FastTextJsModel], ['js', FastTextJsModel], ['wasm', FastTextModel]] as const) {
    const governance = await assembleGovernance({ policy: false, deliberation: false, journal: false, impact: backend === undefined ? {} : { backend } });
    try {
      assert.equal(governance.impactModelFallback, undefined);
      const model = governance.impactStage!.scorer.model;
      assert.ok(model instanceof CachedTextModel);
      assert.ok(model.model instanceof kind, `backend ${backend}`);
    } finally {
      await governance.close();
    }
  }
});

test('the impact stage with the fastText model holds a high-impact payment and passes chatter', async () => {
  const { model } = await loadDefaultTextModel({ onFallback: () => assert.fail('fallback') });
  const stage = createImpactStage({ model, timeZone: 'UTC' });
  const held = governanceContext();
  const verdict = stage.evaluate(message({ content: { instruction: 'wire $48,000 to the new vendor account today' } }), held);
  assert.equal((verdict as { kind: string }).kind, 'hold');
  assert.equal((held.annotations['impact'] as ImpactAnnotation).model, 'fasttext');
  const passed = governanceContext();
  assert.equal((stage.evaluate(message({ fromAgent: 'chatty', content: { text: 'thanks, that fixed it' } }), passed) as { kind: string }).kind, 'proceed');
});

test('a missing model file falls back to the keyword model with a reported reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'impact-model-'));
  try {
    const reasons: string[] = [];
    const loaded = await loadDefaultTextModel({ path: join(dir, 'absent.bin'), onFallback: (r) => reasons.push(r) });
    assert.equal(loaded.fallback, true);
    assert.ok(loaded.model instanceof KeywordModel);
    assert.equal(reasons.length, 1);
    assert.equal(reasons[0], loaded.reason);
    assert.match(loaded.reason!, /absent\.bin.*ENOENT.*keyword model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unloadable model file falls back with a reason; by default the reason is a process warning', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'impact-model-'));
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const path = join(dir, 'garbage.bin');
    writeFileSync(path, Buffer.from('this is not a fastText model'));
    const loaded = await loadDefaultTextModel({ path });
    assert.equal(loaded.fallback, true);
    assert.ok(loaded.model instanceof KeywordModel);
    assert.match(loaded.reason!, /garbage\.bin/);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.name, 'ImpactModelFallback');
  } finally {
    process.off('warning', onWarning);
    rmSync(dir, { recursive: true, force: true });
  }
});
