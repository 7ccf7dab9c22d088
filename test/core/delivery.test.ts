import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, isBusError, Priority, RejectionCode, type AgentMessage } from '../../src/index.js';
import { assertDelivered, assertRejected, deferred, makeBus, msg, recorder, register, settledWithin, sleep, tick } from '../helpers/core.js';

const busError = (code: string) => (e: unknown) => isBusError(e) && e.code === code;

describe('push delivery', () => {
  it('a sync handler gets the message and a context naming the recipient', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const rec = recorder();
    bus.subscribe('b', rec.handler);
    const r = await bus.send(msg('a', 'b', { content: { n: 1 } }));
    assertDelivered(r, ['b']);
    assert.equal(rec.seen.length, 1);
    assert.deepEqual(rec.seen[0]!.message.content, { n: 1 });
    const { settle, ...ctx } = rec.seen[0]!.ctx;
    assert.deepEqual(ctx, { agentId: 'b', tenantId: 'acme', redelivered: false });
    assert.equal(typeof settle, 'function');
  });

  it('an async handler gets the message', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const got: string[] = [];
    bus.subscribe('b', async (m) => {
      await sleep(1);
      got.push(m.messageId);
    });
    const r = await bus.send(msg('a', 'b'), { awaitDelivery: true });
    assertDelivered(r);
    assert.deepEqual(got, [r.messageId]);
  });

  it('concurrency 1 (default) handles one message at a time in order', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    let active = 0;
    let maxActive = 0;
    const order: number[] = [];
    bus.subscribe('b', async (m) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await sleep(1);
      order.push(m.content.n as number);
      active--;
    });
    const sends = Array.from({ length: 20 }, (_, n) => bus.send(msg('a', 'b', { content: { n } }), { awaitDelivery: true }));
    for (const r of await Promise.all(sends)) assertDelivered(r);
    assert.equal(maxActive, 1);
    assert.deepEqual(order, Array.from({ length: 20 }, (_, n) => n));
  });

  it('concurrency N runs up to N handlers at once', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    let active = 0;
    let maxActive = 0;
    bus.subscribe(
      'b',
      async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await sleep(5);
        active--;
      },
      { concurrency: 4 },
    );
    await Promise.all(Array.from({ length: 12 }, () => bus.send(msg('a', 'b'), { awaitDelivery: true })));
    assert.equal(maxActive, 4);
  });

  it('invalid concurrency throws INVALID_ARGUMENT; a non-function handler too', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'b');
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => bus.subscribe('b', () => undefined, { concurrency }), busError(ErrorCode.INVALID_ARGUMENT));
    }
    assert.throws(() => bus.subscribe('b', 'nope' as never), busError(ErrorCode.INVALID_ARGUMENT));
  });

  it('subscribe for an unknown agent throws UNKNOWN_AGENT; subscribing twice throws ALREADY_SUBSCRIBED', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'b');
    assert.throws(() => bus.subscribe('ghost', () => undefined), busError(ErrorCode.UNKNOWN_AGENT));
    bus.subscribe('b', () => undefined);
    assert.throws(() => bus.subscribe('b', () => undefined), busError(ErrorCode.ALREADY_SUBSCRIBED));
  });

  it('subscribe after messages were queued drains them to the handler in priority order', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    await bus.send(msg('a', 'b', { messageId: 'low', priority: Priority.LOW }));
    await bus.send(msg('a', 'b', { messageId: 'n1' }));
    await bus.send(msg('a', 'b', { messageId: 'crit', priority: Priority.CRITICAL }));
    await bus.send(msg('a', 'b', { messageId: 'n2' }));
    assert.equal(bus.pending('b'), 4);
    const rec = recorder();
    bus.subscribe('b', rec.handler);
    assert.deepEqual(rec.seen.map((s) => s.message.messageId), ['crit', 'n1', 'n2', 'low']);
    assert.equal(bus.pending('b'), 0);
  });

  it('unsubscribe stops delivery; later messages queue for pull; a new subscription is allowed', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const rec = recorder();
    const off = bus.subscribe('b', rec.handler);
    await bus.send(msg('a', 'b', { messageId: 'm1' }));
    assert.equal(off(), true);
    assert.equal(off(), false, 'unsubscribing twice is a no-op');
    await bus.send(msg('a', 'b', { messageId: 'm2' }));
    assert.deepEqual(rec.seen.map((s) => s.message.messageId), ['m1']);
    assert.equal((await bus.receive('b'))?.messageId, 'm2');
    const rec2 = recorder();
    bus.subscribe('b', rec2.handler);
    await bus.send(msg('a', 'b', { messageId: 'm3' }));
    assert.deepEqual(rec2.seen.map((s) => s.message.messageId), ['m3']);
  });

  it('a queued push message waits while the handler is busy; BACKPRESSURE when the inbox fills', async (t) => {
    const bus = await makeBus(t, { inboxCapacity: 2 });
    await register(bus, 'a', 'b');
    const gate = deferred();
    const got: string[] = [];
    bus.subscribe('b', async (m) => {
      got.push(m.messageId);
      await gate.promise;
    });
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'in-handler' })));
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'q1' })));
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'q2' })));
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'q3' })), RejectionCode.BACKPRESSURE);
    assert.equal(bus.pending('b'), 2);
    gate.resolve();
    await sleep(5);
    assert.deepEqual(got, ['in-handler', 'q1', 'q2']);
  });
});

