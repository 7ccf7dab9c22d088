/**
 * (c) One agent's handler hangs (chaos at the handler wrapper, over the admin API): other agents
 * are unaffected; the hanging agent's messages time out (reported), its breaker pauses it, and
 * after the hang every accepted message has been handled or reported — none lost.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AgentBus, type AgentMessage } from '../../src/index.js';
import { byCode, figures, serve, sleep, traffic, until } from './helpers.js';

it('(c) a handler hangs: other agents unaffected, nothing accepted is lost', async (t) => {
  const bus = new AgentBus({
    impact: false,
    metering: false,
    deliberation: false,
    handlerTimeoutMs: 300,
    inboxCapacity: 5000,
    chaos: { enabled: true },
    resilience: { subscriberBreaker: { failMax: 3, resetMs: 500 } },
  });
  await bus.start();
  const server = await serve(bus);
  const keepAlive = setInterval(() => undefined, 1000);
  t.after(async () => {
    clearInterval(keepAlive);
    await server.close();
    await bus.stop();
  });
  for (const agentId of ['alice', 'bob', 'carol']) await bus.registerAgent({ agentId, tenantId: 'acme' });
  const handled = { bob: [] as string[], carol: [] as string[] };
  const carolLatency: number[] = [];
  const handler = (who: 'bob' | 'carol') => async (m: AgentMessage) => {
    handled[who].push(m.messageId);
    if (who === 'carol') carolLatency.push(Date.now() - (m.content as { sentAt: number }).sentAt);
    await sleep(1);
  };
  bus.subscribe('bob', handler('bob'));
  bus.subscribe('carol', handler('carol'));
  const timedOut: string[] = [];
  bus.onDeliveryFailure((e) => {
    if (e.agentId === 'bob' && e.code === 'TIMEOUT') timedOut.push(e.message.messageId);
  });

  let stop = false;
  const run = traffic(server.url, 4, (i) => ({ fromAgent: 'alice', toAgent: i % 2 === 0 ? 'bob' : 'carol', tenantId: 'acme', content: { i, sentAt: Date.now() } }), () => stop);
  await sleep(700);
  const carolBefore = carolLatency.length;
  const res = await fetch(`${server.url}/v1/chaos/scenarios`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'handler_hang', target: 'handler:bob', durationMs: 3000 }) });
  assert.equal(res.status, 201);
  await sleep(1500);
  const paused = bus.metrics().delivery.pausedSubscribers;
  await sleep(1700);
  const carolDuring = carolLatency.slice(carolBefore);
  stop = true;
  const outcomes = await run;
  const accepted = (to: 'bob' | 'carol') => outcomes.filter((o) => o.status === 200 && (o.seq % 2 === 0) === (to === 'bob')).map((o) => o.messageId!);
  await until(() => handled.carol.length >= accepted('carol').length, 5000, 'carol deliveries');
  await until(() => handled.bob.length + timedOut.length >= accepted('bob').length, 10_000, 'bob to drain after the hang');

  assert.deepEqual(new Set(handled.carol), new Set(accepted('carol')), 'carol got every accepted message');
  assert.equal(handled.carol.length, accepted('carol').length, 'exactly once');
  const bobAccounted = new Set([...handled.bob, ...timedOut]);
  const bobLost = accepted('bob').filter((id) => !bobAccounted.has(id));
  assert.equal(bobLost.length, 0, 'every accepted bob message handled or reported TIMEOUT');
  assert.ok(timedOut.length > 0, 'the hang was observed');
  assert.equal(paused, 1, "bob's breaker paused it during the hang");
  assert.equal(outcomes.filter((o) => o.seq % 2 === 1 && o.status !== 200).length, 0, 'no carol send refused');
  const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))] ?? 0;
  figures('c handler-hang', {
    sent: outcomes.length,
    accepted: accepted('bob').length + accepted('carol').length,
    refusedByCode: byCode(outcomes),
    carol: { accepted: accepted('carol').length, delivered: handled.carol.length, lost: 0, p99LatencyMsDuringHang: p99(carolDuring) },
    bob: { accepted: accepted('bob').length, handled: handled.bob.length, reportedTimeout: timedOut.length, lost: bobLost.length, pausedDuringHang: paused === 1 },
  });
});
