import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as api from '../../src/index.js';

const root = new URL('../../', import.meta.url);
const files = ['README.md', ...readdirSync(new URL('docs/', root)).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** `import { a, type B, c as d } from '<spec>'` statements in the code blocks of the user and operator docs. */
function imports(text: string): Array<{ spec: string; names: string[] }> {
  return [...text.matchAll(/^import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'([^']+)'/gm)].map((m) => ({
    spec: m[2]!,
    names: m[1]!
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n.length > 0)
      .map((n) => n.replace(/^type\s+/, '').split(/\s+as\s+/)[0]!),
  }));
}

test('the docs import only from the package root, and only names it exports', () => {
  let checked = 0;
  for (const file of files) {
    for (const { spec, names } of imports(readFileSync(new URL(file, root), 'utf8'))) {
      if (!spec.startsWith('enhanced-agent-bus') && !spec.startsWith('.')) continue;
      assert.equal(spec, 'enhanced-agent-bus', `${file} imports from ${spec}: users can only import the package root`);
      for (const name of names) {
        assert.ok(name in api, `${file} imports ${name}, which enhanced-agent-bus does not export`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 10, `only ${checked} imported names found in the docs`);
});

test('each domain is reachable from the package root', () => {
  for (const name of ['ConstitutionManager', 'createPolicyStage', 'CedarEngine', 'OpaHttpEngine', 'DecisionCache', 'openJournal', 'verifyJournal', 'createImpactStage', 'loadDefaultTextModel', 'DeliberationService', 'Resilience', 'buildServer', 'loadServerConfig', 'startServer', 'healthStatusOf', 'httpStatusOf']) {
    assert.equal(typeof (api as Record<string, unknown>)[name], 'function', name);
  }
});
