import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RejectionCode, type AgentBus } from '../../src/index.js';
import { assertDelivered, assertRejected, makeBus, msg, recorder, register, sleep } from '../helpers/core.js';

async function drain(bus: AgentBus, agentId: string): Promise<string[]> {
  const out: string[] = [];
  for (let m = await bus.receive(agentId); m !== null; m = await bus.receive(agentId)) out.push(m.messageId);
  return out;
}

describe('direct and capability routing; NO_ROUTE', () => {
  it('a direct message goes to toAgent only', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', 'c');
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'd1' })), ['b']);
    assert.deepEqual(await drain(bus, 'b'), ['d1']);
    assert.deepEqual(await drain(bus, 'c'), []);
  });

  it('an agent may message itself', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a');
    assertDelivered(await bus.send(msg('a', 'a')), ['a']);
    assert.equal(bus.pending('a'), 1);
  });

  it('NO_ROUTE without toAgent and without requiredCapabilities (or an empty list)', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    assertRejected(await bus.send(msg('a', undefined)), RejectionCode.NO_ROUTE);
    assertRejected(await bus.send(msg('a', undefined, { requiredCapabilities: [] })), RejectionCode.NO_ROUTE);
  });

  it('NO_ROUTE when no agent of the tenant has all the capabilities', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', { agentId: 'sum', tenantId: 'acme', capabilities: ['summarise'] }, { agentId: 'tr', tenantId: 'acme', capabilities: ['translate'] });
    await register(bus, { agentId: 'both-elsewhere', tenantId: 'globex', capabilities: ['summarise', 'translate'] });
    const r = await bus.send(msg('a', undefined, { requiredCapabilities: ['summarise', 'translate'] }));
    assertRejected(r, RejectionCode.NO_ROUTE);
    assert.doesNotMatch(r.reason!, /globex|both-elsewhere/);
    assertRejected(await bus.send(msg('a', undefined, { requiredCapabilities: ['unheard-of'] })), RejectionCode.NO_ROUTE);
  });

  it('NO_ROUTE when the only capable agent is the sender', async (t) => {
    const bus = await makeBus(t);
    await register(bus, { agentId: 'solo', tenantId: 'acme', capabilities: ['x'] });
    assertRejected(await bus.send(msg('solo', undefined, { requiredCapabilities: ['x'] })), RejectionCode.NO_ROUTE);
  });

  it('capability routing chooses an agent having all capabilities, round-robin, sender excluded', async (t) => {
    const bus = await makeBus(t);
    await register(
      bus,
      { agentId: 'w1', tenantId: 'acme', capabilities: ['x', 'y'] },
      { agentId: 'w2', tenantId: 'acme', capabilities: ['x'] },
      { agentId: 'w3', tenantId: 'acme', capabilities: ['y', 'x', 'z'] },
      { agentId: 'w4', tenantId: 'acme', capabilities: ['x', 'y'] },
    );
    const chosen: string[] = [];
    for (let i = 0; i < 9; i++) {
      const r = await bus.send(msg('w1', undefined, { requiredCapabilities: ['x', 'y'] }));
      assertDelivered(r);
      chosen.push(r.recipients[0]!);
    }
    assert.ok(!chosen.includes('w1'), 'the sender is excluded');
    assert.ok(!chosen.includes('w2'), 'an agent lacking a capability is never chosen');
    assert.deepEqual(new Set(chosen), new Set(['w3', 'w4']));
    for (let i = 1; i < chosen.length; i++) assert.notEqual(chosen[i], chosen[i - 1], `round-robin alternates: ${chosen.join(',')}`);
    assert.equal(chosen.filter((c) => c === 'w3').length + chosen.filter((c) => c === 'w4').length, 9);
  });

  it('round-robin is even among 3 matches with a single capability', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', ...['p', 'q', 'r'].map((agentId) => ({ agentId, tenantId: 'acme', capabilities: ['work'] })));
    const counts = new Map<string, number>();
    for (let i = 0; i < 30; i++) {
      const r = await bus.send(msg('a', undefined, { requiredCapabilities: ['work'] }));
      counts.set(r.recipients[0]!, (counts.get(r.recipients[0]!) ?? 0) + 1);
    }
    assert.deepEqual(Object.fromEntries(counts), { p: 10, q: 10, r: 10 });
  });

  it('capability routing never leaves the tenant', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', { agentId: 'local', tenantId: 'acme', capabilities: ['x'] });
    for (let i = 0; i < 5; i++) await register(bus, { agentId: `g${i}`, tenantId: 'globex', capabilities: ['x'] });
    for (let i = 0; i < 10; i++) assertDelivered(await bus.send(msg('a', undefined, { requiredCapabilities: ['x'] })), ['local']);
  });

  it('an unregistered agent is no longer chosen; a re-registered one without the capability neither', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', ...['p', 'q'].map((agentId) => ({ agentId, tenantId: 'acme', capabilities: ['work'] })));
    await bus.unregisterAgent('p');
    for (let i = 0; i < 4; i++) assertDelivered(await bus.send(msg('a', undefined, { requiredCapabilities: ['work'] })), ['q']);
    await bus.registerAgent({ agentId: 'q', tenantId: 'acme', capabilities: ['rest'] });
    assertRejected(await bus.send(msg('a', undefined, { requiredCapabilities: ['work'] })), RejectionCode.NO_ROUTE);
    await bus.registerAgent({ agentId: 'p', tenantId: 'acme', capabilities: ['work'] });
    assertDelivered(await bus.send(msg('a', undefined, { requiredCapabilities: ['work'] })), ['p']);
  });

  it('toAgent wins over requiredCapabilities', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', { agentId: 'cap', tenantId: 'acme', capabilities: ['x'] });
    assertDelivered(await bus.send(msg('a', 'b', { requiredCapabilities: ['x'] })), ['b']);
  });
});

