/**
 * (a) The Redis server behind the decision cache is killed mid-run and restarted: sends keep
 * succeeding or fail with codes, no accepted message is lost, the cache reconnects, and the
 * recovery closes the breaker only after PING answers.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { createClient } from 'redis';
import { AgentBus, type AgentMessage } from '../../src/index.js';
import { RecoveryState, Resilience } from '../../src/resilience/index.js';
import { assertExactlyOnce, byCode, figures, serve, sleep, startRedis, traffic, until } from './helpers.js';

it('(a) Redis killed and restarted mid-run: no accepted message lost, the cache reconnects', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.close());
  const client = createClient({ url: redis.url, disableOfflineQueue: true, socket: { reconnectStrategy: (n: number) => Math.min(50 * n, 300), connectTimeout: 500 } });
  client.on('error', () => undefined);
  await client.connect();
  const prefix = `eab:chaos:${randomUUID()}:`;
  t.after(async () => {
    if (client.isReady) {
      const keys = await client.keys(`${prefix}*`).catch(() => [] as string[]);
      if (keys.length > 0) await client.del(keys).catch(() => undefined);
    }
    client.destroy();
  });

  const resilience = new Resilience({
    chaos: { enabled: true },
    breakers: { dependencies: { 'redis-cache': { failMax: 3, resetMs: 30_000 } } },
    recovery: { policy: { initialDelayMs: 200, maxDelayMs: 500, maxRetryAttempts: 100 } },
  });
  const tier = resilience.redisTier(client, { healthCheck: async () => (await client.ping()) === 'PONG' });
  resilience.chaos.registerOutage('redis', { stop: redis.kill, start: redis.start });
  // A 1 ms memory TTL makes every decision a memory miss, so every send writes through to Redis.
  const bus = new AgentBus({ resilience, impact: false, metering: false, deliberation: false, policy: { cache: { ttlMs: 1, redis: { client: tier, keyPrefix: prefix } } } });
  await bus.start();
  const server = await serve(bus);
  t.after(async () => {
    await server.close();
    await bus.stop();
  });
  await bus.registerAgent({ agentId: 'alice', tenantId: 'acme' });
  await bus.registerAgent({ agentId: 'bob', tenantId: 'acme' });
  const delivered: string[] = [];
  bus.subscribe('bob', (m: AgentMessage) => void delivered.push(m.messageId));
  const cacheStats = () => (bus.governanceStats().policy as { cache: { redisWrites: number; redisErrors: number } }).cache;

  const began = Date.now();
  let stop = false;
  const run = traffic(server.url, 4, (i) => ({ fromAgent: 'alice', toAgent: 'bob', tenantId: 'acme', content: { i } }), () => stop);
  await sleep(1000);
  const writesBefore = cacheStats().redisWrites;
  await resilience.chaos.outage('redis', 2000);
  const killedAt = Date.now();
  await until(() => resilience.breakers.get('redis-cache')!.state === 'open', 2000, 'the redis-cache breaker to open');
  await until(() => !resilience.chaos.armed, 5000, 'the outage to end (redis restarted)');
  const restartedAt = Date.now();
  await until(() => resilience.breakers.get('redis-cache')!.state === 'closed', 5000, 'the recovery to close the breaker');
  const writesAtRecovery = cacheStats().redisWrites;
  await sleep(1000);
  stop = true;
  const outcomes = await run;
  await until(() => delivered.length >= outcomes.filter((o) => o.status === 200).length, 3000, 'deliveries');

  const accepted = outcomes.filter((o) => o.status === 200).map((o) => o.messageId!);
  const refused = outcomes.filter((o) => o.status !== 200);
  assert.ok(refused.every((o) => o.code !== undefined && !o.code.startsWith('TRANSPORT')), 'every refusal carries a code');
  const { lost } = assertExactlyOnce(accepted, delivered);
  const stats = cacheStats();
  assert.ok(writesBefore > 0, 'the cache wrote to Redis before the outage');
  assert.ok(stats.redisWrites > writesAtRecovery, 'the cache writes to Redis again after the restart');
  assert.ok(stats.redisErrors > 0, 'the outage was counted');
  const recovered = resilience.recovery.history().find((r) => r.service === 'redis-cache' && r.state === RecoveryState.SUCCEEDED);
  assert.ok(recovered, 'a recovery succeeded (PING passed)');
  const during = outcomes.filter((o) => o.startedAt >= killedAt && o.endedAt <= restartedAt);
  assert.ok(during.length > 0 && during.every((o) => o.status === 200), 'sends kept succeeding while Redis was down (the cache tier is observability)');
  figures('a redis-outage', {
    durationMs: Date.now() - began,
    sent: outcomes.length,
    accepted: accepted.length,
    delivered: delivered.length,
    refusedByCode: byCode(outcomes),
    lost,
    sentDuringOutage: during.length,
    redisErrorsCounted: stats.redisErrors,
    redisWritesBefore: writesBefore,
    redisWritesAfterRecovery: stats.redisWrites - writesAtRecovery,
    breakerOpened: resilience.breakers.get('redis-cache')!.snapshot().opened,
    recoveryAttempts: recovered.attempts,
    recoveredAfterRestartMs: recovered.at - restartedAt,
  });
});
