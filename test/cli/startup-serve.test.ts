/**
 * agent-bus serve start-up failures: a clear message (no stack trace) and the exit code of its
 * cause — 64 a bad flag, 78 a bad file, variable or data directory, 69 the system (host, port).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { serve } from '../../src/cli/serve.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-bus-startup-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const at = path.join(dir, name);
  writeFileSync(at, content);
  return at;
}

/** Flags for a run that gets as far as startServer: a free port, no logs. */
const QUIET = ['--port', '0', '--log-level', 'silent'];

/** `agent-bus serve …` in-process on a fresh data directory; only for runs that fail (a server that starts would never return). */
async function serveFails(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; err: string }> {
  let out = '';
  let err = '';
  const dataDir = mkdtempSync(path.join(dir, 'data-'));
  const code = await main(['serve', '--data-dir', dataDir, ...args], { out: (t) => (out += t), err: (t) => (err += t), env });
  assert.equal(out, '');
  assert.doesNotMatch(err, /internal error|^\s+at /m, 'no stack trace');
  return { code, err };
}

const KEY = 'a-clear-key-of-some-length-0';
const fine = file('fine.json', JSON.stringify({ logLevel: 'silent' }));

describe('agent-bus serve: start-up failures are one clear message with the right exit code', () => {
  it('API-key entries the Authenticator would refuse: 78, naming each key and what was expected', async () => {
    const keys = file(
      'keys.json',
      JSON.stringify({
        auth: {
          apiKeys: [
            { key: KEY + '0', name: 'ops', tenantId: '*', roles: ['admin'] },
            { key: KEY + '1', agentId: 'planner', tenantId: 'Not A Tenant!' },
            { key: KEY + '2', name: 'worker', tenantId: 'acme' },
          ],
        },
      }),
    );
    const r = await serveFails(['--config', keys, ...QUIET]);
    assert.equal(r.code, 78, r.err);
    assert.match(r.err, new RegExp(`^agent-bus serve: invalid configuration:\\n  ${keys}: "auth\\.apiKeys\\[1\\]\\.tenantId" must match .*, got "Not A Tenant!"\\n`));
    assert.match(r.err, new RegExp(`\\n  ${keys}: "auth\\.apiKeys\\[2\\]\\.agentId" is required: the key has the agent role`));
  });

  it('the same API key twice: 78, naming both entries', async () => {
    const twice = file('twice.json', JSON.stringify({ auth: { apiKeys: [{ key: KEY, agentId: 'planner', tenantId: 'acme' }, { key: KEY + 'x', name: 'ops', tenantId: 'acme', roles: ['admin'] }, { key: KEY, name: 'rita', tenantId: 'acme', roles: ['reviewer'] }] } }));
    const r = await serveFails(['--config', twice, ...QUIET]);
    assert.equal(r.code, 78, r.err);
    assert.equal(r.err, `agent-bus serve: invalid configuration: ${twice}: "auth.apiKeys[2]" ("rita") is the same key as "auth.apiKeys[0]": list each key once\n`);
  });

  it('a host name that does not resolve: 69', async () => {
    const r = await serveFails(['--host', 'no-such-host.invalid', '--insecure', ...QUIET]);
    assert.equal(r.code, 69, r.err);
    assert.match(r.err, /^agent-bus serve: cannot listen on no-such-host\.invalid: the host name (does not resolve|could not be resolved)[^\n]*\n$/);
  });

  it('a data directory that is a regular file: 78, naming the path', async () => {
    const notADir = file('not-a-dir', '');
    const r = await serveFails([...QUIET, '--data-dir', notADir]);
    assert.equal(r.code, 78, r.err);
    assert.equal(r.err, `agent-bus serve: dataDir "${notADir}" cannot be used: it exists and is not a directory (EEXIST)\n`);
  });

  it('a file where the components need a directory in the data directory: 78, naming it', async () => {
    for (const sub of ['journal', 'delivery']) {
      const dataDir = mkdtempSync(path.join(dir, 'data-'));
      writeFileSync(path.join(dataDir, sub), 'x');
      const r = await serveFails([...QUIET, '--data-dir', dataDir]);
      assert.equal(r.code, 78, r.err);
      assert.match(r.err, new RegExp(`^agent-bus serve: dataDir "${dataDir}" cannot be used \\("${dataDir}/${sub}[^"]*"\\): (it exists and is not a directory \\(EEXIST\\)|a part of the path is a file, not a directory \\(ENOTDIR\\))\n$`));
    }
  });

  it('a port in use: 69', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const r = await serveFails(['--log-level', 'silent', '--port', String(port)]);
      assert.equal(r.code, 69, r.err);
      assert.equal(r.err, `agent-bus serve: cannot listen on 127.0.0.1:${port}: another process already listens on that address and port (EADDRINUSE)\n`);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});

describe('agent-bus serve: an error names the source of the bad value', () => {
  it('an environment variable, not the config file: 78', async () => {
    const r = await serveFails(['--config', fine], { AGENT_BUS_PORT: '99999' });
    assert.equal(r.code, 78, r.err);
    assert.equal(r.err, 'agent-bus serve: invalid configuration: AGENT_BUS_PORT: "port" must be <= 65535\n');
  });

  it('a flag, not the config file or the variable it overrides', async () => {
    const r = await serveFails(['--config', fine, '--port', '99999'], { AGENT_BUS_PORT: '8080' });
    assert.match(r.err, /^agent-bus serve: --port: "port" must be <= 65535\n/);
    assert.doesNotMatch(r.err, /fine\.json|AGENT_BUS_PORT/);
  });
});

describe('agent-bus serve: a bad flag value is a usage error (64), whether it does not parse or is out of range', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--port', 'abc'], /--port: expected an integer, got "abc"/],
    [['--port', '99999'], /--port: "port" must be <= 65535/],
    [['--port='], /--port: expected an integer, got ""/],
    [['--log-level', 'loud'], /--log-level: "logLevel" must be one of the allowed values \(fatal, error, warn, info, debug, trace, silent\)/],
    [['--host', ''], /--host: "host" must NOT have fewer than 1 characters/],
  ];
  for (const [args, pattern] of cases) {
    it(args.join(' '), async () => {
      const r = await serveFails(args);
      assert.equal(r.code, 64, r.err);
      assert.match(r.err, pattern);
      assert.match(r.err, /\(agent-bus serve --help for usage\)\n$/);
    });
  }

  it('the same values from the environment are configuration errors (78), also when a flag is bad too', async () => {
    assert.equal((await serveFails([], { AGENT_BUS_PORT: 'abc' })).code, 78);
    assert.equal((await serveFails([], { AGENT_BUS_LOG_LEVEL: 'loud' })).code, 78);
    const both = await serveFails(['--port', '99999'], { AGENT_BUS_LOG_LEVEL: 'loud' });
    assert.equal(both.code, 78);
    assert.match(both.err, /--port: "port" must be <= 65535/);
    assert.match(both.err, /AGENT_BUS_LOG_LEVEL: "logLevel" must be one of/);
  });
});

describe('agent-bus serve --help', () => {
  it('lists every option in the synopsis and in the option list', () => {
    const [synopsis] = serve.usage.split('\n');
    const optionLines = serve.usage.split('\nOptions:\n')[1]!.split('\n\n')[0]!;
    for (const name of [...Object.keys(serve.options), 'json']) {
      assert.match(synopsis!, new RegExp(`\\[--${name}[ \\]]`), `--${name} in the synopsis`);
      assert.match(optionLines, new RegExp(`^  --${name} `, 'm'), `--${name} in the options`);
    }
    assert.match(optionLines, /^ {2}--help /m);
  });
});

describe('agent-bus serve --host [::1]', () => {
  // Needs the IPv6 loopback address, as the README says: a machine without it fails here.
  it('listens on the IPv6 loopback address given in brackets, as a URL writes it', async () => {
    const dataDir = mkdtempSync(path.join(dir, 'ipv6-'));
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'src', 'cli', 'main.ts'), 'serve', '--host', '[::1]', '--port', '0', '--json', '--data-dir', dataDir, '--log-level', 'silent'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
        });
        void exited.then((code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });
      const { url } = JSON.parse(line) as { url: string };
      assert.match(url, /^http:\/\/\[::1\]:\d+$/);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