describe('broadcast', () => {
  it('reaches every agent of the tenant except the sender; other tenants untouched', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', 'c', 'd', { agentId: 'g1', tenantId: 'globex' }, { agentId: 'g2', tenantId: 'globex' });
    const recs = Object.fromEntries(['a', 'b', 'c', 'd', 'g1', 'g2'].map((id) => [id, recorder()]));
    for (const [id, rec] of Object.entries(recs)) bus.subscribe(id, rec.handler);
    const r = await bus.broadcast(msg('a', undefined, { messageType: 'event' }));
    assertDelivered(r, ['b', 'c', 'd']);
    assert.equal(r.lane, 'fast');
    for (const id of ['b', 'c', 'd']) {
      assert.equal(recs[id]!.seen.length, 1, id);
      assert.equal(recs[id]!.seen[0]!.message.messageId, r.messageId);
      assert.equal(recs[id]!.seen[0]!.ctx.agentId, id);
    }
    for (const id of ['a', 'g1', 'g2']) assert.equal(recs[id]!.seen.length, 0, id);
    assert.equal(bus.metrics().recipientDeliveries, 3);
  });

  it('filters by agentType, by capability, by both, and by requiredCapabilities', async (t) => {
    const bus = await makeBus(t);
    await register(
      bus,
      'a',
      { agentId: 'l1', tenantId: 'acme', agentType: 'llm', capabilities: ['chat'] },
      { agentId: 'l2', tenantId: 'acme', agentType: 'llm', capabilities: ['chat', 'code'] },
      { agentId: 't1', tenantId: 'acme', agentType: 'tool', capabilities: ['code'] },
      { agentId: 'gl', tenantId: 'globex', agentType: 'llm', capabilities: ['chat', 'code'] },
    );
    assertDelivered(await bus.broadcast(msg('a', undefined), { agentType: 'llm' }), ['l1', 'l2']);
    assertDelivered(await bus.broadcast(msg('a', undefined), { capability: 'code' }), ['l2', 't1']);
    assertDelivered(await bus.broadcast(msg('a', undefined), { agentType: 'llm', capability: 'code' }), ['l2']);
    assertDelivered(await bus.broadcast(msg('a', undefined, { requiredCapabilities: ['chat', 'code'] })), ['l2']);
    assertDelivered(await bus.broadcast(msg('a', undefined), { agentType: 'nobody' }), []);
  });

  it('the sender is excluded even when it matches the filter', async (t) => {
    const bus = await makeBus(t);
    await register(bus, { agentId: 'l1', tenantId: 'acme', agentType: 'llm' }, { agentId: 'l2', tenantId: 'acme', agentType: 'llm' });
    assertDelivered(await bus.broadcast(msg('l1', undefined), { agentType: 'llm' }), ['l2']);
  });

  it('a broadcast naming toAgent is refused with INVALID_MESSAGE', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const r = await bus.broadcast(msg('a', 'b'));
    assertRejected(r, RejectionCode.INVALID_MESSAGE);
    assert.match(r.reason!, /toAgent/);
    assert.equal(bus.pending('b'), 0);
  });

  it('goes through governance like any message', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    assertRejected(await bus.broadcast(msg('a', undefined, { content: { t: 'jailbreak' } })), RejectionCode.CONTENT_BLOCKED);
    assertRejected(await bus.broadcast(msg('a', undefined, { constitutionalHash: 'x' })), RejectionCode.CONSTITUTIONAL_HASH_MISMATCH);
    assertRejected(await bus.broadcast(msg('a', undefined, { tenantId: 'globex' })), RejectionCode.TENANT_MISMATCH);
    assert.equal(bus.pending('b'), 0);
  });

  it('per-recipient failures are listed; the others are delivered (awaitDelivery)', async (t) => {
    const bus = await makeBus(t, { inboxCapacity: 1, handlerTimeoutMs: 40 });
    await register(bus, 'a', 'ok', 'throws', 'rejects', 'slow', 'full');
    bus.subscribe('ok', () => undefined);
    bus.subscribe('throws', () => {
      throw new Error('sync boom');
    });
    bus.subscribe('rejects', async () => {
      throw new Error('async boom');
    });
    bus.subscribe('slow', () => sleep(150));
    assertDelivered(await bus.send(msg('a', 'full')));
    const r = await bus.broadcast(msg('a', undefined), { awaitDelivery: true });
    assert.equal(r.ok, false);
    assert.equal(r.status, 'delivered');
    assert.deepEqual([...r.recipients].sort(), ['ok', 'rejects', 'slow', 'throws']);
    const failures = Object.fromEntries((r.failures ?? []).map((f) => [f.agentId, f.code]));
    assert.deepEqual(failures, { full: 'BACKPRESSURE', throws: 'HANDLER_FAILED', rejects: 'HANDLER_FAILED', slow: 'TIMEOUT' });
    assert.ok(RejectionCode[r.code!]);
    assert.equal(bus.pending('full'), 1);
  });

  it('without awaitDelivery a full inbox is still listed at once', async (t) => {
    const bus = await makeBus(t, { inboxCapacity: 1 });
    await register(bus, 'a', 'b', 'c');
    await bus.send(msg('a', 'b'));
    const r = await bus.broadcast(msg('a', undefined));
    assert.equal(r.ok, false);
    assert.equal(r.code, RejectionCode.BACKPRESSURE);
    assert.deepEqual(r.recipients, ['c']);
    assert.deepEqual(r.failures?.map((f) => [f.agentId, f.code]), [['b', 'BACKPRESSURE']]);
  });

  it('with awaitDelivery and all handlers fine, ok is true and no failures are listed', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', 'c');
    bus.subscribe('b', async () => sleep(2));
    const r = await bus.broadcast(msg('a', undefined), { awaitDelivery: true });
    assertDelivered(r, ['b', 'c']);
    assert.equal(r.failures, undefined);
  });
});
