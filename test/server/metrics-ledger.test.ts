import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { AgentBus } from '../../src/bus.js';
import { config, harness, message } from './helpers.js';

describe('/metrics: delivery ledger', () => {
  it('exports the ledger entries and events when the bus has a ledger, nothing of it otherwise', async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'eab-metrics-ledger-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const h = await harness(config(), { bus: new AgentBus({ policy: false, impact: false, deliveryLedger: { dir } }) });
    try {
      assert.equal((await h.app.inject({ method: 'POST', url: '/v1/messages', payload: message() })).statusCode, 200);
      const text = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.match(text, /agent_bus_delivery_ledger_entries\{state="open"\} 1\b/);
      assert.match(text, /agent_bus_delivery_ledger_events_total\{event="accepted"\} 1\b/);
      assert.match(text, /agent_bus_delivery_ledger_events_total\{event="write"\} [1-9]/);
    } finally {
      await h.close();
    }
    const plain = await harness(config(), { bus: new AgentBus({ policy: false, impact: false }) });
    try {
      const text = (await plain.app.inject({ method: 'GET', url: '/metrics' })).body;
      assert.doesNotMatch(text, /agent_bus_delivery_ledger_entries\{/);
    } finally {
      await plain.close();
    }
  });
});
