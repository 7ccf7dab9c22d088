/**
 * (b) The policy engine errors for 10 s (chaos error injection at the policy wrapper, started over
 * the admin API): every message it affects is refused with POLICY_UNAVAILABLE, nothing slips
 * through, and service resumes after.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AgentBus, type AgentMessage } from '../../src/index.js';
import { assertExactlyOnce, byCode, figures, serve, sleep, traffic, until } from './helpers.js';

const WINDOW_MS = 10_000;

it('(b) policy engine errors for 10 s: affected messages refused with POLICY_UNAVAILABLE, none slips through, service resumes', async (t) => {
  const bus = new AgentBus({
    impact: false,
    metering: false,
    deliberation: false,
    chaos: { enabled: true },
    resilience: { breakers: { dependencies: { policy: { failMax: 5, resetMs: 1000 } } } },
  });
  await bus.start();
  const server = await serve(bus);
  t.after(async () => {
    await server.close();
    await bus.stop();
  });
  await bus.registerAgent({ agentId: 'alice', tenantId: 'acme' });
  await bus.registerAgent({ agentId: 'bob', tenantId: 'acme' });
  const delivered: Array<{ id: string; at: number }> = [];
  bus.subscribe('bob', (m: AgentMessage) => void delivered.push({ id: m.messageId, at: Date.now() }));

  let stop = false;
  const run = traffic(server.url, 4, (i) => ({ fromAgent: 'alice', toAgent: 'bob', tenantId: 'acme', content: { i } }), () => stop);
  await sleep(1000);
  const res = await fetch(`${server.url}/v1/chaos/scenarios`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'error', target: 'policy', durationMs: WINDOW_MS }) });
  assert.equal(res.status, 201);
  const { scenario } = (await res.json()) as { scenario: { startedAt: number; endsAt: number } };
  await until(() => Date.now() > scenario.endsAt, WINDOW_MS + 2000, 'the end of the error window');
  const resumeFrom = Date.now();
  let resumedAt = 0;
  await until(
    () => {
      if (resumedAt === 0 && delivered.some((d) => d.at > resumeFrom)) resumedAt = Date.now();
      return resumedAt !== 0;
    },
    5000,
    'service to resume',
  );
  await sleep(500);
  stop = true;
  const outcomes = await run;

  // Affected: sent after the scenario started and answered before it ended.
  const affected = outcomes.filter((o) => o.startedAt >= scenario.startedAt && o.endedAt <= scenario.endsAt);
  assert.ok(affected.length > 50, `traffic flowed during the window (${affected.length})`);
  assert.deepEqual(byCode(affected), { POLICY_UNAVAILABLE: affected.length }, 'every affected message refused with POLICY_UNAVAILABLE');
  assert.ok(affected.every((o) => o.status === 503));
  const slipped = delivered.filter((d) => d.at > scenario.startedAt + 50 && d.at < scenario.endsAt);
  assert.equal(slipped.length, 0, 'nothing delivered inside the window');
  const accepted = outcomes.filter((o) => o.status === 200).map((o) => o.messageId!);
  const { lost } = assertExactlyOnce(accepted, delivered.map((d) => d.id));
  const after = outcomes.filter((o) => o.startedAt > resumedAt);
  assert.ok(after.length > 0 && after.every((o) => o.status === 200 || o.code === 'BACKPRESSURE'), 'accepted again after the window');
  const policy = bus.resilience!.breakers.get('policy')!.snapshot();
  figures('b policy-errors', {
    windowMs: WINDOW_MS,
    sent: outcomes.length,
    accepted: accepted.length,
    delivered: delivered.length,
    refusedByCode: byCode(outcomes),
    affected: affected.length,
    slippedThrough: slipped.length,
    lost,
    breakerOpened: policy.opened,
    breakerShortCircuits: policy.rejections,
    resumedMsAfterWindow: resumedAt - scenario.endsAt,
  });
});
