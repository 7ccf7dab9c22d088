import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AgentBus } from '../../src/bus.js';
import { ConfigError, loadServerConfig, SessionManager, TokenBucket, isLoopback } from '../../src/server/index.js';
import type { PushSink, Retained } from '../../src/server/sessions.js';
import { HASH, KEYS, apiKey, authConfig, config, harness, message } from './helpers.js';

describe('OpenAPI document', () => {
  it('is valid JSON listing every route with its method, parameters, body and responses', async () => {
    const h = await harness();
    try {
      const res = await h.app.inject({ method: 'GET', url: '/openapi.json' });
      assert.equal(res.statusCode, 200);
      const doc = JSON.parse(res.body) as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown; parameters?: Array<{ name: string; in: string }> }>> };
      assert.equal(doc.openapi, '3.1.0');
      assert.doesNotMatch(res.body, /x-validated-by-bus|x-invalid-field-code/, "the server's own schema markers stay out of the document");
      const expected: Array<[string, string]> = [
        ['/v1/agents', 'post'],
        ['/v1/agents', 'get'],
        ['/v1/agents/{agentId}', 'get'],
        ['/v1/agents/{agentId}', 'delete'],
        ['/v1/agents/{agentId}/heartbeat', 'post'],
        ['/v1/agents/{agentId}/messages', 'get'],
        ['/v1/agents/{agentId}/acks', 'post'],
        ['/v1/messages', 'post'],
        ['/v1/messages/broadcast', 'post'],
        ['/v1/messages/request', 'post'],
        ['/v1/deliberations', 'get'],
        ['/v1/deliberations/{id}', 'get'],
        ['/v1/deliberations/{id}/approve', 'post'],
        ['/v1/deliberations/{id}/reject', 'post'],
        ['/v1/deliberations/{id}/vote', 'post'],
        ['/v1/journal/verify', 'get'],
        ['/v1/journal/tail', 'get'],
        ['/v1/journal/stats', 'get'],
        ['/v1/config', 'get'],
        ['/v1/ws', 'get'],
        ['/healthz', 'get'],
        ['/readyz', 'get'],
        ['/metrics', 'get'],
        ['/openapi.json', 'get'],
        ['/', 'get'],
      ];
      for (const [path, method] of expected) assert.ok(doc.paths[path]?.[method], `${method.toUpperCase()} ${path} is documented`);
      const send = doc.paths['/v1/messages']!.post!;
      assert.ok(send.requestBody);
      assert.ok(send.responses['200'] && send.responses['403'] && send.responses['429'] && send.responses.default);
      const bodySchema = (send.requestBody as { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } }).content['application/json'].schema;
      assert.ok(bodySchema.properties.constitutionalHash, 'the message schema is published');
      assert.ok(doc.paths['/v1/agents/{agentId}/messages']!.get!.parameters!.some((p) => p.name === 'waitMs' && p.in === 'query'));
      assert.doesNotMatch(res.body, /x-validated-by-bus/);
    } finally {
      await h.close();
    }
  });
});

