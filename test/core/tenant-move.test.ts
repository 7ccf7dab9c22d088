// Regression (fixed; was in src/registry/memory.ts registerSync + src/bus.ts onRemove wiring): re-registering an agent
// under ANOTHER tenant only detach()es the old record; it does not fire the onRemove listeners, so
// the bus keeps the agent's old mailbox (with its push handler and queued messages) and the
// requests it made in the old tenant. Messages of the old tenant then reach an agent that now
// belongs to another tenant:
//   1. queued push deliveries of tenant A are handed to the handler after the agent moved to B;
//   2. a request made in tenant A is completed with a tenant-A reply after the requester moved to B.
// Expected: a tenant change behaves like unregister + register (inbox discarded, pending requests
// failed), or is refused with INVALID_AGENT. Either way no tenant-A message reaches the agent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AgentMessage } from '../../src/index.js';
import { deferred, makeBus, msg, register, sleep, tick } from '../helpers/core.js';

describe('an agent that re-registers under another tenant', () => {
  it('is not handed the queued push messages of its old tenant', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'y');
    const gate = deferred();
    const leaks: string[] = [];
    bus.subscribe('y', async (m: AgentMessage) => {
      const now = (await bus.getAgent('y'))?.tenantId;
      if (now !== m.tenantId) leaks.push(`${m.tenantId} message handled by y of ${now}`);
      await gate.promise;
    });
    await bus.send(msg('a', 'y', { content: { n: 1 } }));
    await bus.send(msg('a', 'y', { content: { n: 2 } }));
    await bus.registerAgent({ agentId: 'y', tenantId: 'globex' });
    gate.resolve();
    await sleep(10);
    assert.deepEqual(leaks, []);
  });

  it('does not get tenant-A replies to a request it made before moving', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'z', 'resp');
    const pending = bus.request(msg('z', 'resp'), { timeoutMs: 100 });
    await tick();
    const req = (await bus.receive('resp'))!;
    await bus.registerAgent({ agentId: 'z', tenantId: 'globex' });
    await bus.send(msg('resp', undefined, { correlationId: req.messageId, content: { acmeData: 1 } }));
    const r = await pending;
    assert.equal(r.reply, undefined, `z (now globex) received an acme reply: ${JSON.stringify(r.reply?.content)}`);
  });
});
