/**
 * The agent-bus CLI as a child process against a server started here (API keys, a file journal and
 * a file-backed deliberation service in a temporary directory; a message whose content says
 * `highImpact: true` is held and needs one approval).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { AgentBus } from '../../src/bus.js';
import { hold, PROCEED } from '../../src/governance/verdict.js';
import { buildServer, loadServerConfig, type AgentBusServer } from '../../src/server/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = path.join(root, 'src', 'cli', 'main.ts');

const KEYS = {
  admin: 'admin-key-0123456789abcdef00',
  planner: 'planner-key-0123456789abcdef',
  worker: 'worker-key-0123456789abcdef0',
  reviewer: 'reviewer-key-0123456789abcd',
} as const;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: root, env: { ...process.env, AGENT_BUS_URL: '', AGENT_BUS_TOKEN: '', AGENT_BUS_API_KEY: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** A port nothing listens on (bound once, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('agent-bus CLI: help and usage (no server)', () => {
  it('prints --help for every command with exit 0, and the command list', async () => {
    const names = ['serve', 'send', 'agents', 'deliberations', 'audit', 'bench'];
    const runs = await Promise.all([cli(['--help']), ...names.map((n) => cli([n, '--help']))]);
    assert.equal(runs[0]!.code, 0);
    for (const n of names) assert.match(runs[0]!.stdout, new RegExp(`\\n  ${n} `));
    names.forEach((n, i) => {
      const r = runs[i + 1]!;
      assert.equal(r.code, 0, `${n} --help`);
      assert.match(r.stdout, new RegExp(`^agent-bus ${n} `), `${n} --help starts with its usage`);
      assert.match(r.stdout, /Exit codes/);
      assert.equal(r.stderr, '');
    });
  });

  it('refuses bad usage with exit 64 and says what is wrong (a sample; test/cli/usage.test.ts has the rest in-process)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /Usage: agent-bus <command>/],
      [['teleport'], /unknown command "teleport"/],
      [['send', '--bogus'], /Unknown option '--bogus'/],
      [['send', '--from', 'a', '--to', 'b', '--content', '{nope'], /--content: not valid JSON/],
      [['agents', 'frob'], /unknown subcommand "frob"/],
      [['deliberations', 'reject', 'abc'], /--reason is required/],
      [['audit', 'verify'], /one journal directory/],
      [['bench', 'nosuch'], /unknown benchmark "nosuch" \(available: .*bus/],
      [['serve', '--port', 'abc'], /--port: expected an integer/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(args)));
    cases.forEach(([args, pattern], i) => {
      const r = runs[i]!;
      assert.equal(r.code, 64, `${args.join(' ')} → ${r.code}: ${r.stderr}`);
      assert.match(r.stderr, pattern, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    });
  });

  it('exits 69 when the server cannot be reached (human and --json output)', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const [human, json] = await Promise.all([
      cli(['agents', 'list', '--url', url]),
      cli(['send', '--from', 'a', '--to', 'b', '--content', '{}', '--json'], { AGENT_BUS_URL: url }),
    ]);
    assert.equal(human.code, 69);
    assert.match(human.stderr, /cannot reach the server at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    assert.equal(json.code, 69);
    assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'UNREACHABLE');
  });
});

describe('agent-bus CLI against a running server', () => {
  let dataDir: string;
  let app: AgentBusServer;
  let bus: AgentBus;
  let url: string;

  before(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'agent-bus-cli-'));
    bus = new AgentBus({
      dataDir,
      policy: false,
      impact: false,
      deliberation: { policies: [{ id: 'one', requiredRoles: ['security_team'], minApprovers: 1 }] },
      stages: [
        { name: 'hold-high-impact', evaluate: (m) => (m.content.highImpact === true ? hold('high impact', { approvalPolicy: 'one' }) : PROCEED) },
        {
          name: 'tag',
          evaluate: (_m, ctx) => {
            ctx.annotations.tag = 'cli-test';
            return PROCEED;
          },
        },
      ],
    });
    await bus.start();
    const config = loadServerConfig({
      overrides: {
        logLevel: 'silent',
        dataDir,
        auth: {
          apiKeys: [
            { key: KEYS.admin, name: 'ops', tenantId: 'acme', roles: ['admin'] },
            { key: KEYS.planner, agentId: 'planner', tenantId: 'acme', roles: ['agent'] },
            { key: KEYS.worker, agentId: 'worker', tenantId: 'acme', roles: ['agent'] },
            { key: KEYS.reviewer, name: 'rita', tenantId: 'acme', roles: ['reviewer'], approverRoles: ['security_team'] },
          ],
        },
      },
    });
    app = await buildServer({ config, bus, deliberation: bus.deliberation, logger: pino({ level: 'silent' }) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  after(async () => {
    await app?.close();
    await bus?.stop();
    app?.busContext.sessions.closeAll();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const as = (key: keyof typeof KEYS) => ['--url', url, '--api-key', KEYS[key]];
  const pull = async (agentId: string, key: string) => {
    const res = await fetch(`${url}/v1/agents/${agentId}/messages?max=50&waitMs=300`, { headers: { 'x-api-key': key } });
    const body = (await res.json()) as { deliveries: Array<{ deliveryId: number; message: { messageId: string } }> };
    if (body.deliveries.length > 0) {
      await fetch(`${url}/v1/agents/${agentId}/acks`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify({ deliveryIds: body.deliveries.map((d) => d.deliveryId) }) });
    }
    return body.deliveries.map((d) => d.message.messageId);
  };

  it('registers, lists and unregisters agents (admin key); refusals exit 1', async () => {
    const [planner, worker, temp] = await Promise.all([
      cli(['agents', 'register', 'planner', '--tenant', 'acme', '--capability', 'plan', ...as('admin')]),
      cli(['agents', 'register', 'worker', '--tenant', 'acme', '--capability', 'summarise,search', '--type', 'llm', ...as('admin')]),
      cli(['agents', 'register', 'temp', '--tenant', 'acme', '--metadata', '{"team":"x"}', '--json', ...as('admin')]),
    ]);
    assert.equal(planner.code, 0, planner.stderr);
    assert.match(planner.stdout, /^registered planner in tenant acme \(type default, capabilities plan\)/);
    assert.equal(worker.code, 0, worker.stderr);
    assert.equal(temp.code, 0, temp.stderr);
    assert.deepEqual((JSON.parse(temp.stdout) as { agent: { metadata: unknown } }).agent.metadata, { team: 'x' });

    const list = await cli(['agents', 'list', '--json', ...as('admin')]);
    assert.equal(list.code, 0);
    const agents = (JSON.parse(list.stdout) as { agents: Array<{ agentId: string; capabilities: string[] }> }).agents;
    assert.deepEqual(agents.map((a) => a.agentId).sort(), ['planner', 'temp', 'worker']);
    assert.deepEqual(agents.find((a) => a.agentId === 'worker')!.capabilities, ['summarise', 'search']);
    const table = await cli(['agents', 'list', '--capability', 'summarise', ...as('admin')]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /^AGENT +TENANT +TYPE +CAPABILITIES +LAST SEEN\nworker +acme +llm +summarise,search /);

    const [removed, again, anonymous, otherTenant] = await Promise.all([
      cli(['agents', 'unregister', 'temp', ...as('admin')]),
      cli(['agents', 'unregister', 'nobody', ...as('admin')]),
      cli(['agents', 'list', '--url', url]),
      cli(['agents', 'list', '--tenant', 'evil', ...as('admin')]),
    ]);
    assert.equal(removed.code, 0);
    assert.match(removed.stdout, /unregistered temp/);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /refused \(404 UNKNOWN_AGENT\)/);
    assert.equal(anonymous.code, 1);
    assert.match(anonymous.stderr, /refused \(401 UNAUTHENTICATED\)/);
    assert.equal(otherTenant.code, 1);
    assert.match(otherTenant.stderr, /403 FORBIDDEN/);
  });

  it('sends messages: delivered, refused (exit 1 with the code), held for deliberation', async () => {
    assert.deepEqual(await pull('worker', KEYS.worker), []);
    // CRITICAL messages are never shed when the loaded test machine makes the bus shed load (impact scoring is off here).
    // An empty AGENT_BUS_CONSTITUTIONAL_HASH counts as unset: the default hash is sent.
    const sent = await cli(['send', '--to', 'worker', '--content', '{"task":"summarise"}', '--priority', 'critical', ...as('planner')], { AGENT_BUS_CONSTITUTIONAL_HASH: '' });
    assert.equal(sent.code, 0, sent.stderr);
    const [, messageId] = /^delivered (\S+) → worker \(lane \w+\)\n$/.exec(sent.stdout) ?? [];
    assert.ok(messageId, sent.stdout);
    assert.deepEqual(await pull('worker', KEYS.worker), [messageId]);

    const [unknown, forged, json] = await Promise.all([
      cli(['send', '--to', 'nobody', '--content', '{}', ...as('planner')]),
      cli(['send', '--from', 'worker', '--to', 'planner', '--content', '{}', ...as('planner')]),
      cli(['send', '--to', 'worker', '--content', '{"n":1}', '--type', 'event', '--capability', 'summarise', '--priority', 'CRITICAL', '--json', '--token', KEYS.planner, '--url', url]),
    ]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /refused \(404 UNKNOWN_RECIPIENT\)/);
    assert.equal(forged.code, 1);
    assert.match(forged.stderr, /403 IDENTITY_MISMATCH/);
    assert.equal(json.code, 0, json.stderr);
    const answer = JSON.parse(json.stdout) as { ok: boolean; status: string; messageId: string; details?: unknown };
    assert.equal(answer.status, 'delivered');
    assert.equal(answer.details, undefined, 'a delivered answer is compact unless --details');
    assert.deepEqual(await pull('worker', KEYS.worker), [answer.messageId]);

    const detailed = await cli(['send', '--to', 'worker', '--content', '{"n":2}', '--priority', 'CRITICAL', '--details', '--json', ...as('planner')]);
    assert.equal(detailed.code, 0, detailed.stderr);
    const withDetails = JSON.parse(detailed.stdout) as { messageId: string; details?: { tag?: string } };
    assert.equal(withDetails.details?.tag, 'cli-test');
    assert.deepEqual(await pull('worker', KEYS.worker), [withDetails.messageId]);

    const broadcast = await cli(['send', '--broadcast', '--capability', 'summarise', '--content', '{"ping":1}', '--priority', 'critical', ...as('planner')]);
    assert.equal(broadcast.code, 0, broadcast.stderr);
    assert.match(broadcast.stdout, /→ worker/);
    assert.equal((await pull('worker', KEYS.worker)).length, 1);
  });

  it('lists, shows, approves and rejects held messages (reviewer credential); approval delivers once, rejection never', async () => {
    const [first, second] = await Promise.all([
      cli(['send', '--to', 'worker', '--content', '{"highImpact":true,"action":"deploy"}', '--priority', 'critical', '--json', ...as('planner')]),
      cli(['send', '--to', 'worker', '--content', '{"highImpact":true,"action":"drop table"}', '--priority', 'critical', '--json', ...as('planner')]),
    ]);
    const approveMe = JSON.parse(first.stdout) as { status: string; messageId: string; deliberationId: string };
    const rejectMe = JSON.parse(second.stdout) as { status: string; messageId: string; deliberationId: string };
    assert.equal(approveMe.status, 'held');
    assert.equal(rejectMe.status, 'held');
    const human = await cli(['send', '--to', 'worker', '--content', '{"highImpact":true}', '--priority', 'critical', ...as('planner')]);
    assert.match(human.stdout, /^held \S+ for deliberation \S+ \(high impact\)\n$/);
    const third = /for deliberation (\S+)/.exec(human.stdout)![1]!;

    const list = await cli(['deliberations', 'list', '--status', 'pending', '--json', '--token', KEYS.reviewer, '--url', url]);
    assert.equal(list.code, 0, list.stderr);
    const ids = (JSON.parse(list.stdout) as { items: Array<{ id: string }> }).items.map((i) => i.id);
    for (const id of [approveMe.deliberationId, rejectMe.deliberationId, third]) assert.ok(ids.includes(id));
    const table = await cli(['deliberations', 'list', ...as('reviewer')]);
    assert.match(table.stdout, /^ID +TENANT +STATUS +IMPACT +POLICY +MESSAGE +APPROVALS\n/);
    assert.match(table.stdout, new RegExp(`${approveMe.deliberationId} +acme +pending +- +one +planner → worker +0/1`));

    const show = await cli(['deliberations', 'show', approveMe.deliberationId, ...as('reviewer')]);
    assert.equal(show.code, 0);
    assert.match(show.stdout, /held because: high impact/);
    assert.match(show.stdout, /content: \{"highImpact":true,"action":"deploy"\}/);
    assert.match(show.stdout, /policy: one — 1 approver\(s\), roles security_team/);

    // An agent credential is not a reviewer.
    const notReviewer = await cli(['deliberations', 'approve', approveMe.deliberationId, '--reason', 'mine', ...as('planner')]);
    assert.equal(notReviewer.code, 1);
    assert.match(notReviewer.stderr, /403 FORBIDDEN/);
    const badDigest = await cli(['deliberations', 'approve', approveMe.deliberationId, '--reason', 'ok', '--digest', '0'.repeat(64), ...as('reviewer')]);
    assert.equal(badDigest.code, 1);
    assert.match(badDigest.stderr, /DIGEST_MISMATCH/);

    assert.deepEqual(await pull('worker', KEYS.worker), []);
    const approve = await cli(['deliberations', 'approve', approveMe.deliberationId, '--reason', 'change reviewed', ...as('reviewer')]);
    assert.equal(approve.code, 0, approve.stderr);
    assert.match(approve.stdout, new RegExp(`^approved ${approveMe.deliberationId}: status \\w+, outcome approved`));
    const reject = await cli(['deliberations', 'reject', rejectMe.deliberationId, '--reason', 'not during the freeze', '--json', ...as('reviewer')]);
    assert.equal(reject.code, 0, reject.stderr);
    assert.equal((JSON.parse(reject.stdout) as { item: { status: string } }).item.status, 'rejected');
    const late = await cli(['deliberations', 'approve', rejectMe.deliberationId, '--reason', 'too late', ...as('reviewer')]);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /refused \(409 /);

    const delivered = [...(await pull('worker', KEYS.worker)), ...(await pull('worker', KEYS.worker))];
    assert.deepEqual(delivered, [approveMe.messageId]);
    const shown = await cli(['deliberations', 'show', approveMe.deliberationId, '--json', ...as('reviewer')]);
    const item = (JSON.parse(shown.stdout) as { item: { status: string; decisions: Array<{ reviewerId: string; roles: string[]; reason: string }> } }).item;
    assert.equal(item.status, 'released');
    assert.deepEqual(item.decisions.map((d) => [d.reviewerId, d.roles, d.reason]), [['rita', ['security_team'], 'change reviewed']]);
  });

  it('audit verify: intact (0), tampered copy (1), unreadable (2)', async () => {
    await (bus.journal as unknown as { flush(): Promise<void> }).flush();
    const journalDir = path.join(dataDir, 'journal');
    const copy = mkdtempSync(path.join(os.tmpdir(), 'agent-bus-cli-tampered-'));
    try {
      cpSync(journalDir, copy, { recursive: true });
      const file = readdirSync(copy).find((f) => f.endsWith('.jsonl'))!;
      const lines = readFileSync(path.join(copy, file), 'utf8').split('\n');
      const index = lines.findIndex((l) => l.includes('"deploy"') || l.includes('message.held') || l.includes('deliberation.'));
      assert.ok(index >= 0, 'the journal holds deliberation records');
      lines[index] = lines[index]!.replace('acme', 'acmf');
      writeFileSync(path.join(copy, file), lines.join('\n'));

      const [intact, json, tampered, missing] = await Promise.all([
        cli(['audit', 'verify', journalDir]),
        cli(['audit', 'verify', journalDir, '--json']),
        cli(['audit', 'verify', copy]),
        cli(['audit', 'verify', path.join(copy, 'nope')]),
      ]);
      assert.equal(intact.code, 0, intact.stdout + intact.stderr);
      assert.match(intact.stdout, /^INTACT /);
      assert.equal(json.code, 0);
      assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, true);
      assert.equal(tampered.code, 1, tampered.stdout);
      assert.match(tampered.stdout, /^TAMPERED /);
      assert.equal(missing.code, 2);
      assert.match(missing.stdout, /UNREADABLE/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
