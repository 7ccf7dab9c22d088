/**
 * Trains small fastText models with fasttext.wasm for the tests of the TypeScript reader and
 * inference (other hyperparameters than the shipped model's, other losses, more labels).
 */
import { FastText } from 'fasttext.wasm';
import type { TrainingCore } from '../../scripts/train-impact.js';

export interface TrainOptions {
  lines: readonly string[];
  dim?: number;
  epoch?: number;
  minn?: number;
  maxn?: number;
  wordNgrams?: number;
  bucket?: number;
  loss?: 'softmax' | 'hs' | 'ns' | 'ova';
}

/** The bytes of a supervised model trained on `lines` ("__label__x text" per line). */
export async function trainModel(options: TrainOptions): Promise<Uint8Array> {
  const fastText = await FastText.create();
  const core = fastText.core as unknown as TrainingCore;
  fastText.fs.writeFile('/train.txt', options.lines.join('\n') + '\n');
  const args = new core.Args();
  args.input = '/train.txt';
  args.output = '/model';
  args.epoch = options.epoch ?? 5;
  args.lr = 0.5;
  args.dim = options.dim ?? 4;
  args.wordNgrams = options.wordNgrams ?? 2;
  args.minn = options.minn ?? 3;
  args.maxn = options.maxn ?? 4;
  args.bucket = options.bucket ?? 5_000;
  args.minCount = 1;
  args.seed = 3;
  args.thread = 1;
  args.verbose = 0;
  args.loss = core.LossName[options.loss ?? 'softmax'];
  args.model = core.ModelName.supervised;
  const model = new core.FastText();
  model.train(args, () => undefined);
  model.saveModel('/model.bin');
  return fastText.fs.readFile('/model.bin');
}

/** Short labelled lines with non-ASCII words, one-character words and repeated phrases. */
export function smallCorpus(): string[] {
  const high = ['wire the money now', 'drop the prod table', 'überweisung sofort ausführen', '立即 转账 给 供应商', 'grant admin 🔑 access', 'delete all users é à'];
  const low = ['thanks that fixed it', 'weekly sync at ten', 'bericht ist fertig', '会议 改到 明天', 'nice work 👍 team', 'a b c d é'];
  const lines: string[] = [];
  for (let i = 0; i < 6; i++) {
    for (const t of high) lines.push(`__label__high ${t} ${i}`);
    for (const t of low) lines.push(`__label__low ${t} ${i}`);
  }
  return lines;
}
