import { CLIENT_EXIT_CODES, CLIENT_HELP, CLIENT_OPTION_NAMES, CLIENT_OPTIONS, clientFromOptions, encode, reportFailure, withServer } from './client.js';
import { ExitCode, listOption, onlyOptions, positionalCount, stringOption, UsageError, type CliCommand } from './command.js';

const KINDS = ['latency', 'error', 'breaker_open', 'handler_hang', 'outage'] as const;
const STRATEGIES = ['exponential_backoff', 'linear_backoff', 'immediate', 'manual'] as const;

const SUBCOMMANDS = {
  status: CLIENT_OPTION_NAMES,
  inject: [...CLIENT_OPTION_NAMES, 'duration-ms', 'delay-ms', 'error-rate', 'blast-radius', 'name'],
  end: CLIENT_OPTION_NAMES,
  stop: CLIENT_OPTION_NAMES,
  reset: CLIENT_OPTION_NAMES,
  health: CLIENT_OPTION_NAMES,
  recoveries: CLIENT_OPTION_NAMES,
  recover: [...CLIENT_OPTION_NAMES, 'strategy'],
  approve: CLIENT_OPTION_NAMES,
  'reset-breaker': CLIENT_OPTION_NAMES,
} as const;
type Sub = keyof typeof SUBCOMMANDS;

function numberOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`--${name}: expected a number in [${min}, ${max}], got ${JSON.stringify(value)}`);
  return n;
}

/** `agent-bus chaos`: fault injection and resilience operations on a running server (admin credential). */
export const chaos: CliCommand = {
  name: 'chaos',
  summary: 'Chaos scenarios, breakers, health and recoveries on a running server (admin)',
  usage: `agent-bus chaos status
agent-bus chaos inject <kind> <target> --duration-ms N [--delay-ms N] [--error-rate R] [--blast-radius T ...] [--name N]
agent-bus chaos end <scenario-name>
agent-bus chaos stop
agent-bus chaos reset
agent-bus chaos health
agent-bus chaos recoveries
agent-bus chaos recover <breaker> [--strategy S]
agent-bus chaos approve <breaker>
agent-bus chaos reset-breaker <breaker>

status         the chaos engine: enabled, emergency stop, active scenarios, counters
inject         start a scenario; kinds: ${KINDS.join(', ')}
               targets: policy, journal, redis-cache, deliberation-store, impact-model, notify:<channel>,
               handler:<agentId> (handler_hang), a breaker name (breaker_open), an outage target
end            end one scenario (its name is printed by inject; default <kind>:<target>)
stop           emergency stop: end every scenario and refuse new ones until "reset"
reset          lift the emergency stop
health         health score and status, breakers, shedding, recoveries and the snapshot history
recoveries     recoveries in progress, including manual ones awaiting an operator
recover        schedule a recovery (strategies: ${STRATEGIES.join(', ')})
approve        run one attempt of a waiting (manual) recovery now
reset-breaker  close a breaker now

The server refuses chaos unless its bus was built with chaos: { enabled: true } (and, under
NODE_ENV=production, allowInProduction). Scenarios last at most 300 s and end on their own.

Options:
  --duration-ms N     how long the scenario lasts (capped at 300000)
  --delay-ms N        latency: added delay per call
  --error-rate R      error: probability in [0, 1] (default 1)
  --blast-radius T    targets the scenario may touch (repeatable; default the target)
  --name N            scenario name
  --strategy S        recover: the strategy (default exponential_backoff)

${CLIENT_HELP}
  --json            print the server's answer as JSON

${CLIENT_EXIT_CODES}

Examples:
  agent-bus chaos inject error policy --duration-ms 10000 --error-rate 0.5
  agent-bus chaos inject handler_hang handler:worker --duration-ms 30000
  agent-bus chaos stop`,
  allowPositionals: true,
  options: {
    ...CLIENT_OPTIONS,
    'duration-ms': { type: 'string' },
    'delay-ms': { type: 'string' },
    'error-rate': { type: 'string' },
    'blast-radius': { type: 'string', multiple: true },
    name: { type: 'string' },
    strategy: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const [sub, ...rest] = positionals;
    if (sub === undefined) throw new UsageError(`expected a subcommand: ${Object.keys(SUBCOMMANDS).join(', ')}`);
    if (!(sub in SUBCOMMANDS)) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (expected ${Object.keys(SUBCOMMANDS).join(', ')})`);
    onlyOptions(values, `chaos ${sub}`, SUBCOMMANDS[sub as Sub]);
    const json = values.json === true;
    const command = `chaos ${sub}`;

    let method = 'GET';
    let path: string;
    let body: unknown;
    switch (sub as Sub) {
      case 'status':
      case 'health':
      case 'recoveries':
        positionalCount(rest, 0, `no arguments after "${sub}"`);
        path = sub === 'status' ? '/v1/chaos' : sub === 'health' ? '/v1/resilience/health' : '/v1/resilience/recoveries';
        break;
      case 'inject': {
        positionalCount(rest, 2, 'inject <kind> <target>');
        const [kind, target] = rest as [string, string];
        if (!(KINDS as readonly string[]).includes(kind)) throw new UsageError(`kind must be one of ${KINDS.join(', ')}`);
        const durationMs = numberOption(stringOption(values, 'duration-ms'), 'duration-ms', 1, Number.MAX_SAFE_INTEGER);
        if (durationMs === undefined) throw new UsageError('inject needs --duration-ms');
        const blast = listOption(values, 'blast-radius');
        method = 'POST';
        path = '/v1/chaos/scenarios';
        body = {
          kind,
          target,
          durationMs,
          delayMs: numberOption(stringOption(values, 'delay-ms'), 'delay-ms', 0, 60_000),
          errorRate: numberOption(stringOption(values, 'error-rate'), 'error-rate', 0, 1),
          blastRadius: blast.length === 0 ? undefined : blast,
          name: stringOption(values, 'name'),
        };
        break;
      }
      case 'end':
        positionalCount(rest, 1, 'end <scenario-name>');
        method = 'DELETE';
        path = `/v1/chaos/scenarios/${encode(rest[0]!)}`;
        break;
      case 'stop':
      case 'reset':
        positionalCount(rest, 0, `no arguments after "${sub}"`);
        method = 'POST';
        path = sub === 'stop' ? '/v1/chaos/emergency-stop' : '/v1/chaos/reset';
        break;
      case 'recover': {
        positionalCount(rest, 1, 'recover <breaker>');
        const strategy = stringOption(values, 'strategy');
        if (strategy !== undefined && !(STRATEGIES as readonly string[]).includes(strategy)) throw new UsageError(`--strategy must be one of ${STRATEGIES.join(', ')}`);
        method = 'POST';
        path = `/v1/resilience/recoveries/${encode(rest[0]!)}`;
        body = strategy === undefined ? {} : { strategy };
        break;
      }
      case 'approve':
        positionalCount(rest, 1, 'approve <breaker>');
        method = 'POST';
        path = `/v1/resilience/recoveries/${encode(rest[0]!)}/approve`;
        break;
      case 'reset-breaker':
        positionalCount(rest, 1, 'reset-breaker <breaker>');
        method = 'POST';
        path = `/v1/resilience/breakers/${encode(rest[0]!)}/reset`;
        break;
    }
    const client = clientFromOptions(values, io.env);
    return withServer(command, io, json, async () => {
      const answer = await client.request(method, path, body);
      if (answer.status >= 300) return reportFailure(command, answer, json, io);
      io.out(json ? JSON.stringify(answer.body) + '\n' : JSON.stringify(answer.body, null, 2) + '\n');
      return ExitCode.OK;
    });
  },
};
