import { CLIENT_EXIT_CODES, CLIENT_HELP, CLIENT_OPTION_NAMES, CLIENT_OPTIONS, clientFromOptions, encode, reportFailure, withServer } from './client.js';
import { ExitCode, jsonObjectOption, listOption, onlyOptions, positionalCount, stringOption, UsageError, type CliCommand } from './command.js';

interface AgentView {
  agentId: string;
  tenantId: string;
  agentType: string;
  capabilities: string[];
  lastSeen: number;
}

function table(agents: readonly AgentView[]): string {
  if (agents.length === 0) return 'no agents\n';
  const rows = agents.map((a) => [a.agentId, a.tenantId, a.agentType, a.capabilities.join(',') || '-', new Date(a.lastSeen).toISOString()]);
  const head = ['AGENT', 'TENANT', 'TYPE', 'CAPABILITIES', 'LAST SEEN'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

const SUBCOMMANDS = {
  list: [...CLIENT_OPTION_NAMES, 'tenant', 'capability', 'type'],
  register: [...CLIENT_OPTION_NAMES, 'tenant', 'capability', 'type', 'metadata'],
  unregister: CLIENT_OPTION_NAMES,
} as const;

export const agents: CliCommand = {
  name: 'agents',
  summary: 'List, register or unregister agents on a running server',
  usage: `agent-bus agents list [--tenant T] [--capability C] [--type T]
agent-bus agents register <agentId> --tenant T [--type T] [--capability C ...] [--metadata JSON]
agent-bus agents unregister <agentId>

list        the agents of the credential's tenant (an every-tenant admin may pick --tenant)
register    register (or update) an agent; with an agent credential only itself, otherwise admin
unregister  remove an agent; its undelivered messages are discarded (and counted by the server)

Options:
  --tenant T        tenant (register: required unless the credential names it)
  --capability C    capability (repeatable or comma-separated); list: filter by one capability
  --type T          agent type (register; default "default") or filter (list)
  --metadata JSON   register: a JSON object stored with the agent

${CLIENT_HELP}
  --json            print the server's answer as JSON

${CLIENT_EXIT_CODES}

Examples:
  agent-bus agents register planner --tenant acme --capability plan
  agent-bus agents list --json
  agent-bus agents unregister planner`,
  allowPositionals: true,
  options: {
    ...CLIENT_OPTIONS,
    tenant: { type: 'string' },
    capability: { type: 'string', multiple: true },
    type: { type: 'string' },
    metadata: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const [sub, ...rest] = positionals;
    if (sub === undefined) throw new UsageError('expected a subcommand: list, register or unregister');
    if (!(sub in SUBCOMMANDS)) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (expected list, register or unregister)`);
    onlyOptions(values, `agents ${sub}`, SUBCOMMANDS[sub as keyof typeof SUBCOMMANDS]);
    const json = values.json === true;
    const command = `agents ${sub}`;

    if (sub === 'list') {
      positionalCount(rest, 0, 'no arguments after "list"');
      const capabilities = listOption(values, 'capability');
      if (capabilities.length > 1) throw new UsageError('list filters by one --capability');
      const query = new URLSearchParams();
      const tenant = stringOption(values, 'tenant');
      const type = stringOption(values, 'type');
      if (tenant !== undefined) query.set('tenantId', tenant);
      if (capabilities[0] !== undefined) query.set('capability', capabilities[0]);
      if (type !== undefined) query.set('agentType', type);
      const client = clientFromOptions(values, io.env);
      return withServer(command, io, json, async () => {
        const answer = await client.request('GET', `/v1/agents${query.size > 0 ? `?${query}` : ''}`);
        if (answer.status >= 300) return reportFailure(command, answer, json, io);
        const list = (answer.body as { agents: AgentView[] }).agents;
        io.out(json ? JSON.stringify(answer.body) + '\n' : table(list));
        return ExitCode.OK;
      });
    }

    positionalCount(rest, 1, `one agent id: agent-bus ${command} <agentId>`);
    const agentId = rest[0]!;
    if (sub === 'register') {
      const body: Record<string, unknown> = { agentId };
      const tenant = stringOption(values, 'tenant');
      const type = stringOption(values, 'type');
      const capabilities = listOption(values, 'capability');
      const metadata = jsonObjectOption(values, 'metadata');
      if (tenant !== undefined) body.tenantId = tenant;
      if (type !== undefined) body.agentType = type;
      if (capabilities.length > 0) body.capabilities = capabilities;
      if (metadata !== undefined) body.metadata = metadata;
      const client = clientFromOptions(values, io.env);
      return withServer(command, io, json, async () => {
        const answer = await client.request('POST', '/v1/agents', body);
        if (answer.status >= 300) return reportFailure(command, answer, json, io);
        const agent = (answer.body as { agent: AgentView }).agent;
        io.out(json ? JSON.stringify(answer.body) + '\n' : `registered ${agent.agentId} in tenant ${agent.tenantId} (type ${agent.agentType}${agent.capabilities.length > 0 ? `, capabilities ${agent.capabilities.join(',')}` : ''})\n`);
        return ExitCode.OK;
      });
    }

    const client = clientFromOptions(values, io.env);
    return withServer(command, io, json, async () => {
      const answer = await client.request('DELETE', `/v1/agents/${encode(agentId)}`);
      if (answer.status >= 300) return reportFailure(command, answer, json, io);
      io.out(json ? JSON.stringify(answer.body) + '\n' : `unregistered ${agentId}\n`);
      return ExitCode.OK;
    });
  },
};
