/** Start-up configuration: API-key entries checked at load, errors naming where each bad value came from, bracketed IPv6 hosts. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Authenticator, sha256Hex } from '../../src/server/auth.js';
import { ConfigError, DEFAULT_CONFIG, loadServerConfig, validateServerConfig, type ConfigProblem, type LoadConfigInput } from '../../src/server/config.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'agent-bus-startup-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, content: unknown): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(content));
  return file;
}

/** The problems loadServerConfig reports for `input` (fails when it loads). */
function problemsOf(input: LoadConfigInput): readonly ConfigProblem[] {
  try {
    loadServerConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('the configuration was accepted');
}

const KEY = 'a-clear-key-of-some-length-0';
const admin = (key: string, name?: string) => ({ key, tenantId: 'acme', roles: ['admin'], ...(name === undefined ? {} : { name }) });

describe('API-key entries the Authenticator would refuse are configuration errors naming the key', () => {
  it('an agent-role key without agentId (roles given or by default)', () => {
    const file = configFile('agent-no-id.json', { auth: { apiKeys: [admin(KEY + '1'), admin(KEY + '2'), { key: KEY + '3', tenantId: 'acme' }, { key: KEY + '4', tenantId: 'acme', roles: ['agent', 'reviewer'] }] } });
    const problems = problemsOf({ file });
    assert.deepEqual(
      problems.map((p) => p.text.match(/^"([^"]+)"/)?.[1]),
      ['auth.apiKeys[2].agentId', 'auth.apiKeys[3].agentId'],
    );
    assert.match(problems[0]!.text, /is required: the key has the agent role \(the default when "roles" is not given\)/);
    assert.ok(problems.every((p) => p.origin === 'file' && p.label === file));
  });

  it('an empty roles list (a key that could do nothing)', () => {
    const problems = problemsOf({ overrides: { auth: { apiKeys: [admin(KEY + '1'), { ...admin(KEY + '2'), roles: [] }] } } });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!.text, /^"auth\.apiKeys\[1\]\.roles"/);
  });

  it('a tenant id the bus cannot use, and "*" without the admin role', () => {
    const problems = problemsOf({ overrides: { auth: { apiKeys: [admin(KEY + '1'), { ...admin(KEY + '2'), tenantId: 'a b!' }, { key: KEY + '3', agentId: 'x', tenantId: '*' }] } } });
    assert.equal(problems.length, 2);
    assert.match(problems[0]!.text, /^"auth\.apiKeys\[1\]\.tenantId" must match .* got "a b!"$/);
    assert.match(problems[1]!.text, /^"auth\.apiKeys\[2\]\.tenantId" may be "\*" only for a key with the admin role$/);
  });

  it('an agentId that no agent can register under', () => {
    const [problem] = problemsOf({ overrides: { auth: { apiKeys: [{ key: KEY, agentId: 'not an id', tenantId: 'acme' }] } } });
    assert.match(problem!.text, /^"auth\.apiKeys\[0\]\.agentId" must match pattern/);
  });

  it('the same key twice (even once in clear and once as an upper-case digest) names both entries', () => {
    const apiKeys = [admin(KEY + '0', 'ops'), admin(KEY), { sha256: sha256Hex(KEY).toUpperCase(), tenantId: 'acme', roles: ['reviewer'], name: 'rita' }];
    const problems = problemsOf({ overrides: { auth: { apiKeys } } });
    assert.deepEqual(problems.map((p) => p.text), ['"auth.apiKeys[2]" ("rita") is the same key as "auth.apiKeys[1]": list each key once']);
    assert.throws(() => new Authenticator({ apiKeys: apiKeys as never }), /same key as "auth\.apiKeys\[1\]"/);
  });

  it('accepts valid entries, with tenant ids normalised as the Authenticator does', () => {
    const config = loadServerConfig({ overrides: { auth: { apiKeys: [{ key: KEY, agentId: 'planner', tenantId: ' ACME ' }, admin(KEY + '0')] } } });
    assert.equal(config.auth.apiKeys.length, 2);
    assert.doesNotThrow(() => new Authenticator(config.auth));
  });
});

