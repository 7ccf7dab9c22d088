import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OffThreadModel } from '../../src/impact/off-thread-model.js';
import { createImpactStage, type ImpactAnnotation } from '../../src/impact/stage.js';
import { governanceContext, message } from './helpers.js';

const SLOW_MODEL = new URL('./fixtures/slow-model.ts', import.meta.url);

test('a slow backend runs off the event loop: timers keep firing while it works', async () => {
  const model = await OffThreadModel.start({ module: SLOW_MODEL, modelOptions: { delayMs: 40 } });
  try {
    assert.equal(model.name, 'off-thread:slow-test-model');
    let ticks = 0;
    let maxGap = 0;
    let last = performance.now();
    const interval = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 5);
    // 8 distinct texts × 40 ms of CPU each = 320 ms of work in the worker
    const texts = Array.from({ length: 8 }, (_, i) => `message number ${i}${i === 3 ? ' wire the money' : ''}`);
    const results = await Promise.all(texts.map((t) => model.predict(t)));
    clearInterval(interval);
    assert.equal(results[3], 0.95);
    assert.equal(results[0], 0.05);
    // On the event loop the 8 texts (one batch) would block it for 320 ms in one stretch. The
    // bounds leave room for a loaded machine while still ruling that out.
    assert.ok(ticks >= 10, `the event loop ran only ${ticks} timer ticks during 320 ms of model work`);
    assert.ok(maxGap < 150, `a timer waited ${maxGap.toFixed(1)} ms`);
    const stats = model.stats();
    assert.equal(stats.pending, 0);
    assert.ok(stats.batches < texts.length, `texts were batched (${stats.batches} batches)`);
  } finally {
    await model.close();
  }
});

test('recent texts are cached and answered synchronously; concurrent duplicates share one prediction', async () => {
  const model = await OffThreadModel.start({ module: SLOW_MODEL, modelOptions: { delayMs: 5 }, cacheSize: 2 });
  try {
    const a = model.predict('wire it');
    const b = model.predict('wire it');
    assert.equal(a, b, 'the in-flight prediction is shared');
    assert.equal(await a, 0.95);
    assert.equal(model.predict('wire it'), 0.95, 'cached: a number, not a promise');
    await model.predict('second text');
    await model.predict('third text'); // evicts "wire it" (cache of 2)
    assert.ok(model.predict('wire it') instanceof Promise);
    const stats = model.stats();
    assert.equal(stats.cacheHits, 1);
    assert.equal(stats.cacheEvictions, 1);
  } finally {
    await model.close();
  }
});

test('the impact stage with an off-thread model returns a promise, then answers from the cache synchronously', async () => {
  const model = await OffThreadModel.start({ module: SLOW_MODEL, modelOptions: { delayMs: 5 } });
  try {
    const stage = createImpactStage({ model, timeZone: 'UTC' });
    const first = stage.evaluate(message({ content: { text: 'please wire the funds' } }), governanceContext());
    assert.equal(typeof (first as PromiseLike<unknown>).then, 'function');
    assert.equal((await first).kind, 'hold');
    const ctx = governanceContext();
    const second = stage.evaluate(message({ fromAgent: 'other', content: { text: 'please wire the funds' } }), ctx);
    assert.equal((second as { kind: string }).kind, 'hold');
    assert.equal((ctx.annotations['impact'] as ImpactAnnotation).model, 'off-thread:slow-test-model');
  } finally {
    await model.close();
  }
});

test('overload, timeout and closing refuse predictions instead of queueing without bound', async () => {
  const model = await OffThreadModel.start({ module: SLOW_MODEL, modelOptions: { delayMs: 60 }, maxPending: 2, timeoutMs: 30 });
  try {
    const p1 = model.predict('one');
    const p2 = model.predict('two');
    await assert.rejects(Promise.resolve(model.predict('three')), /overloaded/);
    await assert.rejects(Promise.resolve(p1), /did not answer within 30 ms/);
    await assert.rejects(Promise.resolve(p2), /did not answer within 30 ms/);
    assert.equal(model.stats().refusedOverload, 1);
    assert.equal(model.stats().timedOut, 2);
  } finally {
    await model.close();
  }
  await assert.rejects(Promise.resolve(model.predict('after close')), /unavailable: closed/);
});

test('a backend that fails to load is reported at start', async () => {
  await assert.rejects(OffThreadModel.start({ module: SLOW_MODEL, exportName: 'createBrokenModel' }), /failed to load: model folder not found/);
  await assert.rejects(OffThreadModel.start({ module: SLOW_MODEL, exportName: 'noSuchExport' }), /does not export a function noSuchExport/);
});
