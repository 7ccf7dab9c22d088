/**
 * Chooses fastText hyperparameters without looking at the held-out split: 4-fold
 * cross-validation over the *training* templates (whole phrasings per fold), plus the predict
 * cost of each candidate.
 *
 *   npx tsx scripts/impact-dataset/select-hyperparameters.ts
 */
import { DEFAULT_SEED, generateDataset } from './generate.js';
import { HYPERPARAMETERS, metrics, train, type Hyperparameters } from '../train-impact.js';
import { FastTextModel } from '../../src/impact/fasttext-model.js';
import { normalizeForModel } from '../../src/impact/text.js';
import { nsPerOp } from '../../bench/lib.js';

const FOLDS = 4;
const CANDIDATES: Record<string, Hyperparameters> = {
  'subwords 3-5, dim 16': { ...HYPERPARAMETERS, minn: 3, maxn: 5 },
  'no subwords, dim 16': { ...HYPERPARAMETERS, minn: 0, maxn: 0 },
  'subwords 4-4, dim 16': { ...HYPERPARAMETERS, minn: 4, maxn: 4 },
  'subwords 5-5, dim 16 (chosen)': { ...HYPERPARAMETERS, minn: 5, maxn: 5 },
  'subwords 4-4, dim 8': { ...HYPERPARAMETERS, minn: 4, maxn: 4, dim: 8 },
};

function fold(template: string): number {
  let h = 0;
  for (let i = 0; i < template.length; i++) h = (Math.imul(h, 31) + template.charCodeAt(i)) >>> 0;
  return h % FOLDS;
}

const rows = generateDataset(DEFAULT_SEED).filter((r) => r.split === 'train');
for (const [label, hyper] of Object.entries(CANDIDATES)) {
  let tp = 0, fp = 0, fn = 0, tn = 0;
  let predictNs = 0;
  for (let k = 0; k < FOLDS; k++) {
    const trainRows = rows.filter((r) => fold(r.template) !== k);
    const testRows = rows.filter((r) => fold(r.template) === k);
    const model = await FastTextModel.fromBytes(await train(trainRows, hyper));
    const m = metrics(testRows, testRows.map((r) => model.predict(r.text)), 0.5);
    tp += m.truePositives; fp += m.falsePositives; fn += m.falseNegatives; tn += m.trueNegatives;
    if (k === 0) {
      const normalized = testRows.map((r) => normalizeForModel(r.text));
      let n = 0;
      predictNs = nsPerOp(() => model.predictNormalized(normalized[n++ % normalized.length]!), { rounds: 5, roundMs: 50 });
    }
  }
  const precision = tp / (tp + fp), recall = tp / (tp + fn);
  const f1 = (2 * precision * recall) / (precision + recall);
  process.stdout.write(`${label.padEnd(26)} cv precision ${precision.toFixed(3)} recall ${recall.toFixed(3)} f1 ${f1.toFixed(3)} (tn ${tn})  predict ${(predictNs / 1000).toFixed(2)} µs\n`);
}
