/**
 * Deterministic generator of the labelled impact dataset (data/impact/messages.jsonl).
 *
 *   npx tsx scripts/impact-dataset/generate.ts [--seed N] [--out path]
 *
 * Held-out split: within every family a quarter of the phrasings (at least one) are held out
 * whole, and held-out rows draw slot values (names, vendors, systems, amounts) from pools that
 * training rows never use. Evaluation therefore measures unseen phrasings with unseen names.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAMILIES, type Domain, type ImpactLabel } from './templates.js';
import { SLOTS } from './slots.js';

export interface DatasetRow {
  id: string;
  text: string;
  label: ImpactLabel;
  domain: Domain;
  family: string;
  template: string;
  split: 'train' | 'heldout';
}

export const DEFAULT_SEED = 20_240_611;
const ROWS_PER_TEMPLATE = 7;
const HELD_OUT_FRACTION = 0.25;

// Neutral decorations, applied to both labels alike so they carry no signal.
const PREFIXES = ['', '', '', '', 'FYI: ', 'Hey, ', '[{ticket}] ', 'Per {firstName}: ', 'quick one - ', 'Update: ', 'ok so ', 'Re {ticket}: ', '@ops ', 'Following up on yesterday. '];
const SUFFIXES = ['', '', '', '', '.', ' thanks', ' - ref {ticket}', ' asap', ' before EOD', ' when you get a chance', '. Let me know if questions.', ' (requested by {person})', '!', ' cc {firstName}'];

/** mulberry32: small, fast, good enough for shuffling templates deterministically. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)]!;
}

function fill(template: string, heldOut: boolean, random: () => number): string {
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const pool = SLOTS[name];
    if (pool === undefined) throw new Error(`unknown slot {${name}} in "${template}"`);
    return pick(heldOut ? pool.heldOut : pool.train, random);
  });
}

function decorate(text: string, heldOut: boolean, random: () => number): string {
  let out = fill(pick(PREFIXES, random), heldOut, random) + text + fill(pick(SUFFIXES, random), heldOut, random);
  const casing = random();
  if (casing < 0.15) out = out.charAt(0).toUpperCase() + out.slice(1);
  else if (casing < 0.2) out = out.toLowerCase();
  return out;
}

export function generateDataset(seed: number = DEFAULT_SEED): DatasetRow[] {
  const random = seededRandom(seed);
  const rows: DatasetRow[] = [];
  const seen = new Set<string>();
  for (const family of FAMILIES) {
    const order = family.templates.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const heldOutCount = Math.max(1, Math.round(family.templates.length * HELD_OUT_FRACTION));
    const heldOutSet = new Set(order.slice(0, heldOutCount));
    family.templates.forEach((template, index) => {
      const heldOut = heldOutSet.has(index);
      for (let attempt = 0, made = 0; attempt < ROWS_PER_TEMPLATE * 4 && made < ROWS_PER_TEMPLATE; attempt++) {
        const text = decorate(fill(template, heldOut, random), heldOut, random);
        if (seen.has(text)) continue;
        seen.add(text);
        made++;
        rows.push({
          id: `${family.id}#${index}.${made}`,
          text,
          label: family.label,
          domain: family.domain,
          family: family.id,
          template: `${family.id}#${index}`,
          split: heldOut ? 'heldout' : 'train',
        });
      }
    });
  }
  return rows;
}

function main(): void {
  const args = process.argv.slice(2);
  const seedIndex = args.indexOf('--seed');
  const outIndex = args.indexOf('--out');
  const seed = seedIndex >= 0 ? Number(args[seedIndex + 1]) : DEFAULT_SEED;
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
  const out = outIndex >= 0 ? resolve(args[outIndex + 1]!) : resolve(root, 'data/impact/messages.jsonl');
  const rows = generateDataset(seed);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const count = (pred: (r: DatasetRow) => boolean) => rows.filter(pred).length;
  process.stdout.write(
    `wrote ${rows.length} rows to ${out}: high ${count((r) => r.label === 'high')}, low ${count((r) => r.label === 'low')}, ` +
      `held-out ${count((r) => r.split === 'heldout')} rows from ${new Set(rows.filter((r) => r.split === 'heldout').map((r) => r.template)).size} templates\n`,
  );
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