describe('handler failures: HANDLER_FAILED and TIMEOUT', () => {
  it('awaitDelivery reports a sync throw per recipient; the message still counts as delivered', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    bus.subscribe('b', () => {
      throw new RangeError('bad input');
    });
    const r = await bus.send(msg('a', 'b'), { awaitDelivery: true });
    assert.equal(r.ok, false);
    assert.equal(r.status, 'delivered');
    assert.equal(r.code, RejectionCode.HANDLER_FAILED);
    assert.deepEqual(r.recipients, ['b']);
    assert.equal(r.failures?.length, 1);
    assert.equal(r.failures![0]!.agentId, 'b');
    assert.equal(r.failures![0]!.code, RejectionCode.HANDLER_FAILED);
    assert.match(r.failures![0]!.reason!, /RangeError: bad input/);
  });

  it('awaitDelivery reports an async rejection, including a non-Error value', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    bus.subscribe('b', () => Promise.reject('plain reason'));
    const r = await bus.send(msg('a', 'b'), { awaitDelivery: true });
    assert.equal(r.code, RejectionCode.HANDLER_FAILED);
    assert.match(r.reason!, /plain reason/);
  });

  it('awaitDelivery reports TIMEOUT for an async handler past handlerTimeoutMs, and the next message is handled', async (t) => {
    const bus = await makeBus(t, { handlerTimeoutMs: 30 });
    await register(bus, 'a', 'b');
    const handled: string[] = [];
    bus.subscribe('b', async (m) => {
      handled.push(m.messageId);
      if (m.content.slow === true) await sleep(200);
    });
    const started = Date.now();
    const slow = bus.send(msg('a', 'b', { messageId: 'slow', content: { slow: true } }), { awaitDelivery: true });
    const next = bus.send(msg('a', 'b', { messageId: 'next' }), { awaitDelivery: true });
    const r = await slow;
    assert.equal(r.ok, false);
    assert.equal(r.code, RejectionCode.TIMEOUT);
    assert.equal(r.failures![0]!.code, RejectionCode.TIMEOUT);
    assert.ok(Date.now() - started < 190, 'timed out before the handler finished');
    assertDelivered(await next);
    assert.deepEqual(handled, ['slow', 'next']);
    const m = bus.metrics();
    assert.equal(m.delivery.handlerTimeouts, 1);
    assert.equal(m.byCode.TIMEOUT, 1);
  });

  it('without awaitDelivery the send succeeds and the failure goes to onDeliveryFailure listeners and metrics', async (t) => {
    const bus = await makeBus(t, { handlerTimeoutMs: 20 });
    await register(bus, 'a', 'sync', 'async', 'slow');
    const failures: Array<{ agentId: string; code: string; messageId: string; reason: string }> = [];
    const off = bus.onDeliveryFailure((e) => failures.push({ agentId: e.agentId, code: e.code, messageId: e.message.messageId, reason: e.reason }));
    bus.onDeliveryFailure(() => {
      throw new Error('a faulty listener does not break delivery');
    });
    bus.subscribe('sync', () => {
      throw new Error('s');
    });
    bus.subscribe('async', async () => {
      throw new Error('a');
    });
    bus.subscribe('slow', () => sleep(120));
    assertDelivered(await bus.send(msg('a', 'sync', { messageId: 'm-sync' })));
    assertDelivered(await bus.send(msg('a', 'async', { messageId: 'm-async' })));
    assertDelivered(await bus.send(msg('a', 'slow', { messageId: 'm-slow' })));
    await sleep(80);
    assert.deepEqual(
      failures.map((f) => [f.agentId, f.code, f.messageId]).sort(),
      [['async', 'HANDLER_FAILED', 'm-async'], ['slow', 'TIMEOUT', 'm-slow'], ['sync', 'HANDLER_FAILED', 'm-sync']],
    );
    assert.ok(failures.every((f) => f.reason.length > 0));
    const m = bus.metrics();
    assert.equal(m.deliveryFailures, 3);
    assert.equal(m.byCode.HANDLER_FAILED, 2);
    assert.equal(m.byCode.TIMEOUT, 1);
    assert.equal(m.delivered, 3, 'failures after acceptance do not turn deliveries into rejections');
    assert.equal(m.rejected, 0);
    off();
    await bus.send(msg('a', 'sync'));
    assert.equal(failures.length, 3, 'an unsubscribed listener hears nothing more');
  });

  it('a throwing or slow handler affects only its own delivery', async (t) => {
    const bus = await makeBus(t, { handlerTimeoutMs: 25 });
    await register(bus, 'a', 'good', 'bad', 'slow');
    const good = recorder();
    bus.subscribe('good', good.handler);
    bus.subscribe('bad', () => {
      throw new Error('x');
    });
    bus.subscribe('slow', () => sleep(100));
    const results = await Promise.all([
      bus.send(msg('a', 'bad'), { awaitDelivery: true }),
      bus.send(msg('a', 'slow'), { awaitDelivery: true }),
      bus.send(msg('a', 'good'), { awaitDelivery: true }),
      bus.send(msg('a', 'bad'), { awaitDelivery: true }),
      bus.send(msg('a', 'good'), { awaitDelivery: true }),
    ]);
    assert.deepEqual(results.map((r) => r.code ?? 'ok'), ['HANDLER_FAILED', 'TIMEOUT', 'ok', 'HANDLER_FAILED', 'ok']);
    assert.equal(good.seen.length, 2);
  });
});

