#!/usr/bin/env node
/**
 * The `agent-bus` command. Each command is one entry in COMMANDS: a summary, its usage text and
 * a run function returning the exit code. To add a command, write `src/cli/<name>.ts` exporting a
 * CliCommand and list it in COMMANDS.
 *
 * Exit codes shared by every command: 0 success, 64 usage error, 69 a service is unavailable,
 * 70 internal error, 78 configuration error. A command may define more (documented in its help).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { BindRefusedError, ConfigError, loadServerConfig, startServer } from '../server/index.js';

export const ExitCode = {
  OK: 0,
  USAGE: 64,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  CONFIG: 78,
} as const;

export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Options for node:util parseArgs (--help and --json are added to every command). */
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  run(args: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] }, io: CliIO): Promise<number>;
}

class UsageError extends Error {}

const serve: CliCommand = {
  name: 'serve',
  summary: 'Run the bus server (HTTP + WebSocket API, dashboard, metrics)',
  usage: `agent-bus serve [--config file.json] [--host H] [--port N] [--data-dir D] [--insecure] [--json]

Starts the bus with embedded defaults (in-memory registry, data in ./data/runtime) on 127.0.0.1:8080.
Configuration: defaults < --config file < AGENT_BUS_* environment variables < flags (docs/configuration.md).
Without authentication only loopback addresses are served; --insecure allows another address anyway.
SIGTERM / SIGINT stop it gracefully (exit 0).

Options:
  --config FILE     JSON configuration file
  --host HOST       address to listen on (default 127.0.0.1; AGENT_BUS_HOST)
  --port N          port (default 8080; 0 picks a free one; AGENT_BUS_PORT)
  --data-dir DIR    data directory (default ./data/runtime; AGENT_BUS_DATA_DIR)
  --log-level L     fatal|error|warn|info|debug|trace|silent
  --insecure        allow a non-loopback address without authentication
  --json            print the startup line as JSON
  --help            this text

Exit codes: 0 stopped cleanly, 64 usage, 69 cannot listen (address in use), 78 configuration error or refused bind.`,
  options: {
    config: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    'log-level': { type: 'string' },
    insecure: { type: 'boolean' },
  },
  async run({ values }, io) {
    const overrides: Record<string, unknown> = {};
    if (typeof values.host === 'string') overrides.host = values.host;
    if (typeof values.port === 'string') {
      const port = Number(values.port);
      if (!Number.isInteger(port)) throw new UsageError(`--port: expected an integer, got ${JSON.stringify(values.port)}`);
      overrides.port = port;
    }
    if (typeof values['data-dir'] === 'string') overrides.dataDir = values['data-dir'];
    if (typeof values['log-level'] === 'string') overrides.logLevel = values['log-level'];
    if (values.insecure === true) overrides.insecure = true;
    let config;
    try {
      config = loadServerConfig({ file: typeof values.config === 'string' ? values.config : undefined, env: io.env, overrides });
    } catch (error) {
      if (error instanceof ConfigError) {
        io.err(`agent-bus serve: ${error.message}\n`);
        return ExitCode.CONFIG;
      }
      throw error;
    }
    try {
      await startServer({
        config,
        announce: (line, info) => io.out(values.json === true ? JSON.stringify({ event: 'listening', message: line, ...info }) + '\n' : line + '\n'),
      });
    } catch (error) {
      if (error instanceof BindRefusedError) {
        io.err(`agent-bus serve: ${error.message}\n`);
        return ExitCode.CONFIG;
      }
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
        io.err(`agent-bus serve: cannot listen on ${config.host}:${config.port} (${code})\n`);
        return ExitCode.UNAVAILABLE;
      }
      throw error;
    }
    // Runs until a signal; startServer's handler exits the process.
    return new Promise<number>(() => undefined);
  },
};

export const COMMANDS: readonly CliCommand[] = [serve];

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `agent-bus — a governed message bus for multi-agent AI systems

Usage: agent-bus <command> [options]     agent-bus <command> --help

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

Exit codes: 0 success, 64 usage error, 69 service unavailable, 70 internal error, 78 configuration error.
`;
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(globalHelp());
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
    io.err(`agent-bus ${command.name}: ${(error as Error).message}\n\n${command.usage}\n`);
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
      io.err(`agent-bus ${command.name}: ${error.message}\n`);
      return ExitCode.USAGE;
    }
    io.err(`agent-bus ${command.name}: ${(error as Error).stack ?? String(error)}\n`);
    return ExitCode.SOFTWARE;
  }
}

const code = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
});
process.exitCode = code;
