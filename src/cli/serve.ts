import type { FlagSetting, TextSetting } from '../server/config.js';
import { ExitCode, UsageError, type CliCommand } from './command.js';

/** The flags that set a configuration key, and how their text is read (as the environment variables' is). */
const CONFIG_FLAGS = {
  host: { path: ['host'], kind: 'string' },
  port: { path: ['port'], kind: 'int' },
  'data-dir': { path: ['dataDir'], kind: 'string' },
  'log-level': { path: ['logLevel'], kind: 'string' },
  insecure: { path: ['insecure'], kind: 'bool' },
} as const satisfies Record<string, TextSetting>;

/** The configuration flags given, for loadServerConfig: a bad value is reported under the flag's name. */
function flagSettings(values: Record<string, unknown>): FlagSetting[] {
  return Object.entries(CONFIG_FLAGS).flatMap(([name, setting]) => {
    const value = values[name];
    return value === undefined ? [] : [{ ...setting, flag: `--${name}`, text: String(value) }];
  });
}

export const serve: CliCommand = {
  name: 'serve',
  summary: 'Run the bus server (HTTP + WebSocket API, dashboard, metrics)',
  usage: `agent-bus serve [--config file.json] [--host H] [--port N] [--data-dir D] [--log-level L] [--insecure] [--json]

Starts the bus with embedded defaults (in-memory registry, data in ./data/runtime) on 127.0.0.1:8080.
Configuration: defaults < --config file < AGENT_BUS_* environment variables < flags (docs/configuration.md).
Without authentication only loopback addresses are served; --insecure allows another address anyway.
SIGTERM / SIGINT stop it gracefully (exit 0).

Options:
  --config FILE     JSON configuration file
  --host HOST       address to listen on (default 127.0.0.1; AGENT_BUS_HOST); IPv6 as ::1 or [::1]
  --port N          port, 0 to 65535 (default 8080; 0 picks a free one; AGENT_BUS_PORT)
  --data-dir DIR    data directory (default ./data/runtime; AGENT_BUS_DATA_DIR)
  --log-level L     fatal|error|warn|info|debug|trace|silent (default info; AGENT_BUS_LOG_LEVEL)
  --insecure        allow a non-loopback address without authentication (AGENT_BUS_INSECURE)
  --json            print the startup line as JSON
  --help            this text

Exit codes: 0 stopped cleanly, 64 usage (an unknown option, or a flag value that is not valid:
--port abc, --port 99999), 69 cannot listen (address in use, host name that does not resolve) or the
data directory is in use by another server, 70 internal error, 78 configuration error (file or
environment), unusable data directory or refused bind.`,
  options: {
    config: { type: 'string' },
    ...Object.fromEntries(Object.entries(CONFIG_FLAGS).map(([name, setting]) => [name, { type: setting.kind === 'bool' ? 'boolean' : 'string' } as const])),
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    // Before the server and the bus are loaded: V8 settings for a long-running server process.
    const { tuneProcessForServer } = await import('../server/runtime-tuning.js');
    tuneProcessForServer();
    // Loaded here so that the client commands start without loading the server and the bus.
    const [{ ConfigError, describeProblem, loadServerConfig }, { StartupError, startServer }] = await Promise.all([import('../server/config.js'), import('../server/serve.js')]);
    let config;
    try {
      config = loadServerConfig({ file: typeof values.config === 'string' ? values.config : undefined, env: io.env, flags: flagSettings(values) });
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // Bad values given on the command line are usage errors, as an unparsable one is.
      if (error.problems.every((p) => p.origin === 'flag')) throw new UsageError(error.problems.map(describeProblem).join('; '));
      io.err(`agent-bus serve: ${error.message}\n`);
      return ExitCode.CONFIG;
    }
    try {
      await startServer({
        config,
        announce: (line, info) => io.out(values.json === true ? JSON.stringify({ event: 'listening', message: line, ...info }) + '\n' : line + '\n'),
      });
    } catch (error) {
      if (!(error instanceof StartupError)) throw error;
      io.err(`agent-bus serve: ${error.message}\n`);
      return error.kind === 'config' ? ExitCode.CONFIG : ExitCode.UNAVAILABLE;
    }
    // Runs until a signal; startServer's handler exits the process.
    return new Promise<number>(() => undefined);
  },
};