describe('pull delivery', () => {
  it('receives in priority order (CRITICAL, HIGH, NORMAL, LOW), FIFO within a priority', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const plan: Array<[string, 0 | 1 | 2 | 3]> = [
      ['low-1', 0], ['norm-1', 1], ['high-1', 2], ['crit-1', 3], ['low-2', 0], ['crit-2', 3], ['norm-2', 1], ['high-2', 2], ['norm-3', 1],
    ];
    for (const [id, priority] of plan) assertDelivered(await bus.send(msg('a', 'b', { messageId: id, priority })));
    assert.equal(bus.pending('b'), plan.length);
    const order: string[] = [];
    for (let m = await bus.receive('b'); m !== null; m = await bus.receive('b')) order.push(m.messageId);
    assert.deepEqual(order, ['crit-1', 'crit-2', 'high-1', 'high-2', 'norm-1', 'norm-2', 'norm-3', 'low-1', 'low-2']);
  });

  it('FIFO holds over many messages (ring growth and wrap-around)', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    let next = 0;
    const got: number[] = [];
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 37; i++) await bus.send(msg('a', 'b', { content: { n: next++ } }));
      for (let i = 0; i < 30; i++) got.push((await bus.receive('b'))!.content.n as number);
    }
    for (let m = await bus.receive('b'); m !== null; m = await bus.receive('b')) got.push(m.content.n as number);
    assert.deepEqual(got, Array.from({ length: next }, (_, i) => i));
  });

  it('receive with a timeout returns null when nothing arrives; without a timeout it returns at once', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'b');
    assert.equal(await bus.receive('b'), null);
    assert.equal(await bus.receive('b', { timeoutMs: 0 }), null);
    const started = Date.now();
    assert.equal(await bus.receive('b', { timeoutMs: 25 }), null);
    assert.ok(Date.now() - started >= 20);
  });

  it('a waiting receiver is woken by the next message', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const waiting = bus.receive('b', { timeoutMs: 1_000 });
    await tick();
    await bus.send(msg('a', 'b', { messageId: 'wake' }));
    assert.equal((await waiting)?.messageId, 'wake');
    assert.equal(bus.pending('b'), 0);
  });

  it('several waiting receivers are served in order, one message each', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const w1 = bus.receive('b', { timeoutMs: 1_000 });
    const w2 = bus.receive('b', { timeoutMs: 1_000 });
    const w3 = bus.receive('b', { timeoutMs: 30 });
    await tick();
    await bus.send(msg('a', 'b', { messageId: 'one' }));
    await bus.send(msg('a', 'b', { messageId: 'two' }));
    assert.equal((await w1)?.messageId, 'one');
    assert.equal((await w2)?.messageId, 'two');
    assert.equal(await w3, null);
  });

  it('a timed-out receiver does not swallow a later message', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    assert.equal(await bus.receive('b', { timeoutMs: 5 }), null);
    await bus.send(msg('a', 'b', { messageId: 'kept' }));
    assert.equal(bus.pending('b'), 1);
    assert.equal((await bus.receive('b'))?.messageId, 'kept');
  });

  it('receive on a subscribed agent throws AGENT_SUBSCRIBED; on an unknown agent UNKNOWN_AGENT; a bad timeout INVALID_ARGUMENT', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'b', 'c');
    bus.subscribe('b', () => undefined);
    await assert.rejects(bus.receive('b'), busError(ErrorCode.AGENT_SUBSCRIBED));
    await assert.rejects(bus.receive('ghost'), busError(ErrorCode.UNKNOWN_AGENT));
    for (const timeoutMs of [-1, Number.NaN, 2 ** 31]) await assert.rejects(bus.receive('c', { timeoutMs }), busError(ErrorCode.INVALID_ARGUMENT));
  });

  it('BACKPRESSURE when a pull inbox is full; nothing is dropped silently', async (t) => {
    const bus = await makeBus(t, { inboxCapacity: 3 });
    await register(bus, 'a', 'b');
    for (let i = 0; i < 3; i++) assertDelivered(await bus.send(msg('a', 'b', { messageId: `ok-${i}` })));
    const r = await bus.send(msg('a', 'b', { messageId: 'over', priority: Priority.CRITICAL }));
    assertRejected(r, RejectionCode.BACKPRESSURE);
    assert.match(r.reason!, /b/);
    assert.equal(r.messageId, 'over');
    assert.equal(bus.pending('b'), 3);
    assert.equal(bus.metrics().byCode.BACKPRESSURE, 1);
    await bus.receive('b');
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'after-room' })));
  });

  it('BACKPRESSURE is per recipient: one full inbox does not block another', async (t) => {
    const bus = await makeBus(t, { inboxCapacity: 1 });
    await register(bus, 'a', 'b', 'c');
    await bus.send(msg('a', 'b'));
    assertRejected(await bus.send(msg('a', 'b')), RejectionCode.BACKPRESSURE);
    assertDelivered(await bus.send(msg('a', 'c')));
  });

  it('awaitDelivery to a pull agent resolves once the message is in the inbox', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const r = await settledWithin(bus.send(msg('a', 'b'), { awaitDelivery: true }), 200);
    assert.notEqual(r, 'pending');
    assertDelivered(r as Exclude<typeof r, 'pending'>, ['b']);
  });
});

