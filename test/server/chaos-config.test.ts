import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { ConfigError, loadServerConfig } from '../../src/server/config.js';
import { defaultComponents } from '../../src/server/serve.js';

it('chaos is off by default and can be enabled from the config file keys or AGENT_BUS_CHAOS_ENABLED', async (t) => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'eab-chaos-config-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));

  const plain = loadServerConfig({ overrides: { dataDir } });
  assert.equal(plain.chaos.enabled, false);
  const off = await defaultComponents(plain);
  try {
    assert.equal(off.bus.resilience?.chaos.enabled, false);
  } finally {
    await off.bus.stop();
  }

  const fromEnv = loadServerConfig({ env: { AGENT_BUS_CHAOS_ENABLED: 'true' }, overrides: { dataDir } });
  assert.equal(fromEnv.chaos.enabled, true);
  const on = await defaultComponents(loadServerConfig({ overrides: { dataDir, chaos: { enabled: true, maxDurationMs: 60_000 } } }));
  try {
    assert.equal(on.bus.resilience?.chaos.enabled, true);
  } finally {
    await on.bus.stop();
  }

  assert.throws(() => loadServerConfig({ overrides: { chaos: { enabled: 'yes' } } }), (e) => e instanceof ConfigError && /chaos\.enabled/.test(e.message));
  assert.throws(() => loadServerConfig({ overrides: { chaos: { maxDurationMs: 900_000 } } }), (e) => e instanceof ConfigError && /chaos\.maxDurationMs/.test(e.message));
});
