/**
 * Runs every bench/*.bench.ts (or the ones named on the command line) in its own process, each
 * `--runs N` times (default 3), and prints the median of each figure across runs with the
 * spread. Results are written to .bench-results/<timestamp>.json and .bench-results/latest.json;
 * `npm run bench -- --markdown` also prints a Markdown table for docs/BENCHMARKS.md.
 *
 *   npm run bench                      all benchmarks, 3 processes each
 *   npm run bench -- bus --runs 5      only bench/bus.bench.ts, 5 processes
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, type BenchResult } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = process.argv.slice(2);
let runs = 3;
let markdown = false;
const only: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i]!;
  if (a === '--runs') runs = Number(args[++i]);
  else if (a === '--markdown') markdown = true;
  else only.push(a.replace(/\.bench\.ts$/, ''));
}
if (!Number.isInteger(runs) || runs < 1) throw new Error('--runs takes a positive integer');

const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .map((f) => f.replace(/\.bench\.ts$/, ''))
  .filter((name) => only.length === 0 || only.includes(name))
  .sort();
if (files.length === 0) throw new Error(`no benchmark matches ${only.join(', ')}`);

interface Collected {
  bench: string;
  runs: Array<{ results: BenchResult[]; machine: Record<string, unknown> }>;
}

const collected: Collected[] = [];
for (const name of files) {
  const entry: Collected = { bench: name, runs: [] };
  for (let r = 0; r < runs; r++) {
    process.stderr.write(`bench ${name}: run ${r + 1}/${runs}\n`);
    const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(here, `${name}.bench.ts`)], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 15 * 60_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (child.status !== 0) {
      process.stderr.write(`bench ${name} failed (exit ${child.status ?? child.signal})\n`);
      process.exitCode = 1;
      continue;
    }
    const line = child.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    if (line === undefined) {
      process.stderr.write(`bench ${name} printed no JSON result\n`);
      process.exitCode = 1;
      continue;
    }
    const parsed = JSON.parse(line) as { results: BenchResult[]; machine: Record<string, unknown> };
    entry.runs.push(parsed);
  }
  collected.push(entry);
}

interface Summary extends BenchResult {
  bench: string;
  runs: number[];
}

const summaries: Summary[] = [];
for (const entry of collected) {
  const names = entry.runs[0]?.results.map((r) => r.name) ?? [];
  for (const name of names) {
    const found = entry.runs.map((run) => run.results.find((r) => r.name === name)).filter((r): r is BenchResult => r !== undefined);
    const values = found.map((r) => r.value);
    const first = found[0]!;
    const summary: Summary = { bench: entry.bench, name, unit: first.unit, value: median(values), runs: values };
    const baselines = found.map((r) => r.baseline?.value).filter((v): v is number => v !== undefined);
    if (first.baseline !== undefined && baselines.length > 0) summary.baseline = { name: first.baseline.name, value: median(baselines) };
    const ratios = found.map((r) => r.ratio).filter((v): v is number => v !== undefined);
    if (ratios.length > 0) summary.ratio = median(ratios);
    if (first.target !== undefined) summary.target = first.target;
    if (first.note !== undefined) summary.note = first.note;
    summaries.push(summary);
  }
}

const outDir = path.join(root, '.bench-results');
mkdirSync(outDir, { recursive: true });
const report = { date: new Date().toISOString(), runsPerBench: runs, machine: collected[0]?.runs[0]?.machine, summaries };
writeFileSync(path.join(outDir, `${report.date.replace(/[:.]/g, '-')}.json`), JSON.stringify(report, null, 2));
writeFileSync(path.join(outDir, 'latest.json'), JSON.stringify(report, null, 2));

const fmt = (v: number) => (Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 1000) / 1000));
for (const s of summaries) {
  const base = s.baseline === undefined ? '' : `  | baseline ${s.baseline.name}: ${fmt(s.baseline.value)}  ratio ${s.ratio}`;
  const target = s.target === undefined ? '' : `  | target ${s.target}`;
  process.stdout.write(`${s.bench.padEnd(13)} ${s.name.padEnd(58)} ${fmt(s.value).padStart(12)} ${s.unit}${base}${target}   runs: ${s.runs.map(fmt).join(' / ')}\n`);
}
if (markdown) {
  process.stdout.write('\n| Bench | Figure | Median | Runs | Baseline (same run) | Ratio | Target |\n|---|---|---|---|---|---|---|\n');
  for (const s of summaries) {
    process.stdout.write(
      `| ${s.bench} | ${s.name} | ${fmt(s.value)} ${s.unit} | ${s.runs.map(fmt).join(' / ')} | ${s.baseline === undefined ? '—' : `${s.baseline.name}: ${fmt(s.baseline.value)}`} | ${s.ratio ?? '—'} | ${s.target ?? '—'} |\n`,
    );
  }
}