describe('agent removal and mailboxes', () => {
  it('unregistering discards the inbox and resolves waiting receivers with null', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', 'c');
    await bus.send(msg('a', 'b'));
    await bus.send(msg('a', 'b'));
    const waiting = bus.receive('c', { timeoutMs: 5_000 });
    await tick();
    assert.equal(await bus.unregisterAgent('b'), true);
    assert.equal(await bus.unregisterAgent('c'), true);
    assert.equal(await settledWithin(waiting, 100), null);
    assert.equal(bus.pending('b'), 0);
    assert.equal(bus.metrics().delivery.discardedOnRemoval, 2);
    // Re-registered, it starts with an empty inbox.
    await register(bus, 'b');
    assert.equal(await bus.receive('b'), null);
  });

  it('a queued push delivery awaited by its sender settles with UNKNOWN_RECIPIENT when the agent leaves', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const gate = deferred();
    bus.subscribe('b', () => gate.promise);
    const first = bus.send(msg('a', 'b'), { awaitDelivery: true });
    const queued = bus.send(msg('a', 'b'), { awaitDelivery: true });
    await tick();
    await bus.unregisterAgent('b');
    const r = await settledWithin(queued, 200);
    assert.notEqual(r, 'pending');
    assert.equal((r as { code?: string }).code, RejectionCode.UNKNOWN_RECIPIENT);
    gate.resolve();
    assertDelivered(await first);
  });

  it('the delivery context handed to handlers is frozen', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    let ctx: object | undefined;
    bus.subscribe('b', (_m: AgentMessage, c) => void (ctx = c));
    await bus.send(msg('a', 'b'));
    assert.ok(Object.isFrozen(ctx));
  });
});
