/** GET /v1/events (the dashboard's Server-Sent Events) and GET /v1/whoami over a real socket. */
import assert from 'node:assert/strict';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { AgentBus } from '../../src/bus.js';
import { DeliberationService, MemoryDeliberationStore } from '../../src/deliberation/index.js';
import { hold, PROCEED } from '../../src/governance/verdict.js';
import { CONSTITUTIONAL_HASH, Priority } from '../../src/message/constants.js';
import { buildServer, loadServerConfig, type AgentBusServer } from '../../src/server/index.js';

const KEYS = {
  acmeReviewer: 'acme-reviewer-key-0123456789',
  evilReviewer: 'evil-reviewer-key-0123456789',
  alice: 'alice-agent-key-0123456789ab',
  root: 'root-admin-key-0123456789abc',
} as const;

interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

interface Opened {
  status: number;
  headers: IncomingHttpHeaders;
  /** The whole body of a refusal (JSON), once read. */
  json(): Promise<Record<string, unknown>>;
  events: SseEvent[];
  done: Promise<void>;
  next(test: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

/**
 * Opens the stream on its own socket (node:http, no agent: fetch's pool may keep a spare
 * connection open that would hold up the server's close) and collects parsed events until closed.
 */
function open(url: string, key: string | undefined): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url + '/v1/events', { agent: false, headers: key === undefined ? {} : { authorization: `Bearer ${key}` } }, (res) => {
      res.setEncoding('utf8');
      const events: SseEvent[] = [];
      const waiters: Array<{ test: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }> = [];
      let buffer = '';
      let raw = '';
      const done = new Promise<void>((end) => {
        res.on('close', () => end());
        res.on('error', () => end());
      });
      res.on('data', (chunk: string) => {
        raw += chunk;
        if (res.statusCode !== 200) return;
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as Record<string, unknown>;
          const e = { event, data };
          events.push(e);
          for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.test(e)) waiters.splice(i, 1)[0]!.resolve(e);
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        json: async () => {
          await done;
          return JSON.parse(raw) as Record<string, unknown>;
        },
        events,
        done,
        next(test, timeoutMs = 5000) {
          const found = events.find(test);
          if (found !== undefined) return Promise.resolve(found);
          return new Promise((ok, fail) => {
            const timer = setTimeout(() => fail(new Error('no such event in time')), timeoutMs);
            waiters.push({ test, resolve: (e) => (clearTimeout(timer), ok(e)) });
          });
        },
        close: () => request.destroy(),
      });
    });
    request.on('error', reject);
  });
}

