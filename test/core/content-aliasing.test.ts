// Regression (fixed; was a design gap in src/message/validate.ts MessageBuilder.build): the accepted AgentMessage keeps
// references to the caller's content/payload/metadata objects (no copy, no freeze). A sender that
// changes its object after send() resolved changes what a pull recipient (or a queued push
// delivery, or the journal's `message`) later sees: content that never passed the screen is
// delivered. Expected: what is delivered is what was governed (copy or deep-freeze on acceptance).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeBus, msg, register } from '../helpers/core.js';

describe('content aliasing', () => {
  it('a sender cannot change a message after it was screened', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const content = { text: 'hello' };
    assert.equal((await bus.send(msg('a', 'b', { content }))).ok, true);
    content.text = '<script>steal(document.cookie)</script>';
    const got = await bus.receive('b');
    assert.deepEqual(got?.content, { text: 'hello' });
  });
});
