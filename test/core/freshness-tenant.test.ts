import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeTenantId, PROCEED, RejectionCode } from '../../src/index.js';
import { assertDelivered, assertRejected, makeBus, manualClock, msg, recorder, register } from '../helpers/core.js';

describe('freshness stage: EXPIRED', () => {
  it('refuses a message whose expiresAt is in the past or now; accepts one in the future', async (t) => {
    const clock = manualClock(1_000_000);
    const bus = await makeBus(t, { clock: clock.now });
    await register(bus, 'a', 'b');
    const past = await bus.send(msg('a', 'b', { expiresAt: 999_999 }));
    assertRejected(past, RejectionCode.EXPIRED);
    assert.match(past.reason!, /1970-01-01T00:16:39\.999Z/);
    assertRejected(await bus.send(msg('a', 'b', { expiresAt: 1_000_000 })), RejectionCode.EXPIRED);
    assertRejected(await bus.send(msg('a', 'b', { expiresAt: 0 })), RejectionCode.EXPIRED);
    assertDelivered(await bus.send(msg('a', 'b', { expiresAt: 1_000_001 })));
  });

  it('uses the bus clock: a message valid now expires when the clock passes expiresAt', async (t) => {
    const clock = manualClock(5_000);
    const bus = await makeBus(t, { clock: clock.now });
    await register(bus, 'a', 'b');
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'm-1', expiresAt: 6_000 })));
    clock.advance(1_000);
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'm-2', expiresAt: 6_000 })), RejectionCode.EXPIRED);
  });

  it('an expired message is refused before the registry is consulted', async (t) => {
    const bus = await makeBus(t);
    assertRejected(await bus.send(msg('ghost', 'b', { expiresAt: 1 })), RejectionCode.EXPIRED);
  });
});

describe('freshness stage: DUPLICATE', () => {
  it('refuses a caller-set messageId sent again', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', 'c');
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'order-17' })));
    const again = await bus.send(msg('a', 'b', { messageId: 'order-17' }));
    assertRejected(again, RejectionCode.DUPLICATE);
    assert.equal(again.messageId, 'order-17');
    // Same id, different route or content: still a duplicate.
    assertRejected(await bus.send(msg('a', 'c', { messageId: 'order-17', content: { other: 1 } })), RejectionCode.DUPLICATE);
    assertRejected(await bus.broadcast(msg('a', undefined, { messageId: 'order-17' })), RejectionCode.DUPLICATE);
    assertRejected(await bus.request(msg('a', 'b', { messageId: 'order-17' }), { timeoutMs: 5 }), RejectionCode.DUPLICATE);
    assert.equal(bus.metrics().byCode.DUPLICATE, 4);
  });

  it('a caller may reuse an id the bus generated: that is a duplicate too', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const first = await bus.send(msg('a', 'b'));
    assertDelivered(first);
    assertRejected(await bus.send(msg('a', 'b', { messageId: first.messageId })), RejectionCode.DUPLICATE);
  });

  it('a broadcast id is remembered too', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    assertDelivered(await bus.broadcast(msg('a', undefined, { messageId: 'bc-1' })));
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'bc-1' })), RejectionCode.DUPLICATE);
  });

  it('a retry after BACKPRESSURE is not a duplicate', async (t) => {
    const bus = await makeBus(t, { inboxCapacity: 1 });
    await register(bus, 'a', 'b');
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'first' })));
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'retry-me' })), RejectionCode.BACKPRESSURE);
    assert.equal((await bus.receive('b'))?.messageId, 'first');
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'retry-me' })));
    assert.equal((await bus.receive('b'))?.messageId, 'retry-me');
  });

  it('a retry after UNKNOWN_RECIPIENT, NO_ROUTE, TENANT_MISMATCH, UNKNOWN_SENDER or CONTENT_BLOCKED is not a duplicate', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', { agentId: 'other', tenantId: 'globex' });
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'r1' })), RejectionCode.UNKNOWN_RECIPIENT);
    assertRejected(await bus.send(msg('a', undefined, { messageId: 'r1', requiredCapabilities: ['x'] })), RejectionCode.NO_ROUTE);
    assertRejected(await bus.send(msg('a', 'other', { messageId: 'r1' })), RejectionCode.TENANT_MISMATCH);
    assertRejected(await bus.send(msg('late', 'a', { messageId: 'r1' })), RejectionCode.UNKNOWN_SENDER);
    assertRejected(await bus.send(msg('a', 'a', { messageId: 'r1', content: { t: '<script>' } })), RejectionCode.CONTENT_BLOCKED);
    await register(bus, 'b');
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'r1' })));
  });

  it('a retry after a refusing user stage or a fail-closed hold is not a duplicate', async (t) => {
    let refuse = true;
    const bus = await makeBus(t, {
      stages: [{ name: 'gate', evaluate: () => (refuse ? { kind: 'reject', code: RejectionCode.POLICY_DENIED, reason: 'no', details: undefined } : { kind: 'proceed' }) }],
    });
    await register(bus, 'a', 'b');
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'g1' })), RejectionCode.POLICY_DENIED);
    refuse = false;
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'g1' })));
  });

  it('two concurrent sends of one caller-set id through an async stage: exactly one is delivered', async (t) => {
    const bus = await makeBus(t, { stages: [{ name: 'async-check', evaluate: async () => PROCEED }] });
    await register(bus, 'a', 'b');
    const results = await Promise.all([bus.send(msg('a', 'b', { messageId: 'race' })), bus.send(msg('a', 'b', { messageId: 'race' })), bus.broadcast(msg('a', undefined, { messageId: 'race' }))]);
    assert.deepEqual(results.map((r) => r.code ?? 'delivered').sort(), ['DUPLICATE', 'DUPLICATE', 'delivered']);
    assert.equal(bus.pending('b'), 1);
  });

  it('generated ids never collide (5,000 sends without messageId all delivered, all distinct)', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const ids = new Set<string>();
    const results = await Promise.all(Array.from({ length: 5_000 }, () => bus.send(msg('a', 'b'))));
    for (const r of results) {
      assertDelivered(r);
      ids.add(r.messageId);
    }
    assert.equal(ids.size, 5_000);
    assert.equal(bus.pending('b'), 5_000);
    assert.equal(bus.metrics().byCode.DUPLICATE, undefined);
  });

  it('the duplicate window is bounded: an id pushed out by capacity is accepted again', async (t) => {
    const bus = await makeBus(t, { duplicateWindow: { capacity: 4, windowMs: 60_000 } });
    await register(bus, 'a', 'b');
    for (let i = 0; i < 10; i++) assertDelivered(await bus.send(msg('a', 'b', { messageId: `w${i}` })));
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'w9' })), RejectionCode.DUPLICATE);
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'w0' })), ['b']);
    const dw = bus.metrics().duplicateWindow;
    assert.ok(dw.size <= 4, `window holds ${dw.size} ids`);
    assert.ok(dw.evictedEarly > 0);
  });

  it('ids are forgotten after the window passes', async (t) => {
    const clock = manualClock(0);
    const bus = await makeBus(t, { clock: clock.now, duplicateWindow: { windowMs: 1_000 } });
    await register(bus, 'a', 'b');
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'old' })));
    clock.advance(600);
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'old' })), RejectionCode.DUPLICATE);
    clock.advance(600);
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'filler-1' })));
    clock.advance(600);
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'filler-2' })));
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'old' })));
  });
});

