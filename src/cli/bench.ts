import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode, intOption, UsageError, type CliCommand } from './command.js';

/** src/cli and dist/cli are both two levels below the package root. */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function benchmarksIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bench.ts'))
    .map((f) => f.slice(0, -'.bench.ts'.length))
    .sort();
}

function tsxAvailable(root: string): boolean {
  try {
    createRequire(path.join(root, 'package.json')).resolve('tsx');
    return true;
  } catch {
    return false;
  }
}

export const bench: CliCommand = {
  name: 'bench',
  summary: 'Run the benchmarks (as npm run bench) and print the medians',
  usage: `agent-bus bench [name ...] [--runs N] [--markdown] [--json]

Runs bench/<name>.bench.ts (all of them when no name is given) in separate processes, --runs times
each (default 3), and prints the median of every figure with its same-run baseline and ratio —
the same as \`npm run bench\`. Results are also written to .bench-results/latest.json. Needs a
source checkout with dev dependencies (bench/ and tsx); an installed package has neither.
The http benchmark needs wrk (Debian package wrk). A full run takes several minutes.

Options:
  --runs N      processes per benchmark (1-50, default 3)
  --markdown    also print a Markdown table
  --json        print .bench-results/latest.json instead of the table

Exit codes: 0 all benchmarks ran, 1 a benchmark failed, 64 usage error (e.g. unknown name),
69 no bench/ directory or no tsx here.

Examples:
  agent-bus bench bus --runs 1
  agent-bus bench http ws --json`,
  allowPositionals: true,
  options: {
    runs: { type: 'string' },
    markdown: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    const runs = intOption(values, 'runs', 1, 50);
    const benchDir = path.join(PACKAGE_ROOT, 'bench');
    const runner = path.join(benchDir, 'run.ts');
    if (!existsSync(runner)) {
      io.err(`agent-bus bench: no benchmarks here (${runner} is missing). Benchmarks ship with the source repository, not the installed package: clone it, run npm ci, then npm run bench.\n`);
      return ExitCode.UNAVAILABLE;
    }
    if (!tsxAvailable(PACKAGE_ROOT)) {
      io.err('agent-bus bench: the benchmarks run through tsx, a dev dependency that is not installed here: run npm ci (not npm ci --omit=dev) in the repository.\n');
      return ExitCode.UNAVAILABLE;
    }
    const available = benchmarksIn(benchDir);
    const unknown = positionals.map((n) => n.replace(/\.bench\.ts$/, '')).filter((n) => !available.includes(n));
    if (unknown.length > 0) throw new UsageError(`unknown benchmark ${unknown.map((n) => JSON.stringify(n)).join(', ')} (available: ${available.join(', ')})`);

    const args = ['--import', 'tsx', runner, ...positionals];
    if (runs !== undefined) args.push('--runs', String(runs));
    if (values.markdown === true) args.push('--markdown');
    const json = values.json === true;
    const child = spawn(process.execPath, args, { cwd: PACKAGE_ROOT, stdio: ['ignore', json ? 'ignore' : 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => io.out(d.toString()));
    child.stderr?.on('data', (d: Buffer) => io.err(d.toString()));
    const status = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code) => resolve(code));
    });
    if (json && status === 0) io.out(readFileSync(path.join(PACKAGE_ROOT, '.bench-results', 'latest.json'), 'utf8') + '\n');
    if (status !== 0) io.err(`agent-bus bench: a benchmark failed (runner exit ${status ?? 'signal'})\n`);
    return status === 0 ? ExitCode.OK : ExitCode.REFUSED;
  },
};
