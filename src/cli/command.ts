import type { ParseArgsConfig } from 'node:util';

/**
 * Exit codes shared by every command (sysexits.h numbering for the non-zero ones):
 * 0 success, 1 refused (the server or the journal said no), 64 usage error, 69 a service is
 * unavailable (server unreachable or answering 503), 70 internal error, 78 configuration error.
 */
export const ExitCode = {
  OK: 0,
  REFUSED: 1,
  USAGE: 64,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CONFIG: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Options for node:util parseArgs (--help and --json are added to every command). */
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  run(args: { values: OptionValues; positionals: string[] }, io: CliIO): Promise<number>;
}

/** Thrown by a command for bad usage; main() prints it and exits 64. */
export class UsageError extends Error {}

export function stringOption(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new UsageError(`--${name} expects a value`);
  return v;
}

export function requiredString(values: OptionValues, name: string, what: string): string {
  const v = stringOption(values, name);
  if (v === undefined || v === '') throw new UsageError(`--${name} is required (${what})`);
  return v;
}

/** A repeatable option; each value may also hold a comma-separated list. */
export function listOption(values: OptionValues, name: string): string[] {
  const v = values[name];
  if (v === undefined) return [];
  const raw = Array.isArray(v) ? v : [v];
  return raw.flatMap((x) => String(x).split(',')).map((s) => s.trim()).filter((s) => s !== '');
}

export function intOption(values: OptionValues, name: string, min: number, max: number): number | undefined {
  const v = stringOption(values, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return n;
}

export function jsonObjectOption(values: OptionValues, name: string): Record<string, unknown> | undefined {
  const v = stringOption(values, name);
  if (v === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(v);
  } catch (error) {
    throw new UsageError(`--${name}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--${name}: expected a JSON object`);
  return parsed as Record<string, unknown>;
}

/** Refuses options that belong to another subcommand (parseArgs knows only the union). */
export function onlyOptions(values: OptionValues, subcommand: string, allowed: readonly string[]): void {
  const ok = new Set([...allowed, 'help', 'json']);
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && !ok.has(name)) throw new UsageError(`--${name} does not apply to "${subcommand}"`);
  }
}

export function positionalCount(positionals: readonly string[], expected: number, usage: string): void {
  if (positionals.length !== expected) throw new UsageError(`expected ${usage}`);
}
