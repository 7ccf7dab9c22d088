// Regression (fixed; was in src/bus.ts deliverBroadcast): the messageId is added to the duplicate window before the
// mailboxes are offered the message, and never forgotten when every recipient refused it. A
// broadcast that reached nobody (every inbox full: ok false, code BACKPRESSURE, recipients [])
// cannot be retried: the retry is refused as DUPLICATE. dispatch() (direct sends) does call
// `this.seen.forget` on BACKPRESSURE; deliverBroadcast() should too when recipients is empty.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RejectionCode } from '../../src/index.js';
import { assertDelivered, makeBus, msg, register } from '../helpers/core.js';

describe('broadcast retry after BACKPRESSURE', () => {
  it('a broadcast every recipient refused can be retried with the same messageId', async (t) => {
    const bus = await makeBus(t, { inboxCapacity: 1 });
    await register(bus, 'a', 'b');
    await bus.send(msg('a', 'b'));
    const first = await bus.broadcast(msg('a', undefined, { messageId: 'bc-1' }));
    assert.equal(first.code, RejectionCode.BACKPRESSURE);
    assert.deepEqual(first.recipients, []);
    await bus.receive('b');
    assertDelivered(await bus.broadcast(msg('a', undefined, { messageId: 'bc-1' })), ['b']);
  });
});
