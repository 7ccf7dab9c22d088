import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { extractText, MONEY_PATTERN, normalizeForModel } from '../../src/impact/text.js';

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

test('property: normalizeForModel equals its plain definition (global money replace, digit runs, punctuation)', () => {
  const moneyToken = (_m: string, a1?: string, s1?: string, a2?: string, s2?: string): string => {
    let amount = Number.parseFloat((a1 ?? a2 ?? '0').replace(/,/g, ''));
    const suffix = s1 ?? s2;
    if (suffix === 'k' || suffix === 'thousand') amount *= 1_000;
    else if (suffix === 'm' || suffix === 'million') amount *= 1_000_000;
    else if (suffix === 'bn') amount *= 1_000_000_000;
    if (!(amount >= 100)) return ' money_tiny ';
    if (amount < 1_000) return ' money_hundreds ';
    if (amount < 10_000) return ' money_thousands ';
    if (amount < 100_000) return ' money_tens_of_thousands ';
    return ' money_large ';
  };
  const reference = (text: string) =>
    text
      .toLowerCase()
      .replace(new RegExp(MONEY_PATTERN.source, 'g'), moneyToken)
      .replace(/\d+/g, ' num ')
      .replace(/[^a-z0-9_\u0080-\uffff]+/g, ' ');
  const piece = fc.oneof(
    fc.constantFrom('$', '€', '£', 'usd', 'USD', 'eur', 'gbp', 'chf', 'dollars', 'euros', 'pounds', 'k', 'm', 'bn', 'million', 'thousand', ' ', '  ', ',', '.', '\u00a0', '\n', 'x', '_', 'é'),
    fc.integer({ min: 0, max: 10_000_000 }).map(String),
    fc.stringMatching(/^[0-9.,]{1,8}$/),
    fc.string({ maxLength: 4 }),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
      const text = parts.join('');
      assert.equal(normalizeForModel(text), reference(text));
    }),
    { numRuns: 5_000 },
  );
  for (const row of readFileSync(new URL('../../data/impact/messages.jsonl', import.meta.url), 'utf8').trim().split('\n')) {
    const { text } = JSON.parse(row) as { text: string };
    assert.equal(normalizeForModel(text), reference(text));
  }
});
