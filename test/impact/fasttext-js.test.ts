import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { FastTextModel } from '../../src/impact/fasttext-model.js';
import { FastTextJsModel, fastTextHash, mixWordNgram, reduceWordNgram, seedWordNgram } from '../../src/impact/fasttext-js-model.js';
import { readFastTextModel } from '../../src/impact/fasttext-reader.js';
import { normalizeForModel } from '../../src/impact/text.js';
import { smallCorpus, trainModel } from './fasttext-train.js';

const TOLERANCE = 1e-5;
const modelBytes = new Uint8Array(readFileSync(new URL('../../data/impact/impact-model.bin', import.meta.url)));
const rows = readFileSync(new URL('../../data/impact/messages.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => (JSON.parse(line) as { text: string }).text);

const shipped = { wasm: await FastTextModel.fromBytes(modelBytes), js: FastTextJsModel.fromBytes(modelBytes) };
const vocabulary = readFastTextModel(modelBytes)
  .entries.filter((e) => e.type === 0)
  .map((e) => e.text);

interface Pair {
  wasm: FastTextModel;
  js: FastTextJsModel;
}

/** Both entry points (raw text through the shared normalisation, and already-normalised text). */
function assertSame(models: Pair, text: string, tolerance = TOLERANCE): void {
  const a = models.wasm.predict(text);
  const b = models.js.predict(text);
  assert.ok(Math.abs(a - b) <= tolerance, `predict(${JSON.stringify(text).slice(0, 200)}): wasm ${a}, js ${b}`);
  const c = models.wasm.predictNormalized(text);
  const d = models.js.predictNormalized(text);
  assert.ok(Math.abs(c - d) <= tolerance, `predictNormalized(${JSON.stringify(text).slice(0, 200)}): wasm ${c}, js ${d}`);
}

/**
 * The toy models below (a few dimensions, as few as 7 buckets, trained on a small corpus) have
 * large weights, and a text's many n-grams land on the same few rows: near p = 0.5 the margin is a
 * difference of large sums, where fasttext.wasm's float32 accumulation and our float64 one part
 * (seen: 0.50001 against 0.49999, 2e-5, with 7 buckets). Held to 1e-4, five times that; the
 * shipped model is held to 1e-5.
 */
const TOY_MODEL_TOLERANCE = 1e-4;

const HOSTILE = [
  '',
  ' ',
  ' \t\r\n\v\f\0 ',
  '\n',
  '\0',
  'a',
  'a b c d e f g h i j k l m n o p q r s t u v w x y z',
  'x',
  'wire money now',
  'wire money now\n',
  'wire money now\nthanks, that fixed it',
  'thanks\nwire $48,000 to the new vendor account today',
  'line one\r\nline two',
  'tab\tseparated\tvalues\vand\fform\rfeeds',
  'nul\0inside\0words',
  '__label__high',
  '__label__low wire the money',
  '__label__ grant admin access',
  'wire __label__high money',
  '__label__high\n__label__low',
  '</s>',
  '</s> wire money now',
  'drop the table </s> thanks',
  '<s> </s > </ss>',
  'überweisung sofort ausführen',
  '立即转账给供应商 drop the customers table',
  '😀😀😀 grant admin 🔑 access 👍🏽',
  'é',
  'é'.repeat(700),
  'x'.repeat(5_000),
  'supercalifragilisticexpialidocious'.repeat(30),
  'ab'.repeat(300) + ' wire',
  'Ελληνικά кириллица עברית العربية हिन्दी',
  '\u00a0\u2028\u2029\ufeff',
  '\u0085 next line',
  '\ud800',
  '\udc00',
  'lone \ud83d surrogate',
  'lone\udc00 low',
  'pair cut at the end \ud83d',
  '\ud83d\ud83d\ude00',
  '\udfff\ud800 x',
  '\uffff\ufffe\ufffd',
  '\ud800!!abc',
  'wire\udbff?? money now',
  '\ud83d... drop the table',
  '\ud800\n\nwire',
  '\udc00_x',
  '!!!',
  '\u00a0!!',
  '\u3000 \ufeff \u2028',
  '\u0085',
  'é!!',
  '$48,000 €1.2m 15k usd 300 dollars 42',
  'WIRE $48,000 TO THE NEW VENDOR ACCOUNT TODAY',
  'export all customer records with emails and phone numbers to my personal gmail',
  ' '.repeat(1_000) + 'wire money',
];

test('the TypeScript model equals fasttext.wasm on every row of the dataset (|Δp| ≤ 1e-5)', () => {
  let worst = 0;
  for (const text of rows) {
    assertSame(shipped, text);
    assertSame(shipped, normalizeForModel(text));
    worst = Math.max(worst, Math.abs(shipped.wasm.predict(text) - shipped.js.predict(text)));
  }
  assert.equal(rows.length, 1225);
  // The contract is 1e-5; the float64 sums (fastText rounds to float32 after every addition) stay far inside it.
  assert.ok(worst <= TOLERANCE / 10, `largest |Δp| on the dataset ${worst}`);
});

test('the TypeScript model equals fasttext.wasm on hostile and edge-case texts', () => {
  for (const text of HOSTILE) assertSame(shipped, text);
  // around the sizes where the byte buffer grows, ending in a lone surrogate (4 bytes for 1 unit)
  for (const n of [339, 340, 341, 342, 1_000, 5_000]) {
    for (const unit of ['x', 'é', '中']) assertSame(shipped, unit.repeat(n) + ' wire \ud83d');
  }
  // a long text then a short one: scratch buffers carry nothing over
  assertSame(shipped, 'x'.repeat(50_000) + ' wire');
  assertSame(shipped, 'thanks');
});

test('the TypeScript model keeps FastTextModel’s contract: name, labels, maxChars, empty text', () => {
  const js = FastTextJsModel.fromBytes(modelBytes, { maxChars: 20, name: 'ft' });
  const wasmModel = shipped.wasm;
  assert.equal(js.name, 'ft');
  assert.equal(shipped.js.name, 'fasttext');
  assert.deepEqual(shipped.js.labels, wasmModel.labels);
  assert.equal(shipped.js.predict(''), 0);
  assert.equal(shipped.js.predict(' ?! '), 0);
  assert.equal(js.predict('wire money now and then thanks'), js.predict('wire money now and t'));
  assert.throws(() => FastTextJsModel.fromBytes(modelBytes, { highLabel: '__label__urgent' }), /two labels including __label__urgent/);
});

/** Pieces fastText treats specially, mixed with arbitrary code points and UTF-16 code units. */
function textArbitrary(words: readonly string[]): fc.Arbitrary<string> {
  const piece = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...words) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((u) => String.fromCharCode(u)) },
    { weight: 2, arbitrary: fc.constantFrom(' ', ' ', '  ', '\n', '\t', '\r', '\v', '\f', '\0', '</s>', '__label__high', '__label__x', '<', '>') },
    { weight: 1, arbitrary: fc.constantFrom('!!', '?!.', ' - ', '...', '$', '#1', '$48,000', '15k usd', 'É', 'İ', '\u00a0', '\u3000') },
    { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)) },
  );
  return fc.array(piece, { maxLength: 40 }).map((parts) => parts.join(''));
}

