import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = new URL('../../', import.meta.url);

test('the quickstart example runs and shows delivery, refusals and request/reply', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/quickstart.ts'], { cwd: root, timeout: 30_000 });
  const lines = stdout.trim().split('\n');
  assert.match(lines[0]!, /^delivered \[ 'summariser' \] \{ summary: 'summary of q3-report.pdf' \}$/);
  assert.equal(lines[1], 'rejected CONTENT_BLOCKED');
  assert.equal(lines[2], 'rejected CONSTITUTIONAL_HASH_MISMATCH');
});

test('the README shows the quickstart example verbatim, so it cannot rot', () => {
  const readme = readFileSync(new URL('README.md', root), 'utf8');
  const example = readFileSync(new URL('examples/quickstart.ts', root), 'utf8');
  const body = example.split('\n').filter((l) => !l.startsWith('//')).join('\n').trim();
  assert.ok(readme.includes(body), 'README.md must contain examples/quickstart.ts (without its leading comments)');
});
