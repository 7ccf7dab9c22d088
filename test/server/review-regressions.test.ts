// Regressions from a review of the server: the journal spans every tenant (a tenant's admin may
// not read it), and agent ids of the full allowed length (128) work on per-agent routes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { AgentBus, buildServer } from '../../src/index.js';
import { KEYS, apiKey, authConfig, harness } from './helpers.js';

describe('server review regressions', () => {
  it('journal routes refuse a tenant-scoped admin and serve an every-tenant admin', async () => {
    const bus = new AgentBus({ impact: false });
    await bus.start();
    const journal = { stats: () => ({ appended: 0 }), tail: async () => [], verify: async () => ({ ok: true }) };
    const app = await buildServer({ config: authConfig(), bus, logger: pino({ level: 'silent' }), journal });
    try {
      for (const url of ['/v1/journal/tail?n=5', '/v1/journal/stats', '/v1/journal/verify']) {
        const scoped = await app.inject({ method: 'GET', url, headers: apiKey(KEYS.admin) });
        assert.equal(scoped.statusCode, 403, url);
        assert.match(scoped.body, /every tenant/);
        assert.equal((await app.inject({ method: 'GET', url, headers: apiKey(KEYS.root) })).statusCode, 200, url);
      }
    } finally {
      await app.close();
      await bus.stop();
    }
  });

  it('an agent id of 128 characters works on per-agent routes', async () => {
    const h = await harness(authConfig());
    try {
      const agentId = 'a'.repeat(128);
      const created = await h.app.inject({ method: 'POST', url: '/v1/agents', headers: apiKey(KEYS.root), payload: { agentId, tenantId: 'acme' } });
      assert.equal(created.statusCode, 201, created.body);
      const got = await h.app.inject({ method: 'GET', url: `/v1/agents/${agentId}`, headers: apiKey(KEYS.root) });
      assert.equal(got.statusCode, 200, got.body);
      const removed = await h.app.inject({ method: 'DELETE', url: `/v1/agents/${agentId}`, headers: apiKey(KEYS.root) });
      assert.equal(removed.statusCode, 200, removed.body);
    } finally {
      await h.close();
    }
  });
});
