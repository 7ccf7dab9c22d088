#!/usr/bin/env node
/**
 * The `agent-bus` command. Each command is one entry in COMMANDS: a summary, its usage text and
 * a run function returning the exit code. To add a command, write `src/cli/<name>.ts` exporting a
 * CliCommand and list it in COMMANDS.
 *
 * Exit codes shared by every command: 0 success, 1 refused (by the server, or a tampered journal),
 * 64 usage error, 69 a service is unavailable, 70 internal error, 78 configuration error.
 * A command may define more (documented in its help).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { agents } from './agents.js';
import { audit } from './audit-command.js';
import { bench } from './bench.js';
import { chaos } from './chaos.js';
import { ExitCode, UsageError, type CliCommand, type CliIO } from './command.js';
import { deliberations } from './deliberations.js';
import { send } from './send.js';
import { serve } from './serve.js';

export { ExitCode, type CliCommand, type CliIO } from './command.js';

export const COMMANDS: readonly CliCommand[] = [serve, send, agents, deliberations, audit, bench, chaos];

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `agent-bus — a governed message bus for multi-agent AI systems

Usage: agent-bus <command> [options]     agent-bus <command> --help

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Client commands (send, agents, deliberations) talk to a running server: --url (default
$AGENT_BUS_URL or http://127.0.0.1:8080), --api-key or --token for the credential. Every command
takes --json for machine-readable output.

Exit codes: 0 success, 1 refused (by the server, or a tampered journal), 64 usage error,
69 service unavailable (server unreachable), 70 internal error, 78 configuration error.
`;
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    if (name === undefined) io.err(globalHelp());
    else io.out(globalHelp());
    return name === undefined ? ExitCode.USAGE : ExitCode.OK;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (command === undefined) {
    io.err(`agent-bus: unknown command ${JSON.stringify(name)}\n\n${globalHelp()}`);
    return ExitCode.USAGE;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: { ...command.options, help: { type: 'boolean', short: 'h' }, json: { type: 'boolean' } },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
  } catch (error) {
    io.err(`agent-bus ${command.name}: ${(error as Error).message}\n\nUsage:\n${command.usage}\n`);
    return ExitCode.USAGE;
  }
  if (parsed.values.help === true) {
    io.out(command.usage + '\n');
    return ExitCode.OK;
  }
  try {
    return await command.run(parsed as never, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`agent-bus ${command.name}: ${error.message}\n(agent-bus ${command.name} --help for usage)\n`);
      return ExitCode.USAGE;
    }
    io.err(`agent-bus ${command.name}: internal error: ${(error as Error).stack ?? String(error)}\n`);
    return ExitCode.SOFTWARE;
  }
}

/** True when this file is the program (also through the npm bin symlink), not an import. */
function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  process.exitCode = await main(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
  });
}