describe('configuration errors name the source of the bad value', () => {
  const file = configFile('fine.json', { port: 9000, logLevel: 'warn' });

  it('an environment variable, not the config file', () => {
    const problems = problemsOf({ file, env: { AGENT_BUS_PORT: '99999' } });
    assert.deepEqual(problems, [{ origin: 'env', label: 'AGENT_BUS_PORT', text: '"port" must be <= 65535' }]);
  });

  it('a command-line flag, not the config file', () => {
    const problems = problemsOf({ file, env: { AGENT_BUS_PORT: '8080' }, flags: [{ flag: '--port', path: ['port'], kind: 'int', text: '99999' }] });
    assert.deepEqual(problems, [{ origin: 'flag', label: '--port', text: '"port" must be <= 65535' }]);
    const unparsable = problemsOf({ file, flags: [{ flag: '--port', path: ['port'], kind: 'int', text: 'abc' }] });
    assert.deepEqual(unparsable, [{ origin: 'flag', label: '--port', text: 'expected an integer, got "abc"' }]);
  });

  it('the config file when the value is in it, and each source when several are bad', () => {
    const bad = configFile('bad.json', { quotas: { agent: { ratePerSec: -1, burst: 1 } }, delivery: { ackTimeout: 5 } });
    const problems = problemsOf({ file: bad, env: { AGENT_BUS_BODY_LIMIT_BYTES: '5' }, flags: [{ flag: '--log-level', path: ['logLevel'], kind: 'string', text: 'loud' }] });
    const lines = problems.map((p) => `${p.label}: ${p.text}`).sort();
    const expected = [
      '--log-level: "logLevel" must be one of the allowed values (fatal, error, warn, info, debug, trace, silent)',
      'AGENT_BUS_BODY_LIMIT_BYTES: "bodyLimitBytes" must be >= 1024',
      `${bad}: "quotas.agent.ratePerSec" must be >= 0`,
      `${bad}: unknown key "delivery.ackTimeout"`,
    ];
    assert.deepEqual(lines, expected.sort());
  });

  it('a missing key is blamed on the source that set its neighbours', () => {
    const problems = problemsOf({ file, env: { AGENT_BUS_JWT_ISSUER: 'https://idp.example' } });
    assert.deepEqual(problems, [{ origin: 'env', label: 'AGENT_BUS_JWT_ISSUER', text: '"auth.jwt.secret" is required' }]);
  });

  it('every unparsable variable at once', () => {
    const problems = problemsOf({ file, env: { AGENT_BUS_PORT: '80x', AGENT_BUS_INSECURE: 'maybe' } });
    assert.deepEqual(problems.map((p) => p.label), ['AGENT_BUS_PORT', 'AGENT_BUS_INSECURE']);
  });
});

describe('host', () => {
  it('an IPv6 address in brackets, as a URL writes it, is listened on without them', () => {
    assert.equal(loadServerConfig({ flags: [{ flag: '--host', path: ['host'], kind: 'string', text: '[::1]' }] }).host, '::1');
    assert.equal(loadServerConfig({ env: { AGENT_BUS_HOST: '[::]' } }).host, '::');
    assert.equal(loadServerConfig({ env: { AGENT_BUS_HOST: '::1' } }).host, '::1');
  });
});

describe('validateServerConfig', () => {
  it('takes one label for every value (a file name) as well as a source function', () => {
    assert.throws(
      () => validateServerConfig({ ...DEFAULT_CONFIG, port: 99_999 } as never, 'mine.json'),
      (error: unknown) => error instanceof ConfigError && error.problems.length === 1 && error.problems[0]!.label === 'mine.json' && /port/.test(error.message),
    );
  });
});
