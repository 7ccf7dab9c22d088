/** main() in-process: every usage refusal (exit 64) without a server, and properties of the option parsers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { intOption, jsonObjectOption, listOption, onlyOptions, UsageError } from '../../src/cli/command.js';
import { exitCodeOfStatus } from '../../src/cli/client.js';
import { main } from '../../src/cli/main.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t), env: { AGENT_BUS_URL: 'http://127.0.0.1:9' } });
  return { code, out, err };
}

describe('agent-bus main(): usage errors exit 64 before any request', () => {
  const cases: Array<[string[], RegExp]> = [
    [['send', '--from', 'a', '--to', 'b'], /--content is required/],
    [['send', '--from', 'a', '--to', 'b', '--content', '[1]'], /--content: expected a JSON object/],
    [['send', '--from', 'a', '--to', 'b', '--broadcast', '--content', '{}'], /--to and --broadcast exclude each other/],
    [['send', '--from', 'a', '--content', '{}'], /--to AGENT or --broadcast is required/],
    [['send', '--from', 'a', '--broadcast', '--request', '--content', '{}'], /--request needs a single recipient/],
    [['send', '--from', 'a', '--to', 'b', '--agent-type', 'llm', '--content', '{}'], /--agent-type applies to --broadcast only/],
    [['send', '--from', 'a', '--to', 'b', '--reply-timeout-ms', '5', '--content', '{}'], /--reply-timeout-ms applies to --request only/],
    [['send', '--from', 'a', '--to', 'b', '--priority', 'URGENT', '--content', '{}'], /--priority/],
    [['send', '--from', 'a', '--to', 'b', '--content', '{}', '--url', 'ftp://x'], /--url: expected http/],
    [['send', '--from', 'a', '--to', 'b', '--content', '{}', '--url', 'not a url'], /--url: not a URL/],
    [['send', '--from', 'a', '--to', 'b', '--content', '{}', '--timeout-ms', '0'], /--timeout-ms: expected a positive integer/],
    [['send', 'extra', '--content', '{}'], /Unexpected argument 'extra'/],
    [['agents'], /expected a subcommand/],
    [['agents', 'register'], /one agent id/],
    [['agents', 'list', 'x'], /no arguments after "list"/],
    [['agents', 'list', '--capability', 'a,b'], /list filters by one --capability/],
    [['agents', 'register', 'x', '--metadata', 'nope'], /--metadata: not valid JSON/],
    [['agents', 'unregister', 'x', '--metadata', '{}'], /--metadata does not apply to "agents unregister"/],
    [['deliberations'], /expected a subcommand: list, show, approve or reject/],
    [['deliberations', 'vote', 'x'], /unknown subcommand "vote"/],
    [['deliberations', 'approve', 'abc'], /--reason is required/],
    [['deliberations', 'reject', 'abc', '--reason', ''], /--reason is required/],
    [['deliberations', 'approve', '--reason', 'x'], /one deliberation id/],
    [['deliberations', 'list', '--status', 'bogus'], /--status: expected one of/],
    [['deliberations', 'list', '--limit', '0'], /--limit: expected an integer from 1 to 500/],
    [['deliberations', 'list', '--reason', 'x'], /--reason does not apply to "deliberations list"/],
    [['deliberations', 'show', 'a', '--status', 'pending'], /--status does not apply/],
    [['audit'], /expected a subcommand: verify/],
    [['audit', 'check', 'd'], /unknown subcommand "check"/],
    [['audit', 'verify', 'd', '--expect-seq', '3'], /--expect-seq needs --expect-head/],
    [['audit', 'verify', 'd', '--expect-head', 'abc'], /--expect-head: expected a 64-digit hex/],
    [['bench', '--runs', '0'], /--runs: expected an integer from 1 to 50/],
    [['serve', 'now'], /Unexpected argument 'now'/],
  ];
  for (const [args, pattern] of cases) {
    it(args.join(' ') || '(nothing)', async () => {
      const r = await run(args);
      assert.equal(r.code, 64, r.err);
      assert.match(r.err, pattern);
      assert.equal(r.out, '');
    });
  }

  it('help goes to stdout with exit 0; no command prints the help to stderr with 64', async () => {
    const help = await run(['help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /Commands:/);
    const none = await run([]);
    assert.equal(none.code, 64);
    assert.match(none.err, /Commands:/);
  });
});

describe('option parsers (properties)', () => {
  it('intOption accepts exactly the integers in range, written in decimal', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e6, max: 1e6 }), fc.integer({ min: -100, max: 100 }), fc.integer({ min: 0, max: 1000 }), (n, min, span) => {
        const max = min + span;
        const inRange = n >= min && n <= max;
        if (inRange) assert.equal(intOption({ x: String(n) }, 'x', min, max), n);
        else assert.throws(() => intOption({ x: String(n) }, 'x', min, max), UsageError);
      }),
    );
    fc.assert(
      fc.property(fc.string().filter((s) => !/^\s*-?\d+\s*$/.test(s)), (s) => {
        assert.throws(() => intOption({ x: s }, 'x', -1e9, 1e9), UsageError);
      }),
    );
    assert.equal(intOption({}, 'x', 0, 1), undefined);
  });

  it('listOption splits repeated and comma-separated values, dropping blanks', () => {
    const item = fc.stringMatching(/^[a-z_]{1,8}$/);
    fc.assert(
      fc.property(fc.array(fc.array(item, { minLength: 1, maxLength: 3 }), { maxLength: 4 }), (groups) => {
        const values = { roles: groups.map((g) => ` ${g.join(' , ')} ,`) };
        assert.deepEqual(listOption(values, 'roles'), groups.flat());
      }),
    );
  });

  it('jsonObjectOption round-trips any JSON object and refuses everything else', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (obj) => {
        const text = JSON.stringify(obj);
        assert.deepEqual(jsonObjectOption({ c: text }, 'c'), JSON.parse(text));
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.array(fc.jsonValue()), fc.integer(), fc.string(), fc.constant(null), fc.boolean()), (v) => {
        assert.throws(() => jsonObjectOption({ c: JSON.stringify(v) }, 'c'), UsageError);
      }),
    );
  });

  it('onlyOptions accepts the listed options (and help, json) and names the first stranger', () => {
    assert.doesNotThrow(() => onlyOptions({ url: 'x', json: true, help: undefined }, 'agents list', ['url']));
    assert.throws(() => onlyOptions({ url: 'x', reason: 'r' }, 'agents list', ['url']), /--reason does not apply to "agents list"/);
  });

  it('maps HTTP statuses to exit codes: 2xx 0, 503 69, other 5xx 70, 4xx 1', () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 599 }), (status) => {
        const code = exitCodeOfStatus(status);
        const expected = status < 300 ? 0 : status === 503 ? 69 : status >= 500 ? 70 : 1;
        assert.equal(code, expected);
      }),
    );
  });
});