test('property: random unicode text gives the same probability in TypeScript and in fasttext.wasm', () => {
  fc.assert(
    fc.property(textArbitrary(vocabulary), fc.boolean(), (text, spaced) => {
      assertSame(shipped, spaced ? text.split('').join(' ') : text);
    }),
    { numRuns: 1_500 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => assertSame(shipped, text)),
    { numRuns: 500 },
  );
});

test('models with other hyperparameters: 1-character n-grams, word trigrams and bigrams, more than 2^21 buckets, no subwords', async () => {
  const corpus = smallCorpus();
  const words = [...new Set(corpus.flatMap((l) => l.split(' ')))];
  const configs = [
    { minn: 1, maxn: 3, wordNgrams: 3, bucket: 2_097_153, dim: 2 },
    { minn: 2, maxn: 6, wordNgrams: 4, bucket: 1_009, dim: 5 },
    { minn: 0, maxn: 0, wordNgrams: 1, bucket: 0, dim: 3 },
    // word bigrams (the shipped setting, computed from per-word parts) with more than 2^21 buckets, and with few
    { minn: 3, maxn: 4, wordNgrams: 2, bucket: 3_000_017, dim: 4 },
    { minn: 2, maxn: 3, wordNgrams: 2, bucket: 7, dim: 3 },
  ];
  for (const config of configs) {
    const bytes = await trainModel({ lines: corpus, ...config });
    const pair = { wasm: await FastTextModel.fromBytes(bytes), js: FastTextJsModel.fromBytes(bytes) };
    for (const line of corpus) assertSame(pair, line.replace(/^__label__\w+ /, ''), TOY_MODEL_TOLERANCE);
    for (const text of HOSTILE) assertSame(pair, text, TOY_MODEL_TOLERANCE);
    fc.assert(
      fc.property(textArbitrary(words), (text) => assertSame(pair, text, TOY_MODEL_TOLERANCE)),
      { numRuns: 300 },
    );
  }
});

