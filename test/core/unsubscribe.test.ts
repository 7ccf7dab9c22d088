// Regression (fixed; was in src/delivery/mailbox.ts): a push delivery queued while the handler is busy keeps the
// sender's `settle` callback (offer(): `new Delivery(message, this.handler === undefined ? undefined : settle)`).
// If the subscriber then unsubscribes, the queued message is later taken by pull receive()
// (take() -> next() returns delivery.message and never calls delivery.settle), so a sender that
// used `awaitDelivery: true` waits forever (until the agent is unregistered).
// Expected: the awaited send resolves (delivered to the inbox/receiver) once the message is handed over.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deferred, makeBus, msg, register, settledWithin, tick } from '../helpers/core.js';

describe('awaitDelivery across unsubscribe', () => {
  it('a send awaiting delivery settles when its queued message is pulled after the subscriber left', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const gate = deferred();
    const off = bus.subscribe('b', () => gate.promise);
    const first = bus.send(msg('a', 'b', { messageId: 'busy' }), { awaitDelivery: true });
    const queued = bus.send(msg('a', 'b', { messageId: 'queued' }), { awaitDelivery: true });
    await tick();
    off();
    gate.resolve();
    await first;
    assert.equal((await bus.receive('b'))?.messageId, 'queued');
    const r = await settledWithin(queued, 200);
    assert.notEqual(r, 'pending', 'the awaited send never settles');
  });
});
