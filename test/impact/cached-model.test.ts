import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CachedTextModel } from '../../src/impact/cached-model.js';
import type { TextModel } from '../../src/impact/text-model.js';

function counting(): TextModel & { calls: number } {
  const model = { name: 'counting', calls: 0, predict: (text: string) => (model.calls++, text.length / 100) };
  return model;
}

it('answers a repeated text from the cache with the same prediction', () => {
  const inner = counting();
  const model = new CachedTextModel(inner, 4);
  assert.equal(model.name, 'counting');
  assert.equal(model.predict('wire the funds'), 0.14);
  assert.equal(model.predict('wire the funds'), 0.14);
  assert.equal(inner.calls, 1);
  assert.deepEqual(model.stats(), { hits: 1, misses: 1, size: 1 });
});

it('stays bounded at two generations and keeps texts that are still in use', () => {
  const inner = counting();
  const model = new CachedTextModel(inner, 3);
  for (let i = 0; i < 100; i++) {
    model.predict(`text ${i}`);
    model.predict('hot text');
  }
  assert.ok(model.stats().size <= 6, `size ${model.stats().size}`);
  const before = inner.calls;
  model.predict('hot text');
  assert.equal(inner.calls, before, 'a text used all along is still cached');
});

it('passes asynchronous predictions through without caching them', async () => {
  let calls = 0;
  const model = new CachedTextModel({ name: 'slow', predict: () => (calls++, Promise.resolve(0.5)) }, 4);
  assert.equal(await model.predict('x'), 0.5);
  assert.equal(await model.predict('x'), 0.5);
  assert.equal(calls, 2);
});
