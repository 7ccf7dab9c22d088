import { CLIENT_EXIT_CODES, CLIENT_HELP, CLIENT_OPTION_NAMES, CLIENT_OPTIONS, clientFromOptions, encode, reportFailure, withServer } from './client.js';
import { ExitCode, intOption, listOption, onlyOptions, positionalCount, requiredString, stringOption, UsageError, type CliCommand } from './command.js';

const STATUSES = ['pending', 'under_review', 'escalated', 'approved', 'released', 'rejected', 'timed_out', 'cancelled'];

interface ItemView {
  id: string;
  tenantId: string;
  status: string;
  reason?: string;
  createdAt?: number;
  deadlineAt?: number;
  impact?: { score: number; factors: Record<string, number> };
  message?: { fromAgent?: string; toAgent?: string; messageType?: string; priority?: number; content?: unknown };
  messageDigest?: string;
  requirements?: { policyId?: string; minApprovers?: number; requiredRoles?: string[] };
  decisions?: Array<{ reviewerId: string; decision: string; reason: string; roles: string[] }>;
  outcome?: { result: string; reason: string; by?: string };
}

function listTable(items: readonly ItemView[]): string {
  if (items.length === 0) return 'no deliberation items\n';
  const rows = items.map((i) => [
    i.id,
    i.tenantId,
    i.status,
    i.impact === undefined ? '-' : i.impact.score.toFixed(2),
    i.requirements?.policyId ?? '-',
    `${i.message?.fromAgent ?? '?'} → ${i.message?.toAgent ?? '*'}`,
    String(i.decisions?.length ?? 0) + '/' + String(i.requirements?.minApprovers ?? '?'),
  ]);
  const head = ['ID', 'TENANT', 'STATUS', 'IMPACT', 'POLICY', 'MESSAGE', 'APPROVALS'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  return [head, ...rows].map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')).join('\n') + '\n';
}

function detail(i: ItemView): string {
  const lines = [
    `${i.id}  ${i.status}  tenant ${i.tenantId}`,
    `held because: ${i.reason ?? '-'}`,
    `message: ${i.message?.fromAgent ?? '?'} → ${i.message?.toAgent ?? '*'}  type ${i.message?.messageType ?? '?'}  priority ${i.message?.priority ?? '?'}`,
    `content: ${JSON.stringify(i.message?.content)}`,
    `digest: ${i.messageDigest ?? '-'}`,
  ];
  if (i.impact !== undefined) {
    lines.push(`impact: ${i.impact.score.toFixed(3)}  (${Object.entries(i.impact.factors).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  }
  if (i.requirements !== undefined) {
    lines.push(`policy: ${i.requirements.policyId ?? '?'} — ${i.requirements.minApprovers ?? '?'} approver(s), roles ${(i.requirements.requiredRoles ?? []).join(', ') || 'any'}`);
  }
  for (const d of i.decisions ?? []) lines.push(`  ${d.decision} by ${d.reviewerId}${d.roles.length > 0 ? ` [${d.roles.join(', ')}]` : ''}: ${d.reason}`);
  if (i.outcome !== undefined) lines.push(`outcome: ${i.outcome.result} (${i.outcome.reason}${i.outcome.by === undefined ? '' : `, by ${i.outcome.by}`})`);
  return lines.join('\n') + '\n';
}

const DECISION_OPTIONS = [...CLIENT_OPTION_NAMES, 'reason', 'reviewer', 'roles', 'digest'];
const SUBCOMMANDS: Readonly<Record<string, readonly string[]>> = {
  list: [...CLIENT_OPTION_NAMES, 'status', 'limit', 'tenant', 'cursor'],
  show: CLIENT_OPTION_NAMES,
  approve: DECISION_OPTIONS,
  reject: DECISION_OPTIONS,
};

export const deliberations: CliCommand = {
  name: 'deliberations',
  summary: 'List held messages and approve or reject them (reviewer)',
  usage: `agent-bus deliberations list [--status S] [--limit N] [--tenant T] [--cursor C]
agent-bus deliberations show <id>
agent-bus deliberations approve <id> --reason TEXT [--reviewer NAME] [--roles r1,r2] [--digest SHA256]
agent-bus deliberations reject <id> --reason TEXT [--reviewer NAME] [--roles r1,r2] [--digest SHA256]

list      held messages of the credential's tenant (default: every status, oldest first as the server lists)
show      one item: why it was held, impact score and factors, policy, message content, decisions
approve   add an approval; the message is released when the policy's requirements are met
reject    reject it; the message is never delivered

Options:
  --status S        list: ${STATUSES.join(', ')}
  --limit N         list: at most N items (1-500, default 50)
  --tenant T        list: tenant (an every-tenant admin only)
  --cursor C        list: continue after a previous page (its nextCursor)
  --reason TEXT     approve/reject: required; recorded with the decision
  --reviewer NAME   dev mode only: who decides (with authentication it is the credential's subject)
  --roles r1,r2     approve/reject, dev mode only: approver roles, e.g. security_team; an item whose policy
                    requires roles needs one of them to approve or to reject (with authentication: from the credential)
  --digest SHA256   bind the decision to this message digest (refused if the held message differs)

${CLIENT_HELP}
  --json            print the server's answer as JSON

${CLIENT_EXIT_CODES}
A decision the service refuses (SELF_APPROVAL, ROLE_REQUIRED, DUPLICATE_DECISION, a closed item...) exits 1.

Examples:
  agent-bus deliberations list --status pending
  agent-bus deliberations approve 6b1e… --reason "checked with the on-call engineer" --reviewer rita --roles security_team
  agent-bus deliberations reject 6b1e… --reason "deploy freeze this week"
  agent-bus deliberations reject 6b1e… --reason "not this week" --reviewer sam --roles security_team`,
  allowPositionals: true,
  options: {
    ...CLIENT_OPTIONS,
    status: { type: 'string' },
    limit: { type: 'string' },
    tenant: { type: 'string' },
    cursor: { type: 'string' },
    reason: { type: 'string' },
    reviewer: { type: 'string' },
    roles: { type: 'string', multiple: true },
    digest: { type: 'string' },
  },
  async run({ values, positionals }, io) {
    const [sub, ...rest] = positionals;
    if (sub === undefined) throw new UsageError('expected a subcommand: list, show, approve or reject');
    const allowed = SUBCOMMANDS[sub];
    if (allowed === undefined) throw new UsageError(`unknown subcommand ${JSON.stringify(sub)} (expected list, show, approve or reject)`);
    onlyOptions(values, `deliberations ${sub}`, allowed);
    const json = values.json === true;
    const command = `deliberations ${sub}`;

    if (sub === 'list') {
      positionalCount(rest, 0, 'no arguments after "list"');
      const query = new URLSearchParams();
      const status = stringOption(values, 'status');
      if (status !== undefined && !STATUSES.includes(status)) throw new UsageError(`--status: expected one of ${STATUSES.join(', ')}`);
      const limit = intOption(values, 'limit', 1, 500);
      const tenant = stringOption(values, 'tenant');
      const cursor = stringOption(values, 'cursor');
      if (status !== undefined) query.set('status', status);
      if (limit !== undefined) query.set('limit', String(limit));
      if (tenant !== undefined) query.set('tenantId', tenant);
      if (cursor !== undefined) query.set('cursor', cursor);
      const client = clientFromOptions(values, io.env);
      return withServer(command, io, json, async () => {
        const answer = await client.request('GET', `/v1/deliberations${query.size > 0 ? `?${query}` : ''}`);
        if (answer.status >= 300) return reportFailure(command, answer, json, io);
        const page = answer.body as { items: ItemView[]; nextCursor?: string };
        io.out(json ? JSON.stringify(page) + '\n' : listTable(page.items) + (page.nextCursor === undefined ? '' : `more: --cursor ${page.nextCursor}\n`));
        return ExitCode.OK;
      });
    }

    positionalCount(rest, 1, `one deliberation id: agent-bus ${command} <id>`);
    const id = rest[0]!;
    if (sub === 'show') {
      const client = clientFromOptions(values, io.env);
      return withServer(command, io, json, async () => {
        const answer = await client.request('GET', `/v1/deliberations/${encode(id)}`);
        if (answer.status >= 300) return reportFailure(command, answer, json, io);
        io.out(json ? JSON.stringify(answer.body) + '\n' : detail((answer.body as { item: ItemView }).item));
        return ExitCode.OK;
      });
    }

    const body: Record<string, unknown> = { reason: requiredString(values, 'reason', 'why you decide so; it is recorded with the decision') };
    const reviewer = stringOption(values, 'reviewer');
    const roles = listOption(values, 'roles');
    const digest = stringOption(values, 'digest');
    if (reviewer !== undefined) body.reviewerId = reviewer;
    if (roles.length > 0) body.roles = roles;
    if (digest !== undefined) body.messageDigest = digest;
    const client = clientFromOptions(values, io.env);
    return withServer(command, io, json, async () => {
      const answer = await client.request('POST', `/v1/deliberations/${encode(id)}/${sub}`, body);
      if (answer.status >= 300) return reportFailure(command, answer, json, io);
      const item = (answer.body as { item: ItemView }).item;
      const outcome = item.outcome === undefined ? `${item.decisions?.length ?? 0} of ${item.requirements?.minApprovers ?? '?'} approval(s) so far` : `outcome ${item.outcome.result}`;
      io.out(json ? JSON.stringify(answer.body) + '\n' : `${sub === 'approve' ? 'approved' : 'rejected'} ${item.id}: status ${item.status}, ${outcome}\n`);
      return ExitCode.OK;
    });
  },
};