/** Parses the Prometheus text format strictly enough to catch malformed lines. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?(?:\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN|\+Inf|-Inf))$/;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = sample.exec(line);
    assert.ok(m, `malformed exposition line: ${line}`);
    samples.set(m[1]! + (m[2] ?? ''), Number(m[3]));
  }
  return samples;
}

describe('/metrics', () => {
  it('exposes bus and server counters in the Prometheus text format, filled at scrape time', async () => {
    const h = await harness();
    try {
      for (let i = 0; i < 3; i++) await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message() });
      await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message({ constitutionalHash: 'nope' }) });
      await h.app.inject({ method: 'GET', url: '/v1/agents/bob/messages?max=2' });
      const res = await h.app.inject({ method: 'GET', url: '/metrics' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /text\/plain/);
      const s = parseExposition(res.body);
      assert.equal(s.get('agent_bus_messages_total{outcome="sent"}'), 4);
      assert.equal(s.get('agent_bus_messages_total{outcome="delivered"}'), 3);
      assert.equal(s.get('agent_bus_refusals_total{code="CONSTITUTIONAL_HASH_MISMATCH"}'), 1);
      assert.equal(s.get('agent_bus_tenant_messages_total{tenant="acme",outcome="delivered"}'), 3);
      assert.equal(s.get('agent_bus_server_deliveries_total{event="pulled"}'), 2);
      assert.equal(s.get('agent_bus_agents'), 3);
      assert.equal(s.get('agent_bus_up'), 1);
      // A second scrape sees new traffic (no stale snapshot).
      await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message() });
      assert.equal(parseExposition((await h.app.inject({ method: 'GET', url: '/metrics' })).body).get('agent_bus_messages_total{outcome="sent"}'), 5);
    } finally {
      await h.close();
    }
  });

  it('counts HTTP responses by route pattern and status, with their summed response time', async () => {
    const h = await harness();
    try {
      for (let i = 0; i < 3; i++) await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message() });
      await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message({ constitutionalHash: 'nope' }) });
      await h.app.inject({ method: 'POST', url: '/v1/messages', payload: '{"broken', headers: { 'content-type': 'application/json' } });
      await h.app.inject({ method: 'GET', url: '/v1/agents/bob' });
      await h.app.inject({ method: 'GET', url: '/v1/agents/nobody-here' });
      await h.app.inject({ method: 'GET', url: '/no/such/route' });
      await h.app.inject({ method: 'GET', url: '/no/other/route' });
      // fastify serves every method's 404 from one context: the method label still follows the request.
      await h.app.inject({ method: 'POST', url: '/no/such/route', payload: {} });
      const s = parseExposition((await h.app.inject({ method: 'GET', url: '/metrics' })).body);
      const count = (method: string, route: string, status: number) => s.get(`agent_bus_http_responses_total{method="${method}",route="${route}",status="${status}"}`);
      assert.equal(count('POST', '/v1/messages', 200), 3);
      assert.equal(count('POST', '/v1/messages', 403), 1);
      assert.equal(count('POST', '/v1/messages', 400), 1);
      assert.equal(count('GET', '/v1/agents/:agentId', 200), 1, 'the pattern, not the path: labels stay bounded');
      assert.equal(count('GET', '/v1/agents/:agentId', 404), 1);
      assert.equal(count('GET', 'unmatched', 404), 2);
      assert.equal(count('POST', 'unmatched', 404), 1);
      const seconds = s.get('agent_bus_http_response_seconds_total{method="POST",route="/v1/messages",status="200"}');
      assert.ok(seconds !== undefined && seconds > 0 && seconds < 10, `summed seconds: ${seconds}`);
      assert.ok(![...s.keys()].some((k) => k.includes('/no/such/route')));
    } finally {
      await h.close();
    }
  });
});

describe('quotas', () => {
  it('token bucket: burst, then refill at the rate', () => {
    const b = new TokenBucket(10, 3, 0);
    assert.deepEqual([b.take(0), b.take(0), b.take(0)], [0, 0, 0]);
    assert.equal(b.take(0), 100);
    assert.equal(b.take(100), 0);
    assert.ok(b.take(100) > 0);
  });

  it('property: a bucket never grants more than burst + rate × elapsed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 50 }), fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 200 }), (rate, burst, gaps) => {
        const b = new TokenBucket(rate, burst, 0);
        let now = 0;
        let granted = 0;
        for (const gap of gaps) {
          now += gap;
          if (b.take(now) === 0) granted++;
        }
        assert.ok(granted <= burst + (rate * now) / 1000 + 1e-9);
      }),
    );
  });

  it('refuses over the agent rate with 429 RATE_LIMITED and Retry-After', async () => {
    const h = await harness(authConfig({ quotas: { ...config().quotas, agent: { ratePerSec: 1, burst: 2 } } }));
    try {
      const codes: number[] = [];
      let limited;
      for (let i = 0; i < 3; i++) {
        const res = await h.app.inject({ method: 'POST', url: '/v1/messages', headers: apiKey(KEYS.alice), payload: message() });
        codes.push(res.statusCode);
        if (res.statusCode === 429) limited = res;
      }
      assert.deepEqual(codes, [200, 200, 429]);
      assert.equal(limited!.json().error.code, 'RATE_LIMITED');
      assert.ok(Number(limited!.headers['retry-after']) >= 1);
      // Another agent of the same tenant has its own bucket.
      assert.equal((await h.app.inject({ method: 'POST', url: '/v1/messages', headers: apiKey(KEYS.bob), payload: message({ fromAgent: 'bob', toAgent: 'alice' }) })).statusCode, 200);
    } finally {
      await h.close();
    }
  });

  it('refuses over the tenant rate, across the tenant\'s agents', async () => {
    const h = await harness(config({ quotas: { ...config().quotas, tenant: { ratePerSec: 0.5, burst: 2 } } }));
    try {
      const a = await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message() });
      const b = await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message({ fromAgent: 'bob', toAgent: 'alice' }) });
      const c = await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message() });
      assert.deepEqual([a.statusCode, b.statusCode, c.statusCode], [200, 200, 429]);
      assert.equal(c.headers['retry-after'], '2');
      const other = await h.app.inject({ method: 'POST', url: '/v1/messages', payload: { fromAgent: 'mallory', toAgent: 'mallory', tenantId: 'evil', constitutionalHash: HASH, content: {} } });
      assert.notEqual(other.statusCode, 429, 'another tenant is not affected');
    } finally {
      await h.close();
    }
  });

  it('caps requests in flight per agent (429 while a request waits for its reply)', async () => {
    const h = await harness(config({ quotas: { ...config().quotas, maxInFlightPerAgent: 1 } }));
    try {
      const first = h.app.inject({ method: 'POST', url: '/v1/messages/request?timeoutMs=300', payload: message({ messageType: 'query' }) });
      await new Promise((r) => setTimeout(r, 50));
      const second = await h.app.inject({ method: 'POST', url: '/v1/messages/request?timeoutMs=300', payload: message({ messageType: 'query' }) });
      assert.equal(second.statusCode, 429);
      assert.equal((await first).statusCode, 504);
    } finally {
      await h.close();
    }
  });
});

describe('fair push across tenants', () => {
  it('a tenant with a deep backlog does not delay another tenant\'s messages to the end', async () => {
    const bus = new AgentBus();
    await bus.start();
    await bus.registerAgent({ agentId: 'big-sender', tenantId: 'big' });
    await bus.registerAgent({ agentId: 'big-rx', tenantId: 'big' });
    await bus.registerAgent({ agentId: 'small-sender', tenantId: 'small' });
    await bus.registerAgent({ agentId: 'small-rx', tenantId: 'small' });
    const sessions = new SessionManager(bus, config().delivery, 0);
    const order: string[] = [];
    const sink = (tag: string): PushSink => ({ deliver: (entries: readonly Retained[]) => entries.forEach(() => order.push(tag)) });
    sessions.open('big-rx', 'big');
    sessions.open('small-rx', 'small');
    for (let i = 0; i < 5000; i++) await bus.send({ fromAgent: 'big-sender', toAgent: 'big-rx', tenantId: 'big', constitutionalHash: HASH, content: { i } });
    for (let i = 0; i < 10; i++) await bus.send({ fromAgent: 'small-sender', toAgent: 'small-rx', tenantId: 'small', constitutionalHash: HASH, content: { i } });
    sessions.get('big-rx')!.attach(sink('big'));
    sessions.get('small-rx')!.attach(sink('small'));
    while (order.length < 1010) await new Promise((r) => setImmediate(r));
    const lastSmall = order.lastIndexOf('small');
    assert.ok(lastSmall >= 0 && lastSmall < 200, `small tenant served within the first turns (last at ${lastSmall})`);
    sessions.closeAll();
    await bus.stop();
  });
});

describe('configuration', () => {
  it('merges defaults, file, environment and overrides; errors name the key and the expectation', () => {
    const cfg = loadServerConfig({ env: { AGENT_BUS_PORT: '9090', AGENT_BUS_HOST: '0.0.0.0', AGENT_BUS_INSECURE: 'yes' }, overrides: { logLevel: 'warn' } });
    assert.equal(cfg.port, 9090);
    assert.equal(cfg.host, '0.0.0.0');
    assert.equal(cfg.insecure, true);
    assert.equal(cfg.logLevel, 'warn');
    assert.equal(cfg.delivery.ackTimeoutMs, 30_000);

    const bad = (input: Parameters<typeof loadServerConfig>[0], pattern: RegExp) =>
      assert.throws(
        () => loadServerConfig(input),
        (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
      );
    bad({ env: { AGENT_BUS_PORT: 'eighty' } }, /AGENT_BUS_PORT: expected an integer/);
    bad({ overrides: { port: 70_000 } }, /"port" must be <= 65535/);
    bad({ overrides: { quotas: { agent: { ratePerSec: -1, burst: 1 } } } }, /"quotas\.agent\.ratePerSec" must be >= 0/);
    bad({ overrides: { delivery: { ackTimeout: 5 } } }, /unknown key "delivery\.ackTimeout"/);
    bad({ overrides: { auth: { apiKeys: [{ tenantId: 'acme' }] } } }, /needs exactly one of "sha256" or "key"/);
    bad({ overrides: { auth: { apiKeys: [], jwt: { secret: 'short' } } } }, /"auth\.jwt\.secret" must NOT have fewer than 32 characters/);
    bad({ overrides: { logLevel: 'loud' } }, /"logLevel" must be one of the allowed values/);
    bad({ file: '/nonexistent/agent-bus.json' }, /cannot be read/);
  });

  it('tells loopback addresses from others', () => {
    for (const h of ['127.0.0.1', 'localhost', '::1', '[::1]', '127.1.2.3']) assert.equal(isLoopback(h), true, h);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com']) assert.equal(isLoopback(h), false, h);
  });
});
