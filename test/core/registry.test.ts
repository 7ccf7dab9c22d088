import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentBus, ErrorCode, InMemoryAgentRegistry, isBusError, RejectionCode } from '../../src/index.js';
import { CORE_ONLY, assertDelivered, assertRejected, makeBus, manualClock, msg, register } from '../helpers/core.js';

const invalidAgent = (e: unknown) => isBusError(e) && e.code === ErrorCode.INVALID_AGENT;

describe('registry through the bus', () => {
  it('registerAgent returns the record with defaults; getAgent finds it', async (t) => {
    const clock = manualClock(1_000);
    const bus = await makeBus(t, { clock: clock.now });
    const rec = await bus.registerAgent({ agentId: 'planner', tenantId: 'acme' });
    assert.equal(rec.agentId, 'planner');
    assert.equal(rec.tenantId, 'acme');
    assert.equal(rec.agentType, 'default');
    assert.deepEqual(rec.capabilities, []);
    assert.deepEqual(rec.metadata, {});
    assert.equal(rec.registeredAt, 1_000);
    assert.equal(rec.lastSeen, 1_000);
    assert.equal((await bus.getAgent('planner'))?.agentId, 'planner');
    assert.equal(await bus.getAgent('nobody'), undefined);
    assert.equal(bus.metrics().agents, 1);
  });

  it('re-registering updates type, capabilities and metadata, keeps registeredAt, refreshes lastSeen', async (t) => {
    const clock = manualClock(1_000);
    const bus = await makeBus(t, { clock: clock.now });
    await bus.registerAgent({ agentId: 'w', tenantId: 'acme', agentType: 'tool', capabilities: ['x'], metadata: { v: 1 } });
    clock.advance(500);
    const rec = await bus.registerAgent({ agentId: 'w', tenantId: 'acme', agentType: 'llm', capabilities: ['y', 'y', 'z'], metadata: { v: 2 } });
    assert.equal(rec.registeredAt, 1_000);
    assert.equal(rec.lastSeen, 1_500);
    assert.equal(rec.agentType, 'llm');
    assert.deepEqual(rec.capabilities, ['y', 'z'], 'duplicate capabilities collapse');
    assert.deepEqual(rec.metadata, { v: 2 });
    assert.equal(bus.metrics().agents, 1);
    assert.deepEqual(await bus.listAgents({ capability: 'x' }), []);
    assert.deepEqual((await bus.listAgents({ capability: 'z' })).map((a) => a.agentId), ['w']);
    assert.deepEqual(await bus.listAgents({ agentType: 'tool' }), []);
    assert.equal(bus.metrics().registry.registrations, 2);
  });

  it('re-registering keeps the inbox', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    await bus.send(msg('a', 'b', { messageId: 'kept' }));
    await bus.registerAgent({ agentId: 'b', tenantId: 'acme', capabilities: ['new'] });
    assert.equal((await bus.receive('b'))?.messageId, 'kept');
  });

  it('unregisterAgent removes the agent; a second unregister returns false', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    assert.equal(await bus.unregisterAgent('b'), true);
    assert.equal(await bus.unregisterAgent('b'), false);
    assert.equal(await bus.unregisterAgent('never'), false);
    assert.equal(await bus.getAgent('b'), undefined);
    assertRejected(await bus.send(msg('a', 'b')), RejectionCode.UNKNOWN_RECIPIENT);
    assert.equal(bus.metrics().registry.unregistrations, 1);
  });

  it('listAgents filters by tenant, type and capability, alone and combined', async (t) => {
    const bus = await makeBus(t);
    await register(
      bus,
      { agentId: 'a1', tenantId: 'acme', agentType: 'llm', capabilities: ['chat'] },
      { agentId: 'a2', tenantId: 'acme', agentType: 'tool', capabilities: ['chat', 'search'] },
      { agentId: 'a3', tenantId: 'acme', agentType: 'llm' },
      { agentId: 'g1', tenantId: 'globex', agentType: 'llm', capabilities: ['chat'] },
    );
    const ids = async (q: Parameters<AgentBus['listAgents']>[0]) => (await bus.listAgents(q)).map((a) => a.agentId).sort();
    assert.deepEqual(await ids({}), ['a1', 'a2', 'a3', 'g1']);
    assert.deepEqual(await ids({ tenantId: 'acme' }), ['a1', 'a2', 'a3']);
    assert.deepEqual(await ids({ tenantId: 'GLOBEX' }), ['g1']);
    assert.deepEqual(await ids({ tenantId: 'nobody-here' }), []);
    assert.deepEqual(await ids({ tenantId: 'x' }), [], 'an invalid tenant id lists nothing');
    assert.deepEqual(await ids({ agentType: 'llm' }), ['a1', 'a3', 'g1']);
    assert.deepEqual(await ids({ capability: 'chat' }), ['a1', 'a2', 'g1']);
    assert.deepEqual(await ids({ tenantId: 'acme', agentType: 'llm' }), ['a1', 'a3']);
    assert.deepEqual(await ids({ tenantId: 'acme', capability: 'chat' }), ['a1', 'a2']);
    assert.deepEqual(await ids({ tenantId: 'acme', capability: 'chat', agentType: 'tool' }), ['a2']);
    assert.deepEqual(await ids({ agentType: 'llm', capability: 'chat' }), ['a1', 'g1']);
  });

  it('listAgents stays correct through many re-registrations and removals (index compaction)', async (t) => {
    const bus = await makeBus(t);
    for (let i = 0; i < 50; i++) await register(bus, { agentId: `w${i}`, tenantId: 'acme', agentType: 'worker', capabilities: ['c'] });
    for (let i = 0; i < 50; i += 2) await bus.unregisterAgent(`w${i}`);
    for (let i = 1; i < 50; i += 4) await register(bus, { agentId: `w${i}`, tenantId: 'acme', agentType: 'other', capabilities: ['d'] });
    const workers = (await bus.listAgents({ tenantId: 'acme', agentType: 'worker' })).map((a) => a.agentId);
    const withC = (await bus.listAgents({ tenantId: 'acme', capability: 'c' })).map((a) => a.agentId);
    const expected = Array.from({ length: 50 }, (_, i) => i).filter((i) => i % 2 === 1 && (i - 1) % 4 !== 0).map((i) => `w${i}`);
    assert.deepEqual(workers.sort(), expected.sort());
    assert.deepEqual(withC.sort(), expected.sort());
    assert.equal(new Set(workers).size, workers.length, 'no agent listed twice');
  });

  it('heartbeat refreshes lastSeen; unknown agents give undefined', async (t) => {
    const clock = manualClock(1_000);
    const bus = await makeBus(t, { clock: clock.now });
    await register(bus, 'a');
    clock.advance(250);
    assert.equal((await bus.heartbeat('a'))?.lastSeen, 1_250);
    assert.equal((await bus.getAgent('a'))?.lastSeen, 1_250);
    assert.equal(await bus.heartbeat('ghost'), undefined);
  });

  describe('invalid registrations throw BusError INVALID_AGENT', () => {
    const cases: Array<[string, unknown]> = [
      ['not an object', 'agent-1'],
      ['null', null],
      ['no agentId', { tenantId: 'acme' }],
      ['an empty agentId', { agentId: '', tenantId: 'acme' }],
      ['an agentId with a space', { agentId: 'a b', tenantId: 'acme' }],
      ['an agentId too long', { agentId: 'a'.repeat(129), tenantId: 'acme' }],
      ['a numeric agentId', { agentId: 12, tenantId: 'acme' }],
      ['no tenantId', { agentId: 'a' }],
      ['a bad tenantId', { agentId: 'a', tenantId: 'a!' }],
      ['a short tenantId', { agentId: 'a', tenantId: 'ab' }],
      ['an agentType with a space', { agentId: 'a', tenantId: 'acme', agentType: 'big model' }],
      ['an empty agentType', { agentId: 'a', tenantId: 'acme', agentType: '' }],
      ['capabilities not an array', { agentId: 'a', tenantId: 'acme', capabilities: 'chat' }],
      ['a capability with a space', { agentId: 'a', tenantId: 'acme', capabilities: ['c d'] }],
      ['a non-string capability', { agentId: 'a', tenantId: 'acme', capabilities: [1] }],
      ['too many capabilities', { agentId: 'a', tenantId: 'acme', capabilities: Array.from({ length: 65 }, (_, i) => `c${i}`) }],
      ['metadata an array', { agentId: 'a', tenantId: 'acme', metadata: [] }],
      ['metadata null', { agentId: 'a', tenantId: 'acme', metadata: null }],
      ['metadata with a function', { agentId: 'a', tenantId: 'acme', metadata: { f: () => 1 } }],
      ['metadata with a Date', { agentId: 'a', tenantId: 'acme', metadata: { d: new Date() } }],
      ['metadata too deep', { agentId: 'a', tenantId: 'acme', metadata: JSON.parse('{"a":'.repeat(17) + '1' + '}'.repeat(17)) }],
      ['metadata too large', { agentId: 'a', tenantId: 'acme', metadata: { s: 'x'.repeat(65 * 1024) } }],
    ];
    for (const [name, registration] of cases) {
      it(name, async (t) => {
        const bus = await makeBus(t);
        await assert.rejects(bus.registerAgent(registration as never), invalidAgent);
        assert.equal(bus.metrics().agents, 0);
      });
    }
  });

  it('maxAgents evicts the stalest agent; one that sent or heartbeated recently survives', async (t) => {
    const clock = manualClock(1_000);
    const bus = await makeBus(t, { clock: clock.now, maxAgents: 3 });
    await register(bus, 'old', 'sender', 'beater');
    clock.advance(10);
    await register(bus, 'x');
    // 'old' was the stalest.
    assert.equal(await bus.getAgent('old'), undefined);
    clock.advance(10);
    assertDelivered(await bus.send(msg('sender', 'x')));
    clock.advance(10);
    await bus.heartbeat('beater');
    clock.advance(10);
    await register(bus, 'y');
    // 'sender' and 'beater' were seen after 'x' registered: 'x' goes.
    assert.deepEqual((await bus.listAgents({})).map((a) => a.agentId).sort(), ['beater', 'sender', 'y']);
    assert.equal(bus.metrics().registry.evictions, 2);
    assert.equal(bus.metrics().agents, 3);
  });

  it('eviction behaves like unregistering: the inbox is discarded and the agent is unknown', async (t) => {
    const clock = manualClock(1_000);
    const bus = await makeBus(t, { clock: clock.now, maxAgents: 2 });
    await register(bus, 'a', 'b');
    assertDelivered(await bus.send(msg('a', 'b')));
    clock.advance(5);
    await bus.heartbeat('a');
    clock.advance(5);
    await register(bus, 'c');
    assert.equal(await bus.getAgent('b'), undefined);
    assert.equal(bus.pending('b'), 0);
    assertRejected(await bus.send(msg('a', 'b')), RejectionCode.UNKNOWN_RECIPIENT);
  });

  it('re-registering an existing agent at the limit evicts nobody', async (t) => {
    const bus = await makeBus(t, { maxAgents: 2 });
    await register(bus, 'a', 'b');
    await bus.registerAgent({ agentId: 'a', tenantId: 'acme', capabilities: ['z'] });
    assert.equal(bus.metrics().agents, 2);
    assert.equal(bus.metrics().registry.evictions, 0);
  });
});

