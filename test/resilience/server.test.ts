import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { AgentBus, type AgentBusOptions } from '../../src/index.js';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import { buildServer, loadServerConfig, type AgentBusServer } from '../../src/server/index.js';

const ADMIN = 'admin-key-0123456789abcdef';
const AGENT = 'alice-key-0123456789abcdef';

async function server(t: TestContext, options: AgentBusOptions): Promise<{ app: AgentBusServer; bus: AgentBus }> {
  const bus = new AgentBus({ impact: false, metering: false, deliberation: false, ...options });
  await bus.start();
  const config = loadServerConfig({
    overrides: {
      logLevel: 'silent',
      auth: {
        apiKeys: [
          { key: ADMIN, name: 'ops', tenantId: '*', roles: ['admin'] },
          { key: AGENT, agentId: 'alice', tenantId: 'acme', roles: ['agent'] },
        ],
      },
    },
  });
  const app = await buildServer({ config, bus });
  t.after(async () => {
    await app.close();
    await bus.stop();
  });
  await bus.registerAgent({ agentId: 'alice', tenantId: 'acme' });
  await bus.registerAgent({ agentId: 'bob', tenantId: 'acme' });
  return { app, bus };
}

const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('resilience over HTTP', () => {
  it('chaos routes are admin only, refused unless enabled, and drive the engine when enabled', async (t) => {
    const off = await server(t, {});
    const refused = await off.app.inject({ method: 'POST', url: '/v1/chaos/scenarios', headers: as(ADMIN), payload: { kind: 'error', target: 'policy', durationMs: 1000 } });
    assert.equal(refused.statusCode, 403);
    assert.equal(refused.json().error.code, 'CHAOS_DISABLED');

    const { app, bus } = await server(t, { chaos: { enabled: true }, resilience: { breakers: { dependencies: { policy: { failMax: 2, resetMs: 60_000 } } } } });
    const forbidden = await app.inject({ method: 'POST', url: '/v1/chaos/scenarios', headers: as(AGENT), payload: { kind: 'error', target: 'policy', durationMs: 1000 } });
    assert.equal(forbidden.statusCode, 403);
    assert.equal(forbidden.json().error.code, 'FORBIDDEN');
    const bad = await app.inject({ method: 'POST', url: '/v1/chaos/scenarios', headers: as(ADMIN), payload: { kind: 'error', target: 'policy', durationMs: 1000, errorRate: 3 } });
    assert.equal(bad.statusCode, 400);

    const started = await app.inject({ method: 'POST', url: '/v1/chaos/scenarios', headers: as(ADMIN), payload: { kind: 'error', target: 'policy', durationMs: 999_999 } });
    assert.equal(started.statusCode, 201, started.body);
    assert.equal(started.json().scenario.capped, true);
    const send = () => app.inject({ method: 'POST', url: '/v1/messages', headers: as(AGENT), payload: { toAgent: 'bob', constitutionalHash: CONSTITUTIONAL_HASH, content: { x: 1 } } });
    const r1 = await send();
    assert.equal(r1.statusCode, 503);
    assert.equal(r1.json().error?.code ?? r1.json().code, 'POLICY_UNAVAILABLE');
    await send();
    assert.equal(bus.resilience!.breakers.get('policy')!.state, 'open', 'two failures opened the policy breaker');
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(ready.statusCode, 503, 'the only dependency breaker is open: CRITICAL, not ready');
    const ended = await app.inject({ method: 'DELETE', url: '/v1/chaos/scenarios/error:policy', headers: as(ADMIN) });
    assert.equal(ended.statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/chaos', headers: as(ADMIN) })).json().active.length, 0);
  });

  it('/readyz is 503 while CRITICAL; /healthz and /metrics carry the health; admin sees recoveries and resets breakers', async (t) => {
    const { app, bus } = await server(t, { chaos: { enabled: true } });
    assert.deepEqual((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
    const healthz = await app.inject({ method: 'GET', url: '/healthz?details=true' });
    assert.equal(healthz.statusCode, 200);
    assert.equal(healthz.json().health.status, 'HEALTHY');
    assert.ok(healthz.json().health.breakerDetails.some((b: { name: string }) => b.name === 'policy'));

    const forced = await app.inject({ method: 'POST', url: '/v1/chaos/scenarios', headers: as(ADMIN), payload: { kind: 'breaker_open', target: 'policy', durationMs: 60_000 } });
    assert.equal(forced.statusCode, 201, forced.body);
    const notReady = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(notReady.statusCode, 503);
    assert.equal(notReady.json().health, 'CRITICAL');
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    assert.match(metrics, /agent_bus_health_score 0/);
    assert.match(metrics, /agent_bus_health_status\{status="CRITICAL"\} 1/);
    assert.match(metrics, /agent_bus_breaker_state\{breaker="policy",dependency_class="governance"\} 2/);

    const stop = await app.inject({ method: 'POST', url: '/v1/chaos/emergency-stop', headers: as(ADMIN) });
    assert.equal(stop.json().ended, 1);
    assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'the forced breaker closed with the scenario');
    const blocked = await app.inject({ method: 'POST', url: '/v1/chaos/scenarios', headers: as(ADMIN), payload: { kind: 'breaker_open', target: 'policy', durationMs: 1000 } });
    assert.equal(blocked.json().error.code, 'CHAOS_STOPPED');
    await app.inject({ method: 'POST', url: '/v1/chaos/reset', headers: as(ADMIN) });

    bus.resilience!.recovery.registerHealthCheck('policy', () => false);
    const scheduled = await app.inject({ method: 'POST', url: '/v1/resilience/recoveries/policy', headers: as(ADMIN), payload: { strategy: 'manual' } });
    assert.equal(scheduled.statusCode, 201, scheduled.body);
    const list = await app.inject({ method: 'GET', url: '/v1/resilience/recoveries', headers: as(ADMIN) });
    assert.equal(list.json().awaiting[0].service, 'policy');
    const attempt = await app.inject({ method: 'POST', url: '/v1/resilience/recoveries/policy/approve', headers: as(ADMIN) });
    assert.equal(attempt.json().result.state, 'awaiting_manual');
    const unknown = await app.inject({ method: 'POST', url: '/v1/resilience/recoveries/nothing', headers: as(ADMIN), payload: {} });
    assert.equal(unknown.statusCode, 404);

    bus.resilience!.breakers.get('policy')!.forceOpen(Date.now() + 60_000);
    const reset = await app.inject({ method: 'POST', url: '/v1/resilience/breakers/policy/reset', headers: as(ADMIN) });
    assert.equal(reset.json().breaker.state, 'closed');
    const history = await app.inject({ method: 'GET', url: '/v1/resilience/health', headers: as(ADMIN) });
    assert.ok(history.json().history.length >= 1);
    assert.equal((await app.inject({ method: 'GET', url: '/v1/resilience/health', headers: as(AGENT) })).statusCode, 403);
  });
});