test('either label order: the high-impact label first or second in the model', async () => {
  const corpus = smallCorpus();
  for (const first of ['high', 'low']) {
    // fastText sorts labels by count, so the label with the extra lines comes first
    const lines = [...corpus, ...corpus.filter((l) => l.startsWith(`__label__${first} `))];
    const bytes = await trainModel({ lines, wordNgrams: 2, minn: 3, maxn: 5, bucket: 20_000, dim: 8 });
    const pair = { wasm: await FastTextModel.fromBytes(bytes), js: FastTextJsModel.fromBytes(bytes) };
    assert.equal(pair.js.labels[0], `__label__${first}`);
    for (const line of corpus) assertSame(pair, line.replace(/^__label__\w+ /, ''));
    for (const text of HOSTILE) assertSame(pair, text);
  }
});

test('the uint64 word n-gram hash without BigInt matches BigInt arithmetic', () => {
  const M = (1n << 64n) - 1n;
  const sext = (h: number) => BigInt.asUintN(64, BigInt(h | 0));
  const state = new Uint32Array(2);
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: -0x80000000, max: 0x7fffffff }), { minLength: 1, maxLength: 8 }),
      fc.oneof(fc.integer({ min: 1, max: 0x200000 }), fc.integer({ min: 0x200001, max: 0x7fffffff }), fc.constantFrom(1, 2, 20_000, 2_000_000, 0x200000, 0x200001, 0x7fffffff)),
      (hashes, bucket) => {
        let expected = sext(hashes[0]!);
        seedWordNgram(state, hashes[0]!);
        for (let j = 1; j < hashes.length; j++) {
          expected = (expected * 116049371n + sext(hashes[j]!)) & M;
          mixWordNgram(state, hashes[j]!);
          assert.equal((BigInt(state[0]!) << 32n) | BigInt(state[1]!), expected);
          assert.equal(reduceWordNgram(state, bucket), Number(expected % BigInt(bucket)));
        }
      },
    ),
    { numRuns: 2_000 },
  );
});

test('fastText’s hash sign-extends bytes (int8) before xor', () => {
  // FNV-1a of "a": (2166136261 ^ 0x61) * 16777619 mod 2^32
  assert.equal(fastTextHash(Uint8Array.of(0x61)), 0xe40c292c);
  const reference = (bytes: Uint8Array) => {
    let h = 2166136261n;
    for (const b of bytes) h = ((h ^ BigInt.asUintN(32, BigInt((b << 24) >> 24))) * 16777619n) & 0xffffffffn;
    return Number(h);
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 20 }), (bytes) => assert.equal(fastTextHash(bytes), reference(bytes))));
});

test('an exact tie between the labels goes to the later one, as in fastText’s top-k heap', async () => {
  // Both output rows equal: every line scores 0.5 / 0.5.
  const tied = modelBytes.slice();
  const rowBytes = 16 * 4;
  const outputRows = tied.length - 2 * rowBytes;
  tied.copyWithin(outputRows + rowBytes, outputRows, outputRows + rowBytes);
  const pair = { wasm: await FastTextModel.fromBytes(tied), js: FastTextJsModel.fromBytes(tied) };
  for (const text of ['wire money now', 'thanks', '</s>']) {
    assertSame(pair, text);
    assert.notEqual(pair.js.predict(text), 0.5); // the reported probability is p + 1e-5 of one label
  }
});