describe('tenant stage: UNKNOWN_SENDER, UNKNOWN_RECIPIENT, TENANT_MISMATCH', () => {
  it('refuses an unregistered sender', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'b');
    const r = await bus.send(msg('ghost', 'b'));
    assertRejected(r, RejectionCode.UNKNOWN_SENDER);
    assert.match(r.reason!, /ghost/);
    assertRejected(await bus.broadcast(msg('ghost', undefined)), RejectionCode.UNKNOWN_SENDER);
  });

  it('refuses a sender that has been unregistered', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    await bus.unregisterAgent('a');
    assertRejected(await bus.send(msg('a', 'b')), RejectionCode.UNKNOWN_SENDER);
  });

  it('refuses an unregistered recipient', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a');
    assertRejected(await bus.send(msg('a', 'nobody')), RejectionCode.UNKNOWN_RECIPIENT);
  });

  it('refuses a sender claiming another tenant than its own', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', { agentId: 'g', tenantId: 'globex' });
    const r = await bus.send(msg('a', 'g', { tenantId: 'globex' }));
    assertRejected(r, RejectionCode.TENANT_MISMATCH);
  });

  it('refuses a recipient of another tenant, without naming that tenant', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', { agentId: 'g', tenantId: 'globex' });
    const rec = recorder();
    bus.subscribe('g', rec.handler);
    const r = await bus.send(msg('a', 'g'));
    assertRejected(r, RejectionCode.TENANT_MISMATCH);
    assert.doesNotMatch(r.reason!, /globex/);
    assert.equal(rec.seen.length, 0);
    assert.equal(bus.pending('g'), 0);
  });

  it('normalises tenants: "  ACME " is "acme" in messages, registrations and queries', async (t) => {
    const bus = await makeBus(t);
    const rec = await bus.registerAgent({ agentId: 'a', tenantId: '  ACME ' });
    assert.equal(rec.tenantId, 'acme');
    await register(bus, { agentId: 'b', tenantId: 'Acme' });
    const inbox = recorder();
    bus.subscribe('b', inbox.handler);
    assertDelivered(await bus.send(msg('a', 'b', { tenantId: '  ACME ' })), ['b']);
    assertDelivered(await bus.send(msg('a', 'b', { tenantId: 'AcMe' })), ['b']);
    assert.deepEqual(inbox.seen.map((s) => s.message.tenantId), ['acme', 'acme']);
    assert.deepEqual(inbox.seen.map((s) => s.ctx.tenantId), ['acme', 'acme']);
    assert.deepEqual((await bus.listAgents({ tenantId: ' ACME ' })).map((a) => a.agentId).sort(), ['a', 'b']);
  });

  it('normalizeTenantId: trim, lower-case, pattern', () => {
    assert.equal(normalizeTenantId('  ACME '), 'acme');
    assert.equal(normalizeTenantId('Tenant_01-x'), 'tenant_01-x');
    assert.equal(normalizeTenantId('abc'), 'abc');
    assert.equal(normalizeTenantId('a'.repeat(64)), 'a'.repeat(64));
    for (const bad of ['ab', 'a'.repeat(65), '_abc', '-abc', 'ab c', 'äbc', 'a.bc', '', '   ', 42, null, undefined, {}, ' '.repeat(300) + 'acme']) {
      assert.equal(normalizeTenantId(bad), undefined, JSON.stringify(bad));
    }
  });

  it('lastSeen of the sender is refreshed by a send', async (t) => {
    const clock = manualClock(1_000);
    const bus = await makeBus(t, { clock: clock.now });
    await register(bus, 'a', 'b');
    clock.advance(500);
    assertDelivered(await bus.send(msg('a', 'b')));
    assert.equal((await bus.getAgent('a'))!.lastSeen, 1_500);
    assert.equal((await bus.getAgent('b'))!.lastSeen, 1_000);
  });
});
