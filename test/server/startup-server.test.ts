/** startServer's refusals: each a StartupError saying in one line what is wrong, whose fault it is, and leaving nothing started. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { AgentBus } from '../../src/bus.js';
import { loadServerConfig } from '../../src/server/config.js';
import { startServer, StartupError, type RunningServer } from '../../src/server/serve.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'agent-bus-startup-server-'));
const running: RunningServer[] = [];
after(async () => {
  for (const server of running) await server.stop('test over');
  rmSync(root, { recursive: true, force: true });
});

function start(flags: Record<string, string>): Promise<RunningServer> {
  const config = loadServerConfig({
    overrides: { logLevel: 'silent' },
    flags: Object.entries({ port: '0', ...flags }).map(([name, text]) => ({ flag: `--${name}`, path: [name], kind: name === 'port' ? 'int' : 'string', text })),
  });
  return startServer({ config, handleSignals: false, logger: pino({ level: 'silent' }), announce: () => undefined }).then((server) => {
    running.push(server);
    return server;
  });
}

async function refusal(flags: Record<string, string>, kind: StartupError['kind'], pattern: RegExp): Promise<void> {
  await assert.rejects(start(flags), (error: unknown) => {
    assert.ok(error instanceof StartupError, `expected a StartupError, got ${(error as Error).stack ?? String(error)}`);
    assert.equal(error.kind, kind);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  });
}

describe('startServer refuses to start with a one-line StartupError', () => {
  it('a data directory that is a regular file, or under one, is a configuration error naming the path', async () => {
    const file = path.join(root, 'not-a-dir');
    writeFileSync(file, 'x');
    await refusal({ dataDir: file }, 'config', new RegExp(`^dataDir "${file}" cannot be used: it exists and is not a directory \\(EEXIST\\)$`));
    await refusal({ dataDir: path.join(file, 'below') }, 'config', /cannot be used: a part of the path is a file, not a directory \(ENOTDIR\)$/);
  });

  it('a host name that does not resolve: unavailable, before anything is written', async () => {
    const dataDir = path.join(root, 'unresolved');
    const config = loadServerConfig({ overrides: { logLevel: 'silent', host: 'no-such-host.invalid', insecure: true, dataDir } });
    await assert.rejects(startServer({ config, handleSignals: false, logger: pino({ level: 'silent' }), announce: () => undefined }), (error: unknown) => {
      assert.ok(error instanceof StartupError);
      assert.equal(error.kind, 'unavailable');
      assert.match(error.message, /^cannot listen on no-such-host\.invalid: the host name (does not resolve \(ENOTFOUND\)|could not be resolved)/);
      return true;
    });
    assert.equal(existsSync(dataDir), false);
  });

  // Needs the IPv6 loopback address, as the README says: a machine without it fails here.
  it('serves [::1] given in brackets; a port in use and a data directory in use are unavailable, and a failed start releases the data directory', async () => {
    const busyDir = path.join(root, 'busy');
    const first = await start({ host: '[::1]', dataDir: busyDir });
    assert.match(first.url, /^http:\/\/\[::1\]:\d+$/);
    assert.equal((await fetch(`${first.url}/healthz`)).status, 200);
    const port = first.url.split(':').at(-1)!;

    await refusal({ host: '::1', dataDir: busyDir }, 'unavailable', /^cannot start the bus: journal .* is already open by process \d+$/);
    const otherDir = path.join(root, 'other');
    await refusal({ host: '::1', port, dataDir: otherDir }, 'unavailable', new RegExp(`^cannot listen on \\[::1\\]:${port}: another process already listens on that address and port \\(EADDRINUSE\\)$`));
    // The failed start stopped what it had started: the journal lock is gone and the directory can be used at once.
    assert.deepEqual(readdirSync(path.join(otherDir, 'journal')).filter((f) => f.endsWith('.lock')), []);
    const second = await start({ host: '::1', dataDir: otherDir });
    assert.equal((await fetch(`${second.url}/healthz`)).status, 200);
  });
});

describe('startServer releases what it started when the server cannot be built', () => {
  it('an API-key entry the Authenticator refuses (a config that skipped validation): the error is reported, the bus stopped and the components closed', async () => {
    const valid = loadServerConfig({ overrides: { logLevel: 'silent', dataDir: path.join(root, 'unbuilt'), port: 0 } });
    const config = { ...valid, auth: { ...valid.auth, apiKeys: [{ key: 'k-1', tenantId: 'NOT A TENANT', roles: ['admin'] }] } } as typeof valid;
    const bus = new AgentBus({ policy: false, impact: false, deliberation: false });
    let closed = 0;
    await assert.rejects(
      startServer({ config, handleSignals: false, logger: pino({ level: 'silent' }), announce: () => undefined, components: async () => ({ bus, close: async () => void closed++ }) }),
      /tenant/i,
    );
    assert.equal(bus.isRunning, false, 'the bus was stopped');
    assert.equal(closed, 1, 'the components were closed');
  });
});
