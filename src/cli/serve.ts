import { ExitCode, UsageError, type CliCommand } from './command.js';

export const serve: CliCommand = {
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

Exit codes: 0 stopped cleanly, 64 usage, 69 cannot listen (address in use), 70 internal error,
78 configuration error or refused bind.`,
  options: {
    config: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    'log-level': { type: 'string' },
    insecure: { type: 'boolean' },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
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
    // Loaded here so that the client commands start without loading the server and the bus.
    const { BindRefusedError, ConfigError, loadServerConfig, startServer } = await import('../server/index.js');
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
