// Regression (fixed; was in src): a held message cannot be released. hold() in src/bus.ts records the messageId in the
// duplicate window (`this.seen.add` in hold()), and release() -> dispatch() / deliverBroadcast()
// calls `this.seen.add` again, which returns false, so release() refuses the approved message with
// DUPLICATE. Expected: release() delivers it (the id was only held, never delivered).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hold, type AgentMessage, type HoldHandler } from '../../src/index.js';
import { assertDelivered, makeBus, msg, recorder, register } from '../helpers/core.js';

describe('release of a held message', () => {
  for (const mode of ['send', 'broadcast'] as const) {
    it(`bus.release(message, '${mode}') delivers a message that was held`, async (t) => {
      const held: AgentMessage[] = [];
      const deliberation: HoldHandler = { hold: ({ message }) => (held.push(message), { deliberationId: 'd1' }) };
      let holdIt = true;
      const bus = await makeBus(t, { deliberation, stages: [{ name: 'impact', evaluate: () => (holdIt ? hold('review') : { kind: 'proceed' }) }] });
      await register(bus, 'a', 'b');
      const rec = recorder();
      bus.subscribe('b', rec.handler);
      const r = mode === 'send' ? await bus.send(msg('a', 'b')) : await bus.broadcast(msg('a', undefined));
      assert.equal(r.status, 'held');
      assert.equal(rec.seen.length, 0);
      holdIt = false;
      const released = await bus.release(held[0]!, mode);
      assertDelivered(released, ['b']);
      assert.equal(rec.seen.length, 1);
    });
  }
});