describe('GET /v1/events and /v1/whoami', () => {
  let app: AgentBusServer;
  let bus: AgentBus;
  let deliberation: DeliberationService;
  let url: string;

  before(async () => {
    deliberation = await DeliberationService.open({ store: new MemoryDeliberationStore(), policies: [{ id: 'one', requiredRoles: [], minApprovers: 1 }] });
    bus = new AgentBus({
      deliberation,
      policy: false,
      impact: false,
      stages: [{ name: 'hold-flagged', evaluate: (m) => (m.content.hold === true ? hold('flagged', { approvalPolicy: 'one' }) : PROCEED) }],
    });
    await bus.start();
    for (const [agentId, tenantId] of [['alice', 'acme'], ['bob', 'acme'], ['mallory', 'evil'], ['eve', 'evil']]) await bus.registerAgent({ agentId: agentId!, tenantId: tenantId! });
    const config = loadServerConfig({
      overrides: {
        logLevel: 'silent',
        auth: {
          apiKeys: [
            { key: KEYS.acmeReviewer, name: 'rita', tenantId: 'acme', roles: ['reviewer'], approverRoles: ['security_team'] },
            { key: KEYS.evilReviewer, name: 'vic', tenantId: 'evil', roles: ['reviewer'] },
            { key: KEYS.alice, agentId: 'alice', tenantId: 'acme', roles: ['agent'] },
            { key: KEYS.root, name: 'root', tenantId: '*', roles: ['admin'] },
          ],
        },
      },
    });
    app = await buildServer({ config, bus, deliberation, logger: pino({ level: 'silent' }) });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });

  after(async () => {
    await app?.close();
    await bus?.stop();
    app?.busContext.sessions.closeAll();
    await deliberation?.close();
  });

  it('whoami describes the credential; no credential is 401', async () => {
    const me = (await (await fetch(url + '/v1/whoami', { headers: { 'x-api-key': KEYS.acmeReviewer } })).json()) as Record<string, unknown>;
    assert.deepEqual(me, { mode: 'authenticated', kind: 'api-key', subject: 'rita', agentId: null, tenantId: 'acme', roles: ['reviewer'], approverRoles: ['security_team'] });
    assert.equal((await fetch(url + '/v1/whoami')).status, 401);
  });

  it('refuses agents (403) and anonymous callers (401)', async () => {
    const agent = await open(url, KEYS.alice);
    assert.equal(agent.status, 403);
    assert.equal(((await agent.json()).error as { code: string }).code, 'FORBIDDEN');
    const anonymous = await open(url, undefined);
    assert.equal(anonymous.status, 401);
    await anonymous.done;
  });

  it("streams hello, metrics every interval and the caller's tenant's deliberation changes only", async () => {
    const acme = await open(url, KEYS.acmeReviewer);
    const evil = await open(url, KEYS.evilReviewer);
    try {
      assert.equal(acme.status, 200);
      assert.match(acme.headers['content-type'] ?? '', /^text\/event-stream/);
      const hello = await acme.next((e) => e.event === 'hello');
      assert.equal(hello.data.subject, 'rita');
      assert.equal(hello.data.intervalMs, 1000);

      // CRITICAL: never shed when the loaded test machine makes the bus shed load (impact scoring is off here).
      const base = { constitutionalHash: CONSTITUTIONAL_HASH, priority: Priority.CRITICAL };
      const first = await bus.send({ ...base, fromAgent: 'alice', toAgent: 'bob', tenantId: 'acme', content: { n: 1 } });
      assert.equal(first.ok, true, JSON.stringify(first));
      await bus.send({ ...base, fromAgent: 'mallory', toAgent: 'eve', tenantId: 'evil', content: { n: 2 } });
      const held = await bus.send({ ...base, fromAgent: 'alice', toAgent: 'bob', tenantId: 'acme', content: { hold: true } });
      assert.equal(held.status, 'held');

      const heldEvent = await acme.next((e) => e.event === 'deliberation' && e.data.type === 'held');
      assert.equal(heldEvent.data.itemId, held.deliberationId);
      assert.equal(heldEvent.data.tenantId, 'acme');
      const decision = await fetch(`${url}/v1/deliberations/${held.deliberationId}/approve`, {
        method: 'POST',
        headers: { 'x-api-key': KEYS.acmeReviewer, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'fine' }),
      });
      assert.equal(decision.status, 200);
      await acme.next((e) => e.event === 'deliberation' && e.data.type === 'approved');

      const metrics = await acme.next((e) => e.event === 'metrics' && (e.data.bus as { sent: number }).sent >= 3, 3000);
      assert.deepEqual(Object.keys(metrics.data.tenants as object), ['acme']);
      assert.equal(metrics.data.journal, undefined, 'journal details are for admins');
      assert.equal((metrics.data.health as { ready: boolean }).ready, true);
      const evilMetrics = await evil.next((e) => e.event === 'metrics' && (e.data.bus as { sent: number }).sent >= 3, 3000);
      assert.deepEqual(Object.keys(evilMetrics.data.tenants as object), ['evil']);
      assert.equal(evil.events.filter((e) => e.event === 'deliberation').length, 0, 'no events of another tenant');
    } finally {
      acme.close();
      evil.close();
    }
  });

  it('bounds concurrent streams (429 beyond 32) and ends every stream on shutdown', async () => {
    const streams = await Promise.all(Array.from({ length: 32 }, () => open(url, KEYS.root)));
    try {
      assert.ok(streams.every((s) => s.status === 200));
      const extra = await open(url, KEYS.root);
      assert.equal(extra.status, 429);
      assert.equal(extra.headers['retry-after'], '5');
      assert.equal(((await extra.json()).error as { code: string }).code, 'RATE_LIMITED');
      const all = await streams[0]!.next((e) => e.event === 'metrics' && (e.data.streams as { open: number }).open === 32);
      assert.equal((all.data.streams as { refused: number }).refused, 1);
      const closing = Date.now();
      await app.close();
      await Promise.all(streams.map((s) => s.done));
      assert.ok(Date.now() - closing < 5000, `shutdown waited ${Date.now() - closing} ms for the streams`);
      for (const s of streams) assert.equal(s.events.at(-1)?.event, 'shutdown');
    } finally {
      for (const s of streams) s.close();
    }
  });
});
