import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { extractText, normalizeForModel } from '../../src/impact/text.js';

test('text: string leaves of content, then payload; keys, numbers and booleans are not text', () => {
  const text = extractText({ action: 'transfer', nested: { note: 'to vendor', n: 5, ok: true, list: ['a', { deep: 'b' }] } }, { memo: 'invoice 7' });
  assert.equal(text, 'transfer to vendor a b invoice 7');
  assert.equal(extractText({}, undefined), '');
});

test('text: bounded to maxChars, cutting inside a leaf', () => {
  const long = 'x'.repeat(5000);
  assert.equal(extractText({ a: long }, { b: 'never read' }).length, 2000);
  assert.equal(extractText({ a: 'abc', b: 'defgh' }, undefined, 6), 'abc de');
});

test('property: extracted text never exceeds the budget', () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.integer({ min: 0, max: 300 }), (content, max) => {
      assert.ok(extractText(content, content, max).length <= max);
    }),
    { numRuns: 300 },
  );
});

test('normalisation: lower-case, amounts as magnitude tokens, other numbers as num, punctuation gone', () => {
  assert.equal(normalizeForModel('Wire $48,000 NOW!').trim().split(/\s+/).join(' '), 'wire money_tens_of_thousands now');
  assert.equal(normalizeForModel('refund €9.90').trim().split(/\s+/).join(' '), 'refund money_tiny');
  assert.equal(normalizeForModel('pay 1.2m usd').trim().split(/\s+/).join(' '), 'pay money_large');
  assert.equal(normalizeForModel('$75k').trim(), 'money_tens_of_thousands');
  assert.equal(normalizeForModel('ticket INC-4821 on port 22').trim().split(/\s+/).join(' '), 'ticket inc num on port num');
});