describe('InMemoryAgentRegistry', () => {
  it("whenFull 'refuse' throws REGISTRY_FULL and keeps everyone", async () => {
    const registry = new InMemoryAgentRegistry({ maxAgents: 2, whenFull: 'refuse' });
    await registry.register({ agentId: 'a', tenantId: 'acme' });
    await registry.register({ agentId: 'b', tenantId: 'acme' });
    await assert.rejects(registry.register({ agentId: 'c', tenantId: 'acme' }), (e) => isBusError(e) && e.code === ErrorCode.REGISTRY_FULL);
    assert.equal(registry.size, 2);
    await registry.register({ agentId: 'a', tenantId: 'acme', agentType: 'updated' });
    assert.equal((await registry.get('a'))?.agentType, 'updated', 're-registering at the limit is allowed');
    await registry.unregister('b');
    await registry.register({ agentId: 'c', tenantId: 'acme' });
    assert.equal(registry.size, 2);
  });

  it('a bus can use a provided registry', async (t) => {
    const registry = new InMemoryAgentRegistry({ maxAgents: 1, whenFull: 'refuse' });
    const bus = await makeBus(t, { registry });
    assert.equal(bus.registry, registry);
    await register(bus, 'a');
    await assert.rejects(bus.registerAgent({ agentId: 'b', tenantId: 'acme' }), (e) => isBusError(e) && e.code === ErrorCode.REGISTRY_FULL);
  });

  it('invalid maxAgents throws INVALID_OPTIONS', () => {
    for (const maxAgents of [-1, 1.5, Number.NaN]) {
      assert.throws(() => new InMemoryAgentRegistry({ maxAgents }), (e) => isBusError(e) && e.code === ErrorCode.INVALID_OPTIONS);
    }
  });

  it('onRemove listeners hear unregistrations and evictions; a throwing listener does not break removal', async () => {
    const clock = manualClock(0);
    const registry = new InMemoryAgentRegistry({ maxAgents: 1, clock: clock.now });
    const heard: string[] = [];
    registry.onRemove(() => {
      throw new Error('listener bug');
    });
    registry.onRemove((id, reason) => heard.push(`${id}:${reason}`));
    await registry.register({ agentId: 'a', tenantId: 'acme' });
    clock.advance(1);
    await registry.register({ agentId: 'b', tenantId: 'acme' });
    await registry.unregister('b');
    assert.deepEqual(heard, ['a:evicted', 'b:unregistered']);
    assert.equal(registry.size, 0);
    assert.deepEqual(registry.stats(), { agents: 0, tenants: 0, registrations: 2, unregistrations: 1, evictions: 1 });
  });

  it('pickByCapabilities is round-robin, honours exclude, and needs every capability', async () => {
    const registry = new InMemoryAgentRegistry();
    for (const id of ['p', 'q', 'r']) registry.registerSync({ agentId: id, tenantId: 'acme', capabilities: ['x', id === 'r' ? 'y' : 'x'] });
    const picks = Array.from({ length: 6 }, () => registry.pickByCapabilities('acme', ['x'], 'q')?.agentId);
    assert.deepEqual(picks, ['p', 'r', 'p', 'r', 'p', 'r']);
    assert.equal(registry.pickByCapabilities('acme', ['x', 'y'], undefined)?.agentId, 'r');
    assert.equal(registry.pickByCapabilities('acme', ['x', 'y'], 'r'), undefined);
    assert.equal(registry.pickByCapabilities('acme', [], undefined), undefined);
    assert.equal(registry.pickByCapabilities('globex', ['x'], undefined), undefined);
  });

  it('tenantAgents lists one tenant only', () => {
    const registry = new InMemoryAgentRegistry();
    registry.registerSync({ agentId: 'a', tenantId: 'acme', agentType: 't' });
    registry.registerSync({ agentId: 'g', tenantId: 'globex', agentType: 't' });
    assert.deepEqual([...registry.tenantAgents('acme')].map((a) => a.agentId), ['a']);
    assert.deepEqual([...registry.tenantAgents('acme', { agentType: 't' })].map((a) => a.agentId), ['a']);
    assert.deepEqual([...registry.tenantAgents('nobody')], []);
  });

  it('is usable without a bus started (management calls do not need start())', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.registerAgent({ agentId: 'a', tenantId: 'acme' });
    assert.equal((await bus.listAgents({ tenantId: 'acme' })).length, 1);
    await bus.stop();
  });
});
