import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SERVER_V8_FLAGS, tuneProcessForServer } from '../../src/server/index.js';

describe('tuneProcessForServer', () => {
  it('applies the server V8 flags when the process was not started with them', () => {
    assert.deepEqual(tuneProcessForServer([], ''), [...SERVER_V8_FLAGS]);
    assert.deepEqual(SERVER_V8_FLAGS, ['--no-allocation-site-pretenuring']);
  });

  it('leaves a setting the process was started with alone, however it was spelled', () => {
    for (const [execArgv, nodeOptions] of [
      [['--allocation-site-pretenuring'], ''],
      [['--no-allocation-site-pretenuring'], ''],
      [[], '--max-old-space-size=512 --allocation_site_pretenuring'],
      [['--expose-gc'], '  --no-allocation-site-pretenuring  '],
      [['--noallocation-site-pretenuring'], ''],
      [['--allocation-site-pretenuring=false'], ''],
    ] as const) {
      assert.deepEqual(tuneProcessForServer(execArgv, nodeOptions), [], `${execArgv.join(' ')} | ${nodeOptions}`);
    }
    // Other flags do not count as the same setting.
    assert.deepEqual(tuneProcessForServer(['--expose-gc', '--allocation-site-tracking', '--no-node-snapshot'], '--max-semi-space-size=16'), [...SERVER_V8_FLAGS]);
  });
});
