import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { AddressInfo } from 'node:net';
import { chaos } from '../../src/cli/chaos.js';
import { UsageError } from '../../src/cli/command.js';
import { AgentBus } from '../../src/index.js';
import { buildServer, loadServerConfig } from '../../src/server/index.js';

it('agent-bus chaos drives scenarios over the API: inject, status, end, stop, reset', async (t) => {
  const bus = new AgentBus({ impact: false, metering: false, deliberation: false, chaos: { enabled: true } });
  await bus.start();
  const app = await buildServer({ config: loadServerConfig({ overrides: { logLevel: 'silent' } }), bus });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.after(async () => {
    await app.close();
    await bus.stop();
  });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const run = async (positionals: string[], values: Record<string, string | string[] | boolean> = {}) => {
    let out = '';
    let err = '';
    const code = await chaos.run({ values: { url, ...values }, positionals }, { out: (s) => (out += s), err: (s) => (err += s), env: {} });
    return { code, out, err };
  };

  const injected = await run(['inject', 'latency', 'policy'], { 'duration-ms': '60000', 'delay-ms': '5', json: true });
  assert.equal(injected.code, 0, injected.err);
  assert.equal(JSON.parse(injected.out).scenario.name, 'latency:policy');
  assert.equal(bus.resilience!.chaos.latencyFor('policy'), 5);
  const status = JSON.parse((await run(['status'], { json: true })).out);
  assert.equal(status.active.length, 1);
  assert.equal((await run(['end', 'latency:policy'])).code, 0);
  assert.equal((await run(['end', 'latency:policy'])).code, 1, 'NOT_FOUND is a refusal');
  await run(['inject', 'breaker_open', 'policy'], { 'duration-ms': '60000' });
  assert.equal(bus.resilience!.breakers.get('policy')!.state, 'open');
  assert.equal((await run(['stop'])).code, 0);
  assert.equal(bus.resilience!.breakers.get('policy')!.state, 'closed');
  const refused = await run(['inject', 'error', 'policy'], { 'duration-ms': '1000' });
  assert.equal(refused.code, 1);
  assert.match(refused.err, /CHAOS_STOPPED/);
  assert.equal((await run(['reset'])).code, 0);
  const health = JSON.parse((await run(['health'], { json: true })).out);
  assert.equal(health.status, 'HEALTHY');
  await assert.rejects(run(['inject', 'meteor', 'policy'], { 'duration-ms': '1' }), UsageError);
  await assert.rejects(run(['inject', 'error', 'policy']), /--duration-ms/);
});
