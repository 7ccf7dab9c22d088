import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentBus, ErrorCode, isBusError, RejectionCode, type SendResult } from '../../src/index.js';
import { assertDelivered, assertRejected, makeBus, msg, recorder, register } from '../helpers/core.js';

const isPromise = (value: unknown): value is Promise<SendResult> => value instanceof Promise;

describe('sendImmediate / broadcastImmediate (edges answering many messages per turn)', () => {
  it('returns the result itself on the fast lane, and the same result send() resolves to', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const inbox = recorder();
    bus.subscribe('b', inbox.handler);
    const result = bus.sendImmediate(msg('a', 'b', { content: { n: 1 } }));
    assert.ok(!isPromise(result), 'a fast-lane send is decided in this turn');
    assertDelivered(result, ['b']);
    assert.equal(inbox.seen.length, 1);
    assert.deepEqual(inbox.seen[0]!.message.content, { n: 1 });
    const viaSend = await bus.send(msg('a', 'b', { content: { n: 2 } }));
    assert.deepEqual(Object.keys(viaSend).sort(), Object.keys(result).sort());
  });

  it('returns refusals synchronously too', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a');
    const result = bus.sendImmediate(msg('a', 'nobody'));
    assert.ok(!isPromise(result));
    assertRejected(result, RejectionCode.UNKNOWN_RECIPIENT);
  });

  it('returns a promise when the delivery takes time (awaitDelivery on an async handler)', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    bus.subscribe('b', () => gate);
    const pending = bus.sendImmediate(msg('a', 'b'), { awaitDelivery: true });
    assert.ok(isPromise(pending));
    release();
    assertDelivered(await pending, ['b']);
  });

  it('broadcastImmediate reaches every other agent of the tenant in this turn', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', 'c');
    const seen: string[] = [];
    for (const id of ['b', 'c']) bus.subscribe(id, () => void seen.push(id));
    const result = bus.broadcastImmediate(msg('a', undefined));
    assert.ok(!isPromise(result));
    assertDelivered(result, ['b', 'c']);
    assert.deepEqual(seen.sort(), ['b', 'c']);
  });

  it('throws BUS_NOT_STARTED where send() rejects', async () => {
    const bus = new AgentBus({ policy: false, impact: false });
    for (const call of [() => bus.sendImmediate(msg('a', 'b')), () => bus.broadcastImmediate(msg('a', undefined))]) {
      assert.throws(call, (error: unknown) => isBusError(error) && error.code === ErrorCode.BUS_NOT_STARTED);
    }
    await assert.rejects(bus.send(msg('a', 'b')), (error: unknown) => isBusError(error) && error.code === ErrorCode.BUS_NOT_STARTED);
    await assert.rejects(bus.broadcast(msg('a', undefined)), (error: unknown) => isBusError(error) && error.code === ErrorCode.BUS_NOT_STARTED);
  });
});
