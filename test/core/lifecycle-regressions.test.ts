// Regressions (fixed; were in src/bus.ts, lifecycle):
// 1. stop() with a pending request() waits the whole drainTimeoutMs (default 5,000 ms) before ending
//    it: awaitReply() counts the wait for a reply in `asyncInFlight`, and stop() spins on
//    `asyncInFlight > 0` before it calls `this.replies.closeWhere(() => true)`. Expected: pending
//    requests do not hold up stop() (close them first, or do not count them as in-flight work).
// 2. stop() is not idempotent for concurrent callers: a second stop() while the first is draining
//    returns at once (`if (!this.running || this.stopping) return;`), so `await bus.stop()` can
//    resolve while the bus is still running. Expected: the second call returns the first call's promise.
// 3. send() and broadcast() throw BUS_NOT_STARTED synchronously (they are not async functions),
//    while request() rejects. `bus.send(x).catch(...)` therefore does not catch it. Expected: a
//    rejected promise, like request().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentBus, ErrorCode, isBusError, RejectionCode } from '../../src/index.js';
import { CORE_ONLY, msg, register, tick } from '../helpers/core.js';

describe('lifecycle edge cases', () => {
  it('stop() does not wait drainTimeoutMs for a pending request', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.start();
    await register(bus, 'a', 'b');
    const pending = bus.request(msg('a', 'b'), { timeoutMs: 60_000 });
    await tick();
    const started = Date.now();
    await bus.stop();
    const took = Date.now() - started;
    assert.equal((await pending).code, RejectionCode.BUS_STOPPING);
    assert.ok(took < 1_000, `stop() took ${took} ms`);
  });

  it('a second concurrent stop() resolves only once the bus has stopped', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.start();
    const first = bus.stop();
    await bus.stop();
    assert.equal(bus.isRunning, false);
    await first;
  });

  it('send() and broadcast() before start() return rejected promises instead of throwing synchronously', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    let sendPromise: Promise<unknown> | undefined;
    let broadcastPromise: Promise<unknown> | undefined;
    assert.doesNotThrow(() => {
      sendPromise = bus.send(msg('a', 'b'));
      broadcastPromise = bus.broadcast(msg('a', undefined));
    });
    await assert.rejects(sendPromise!, (e) => isBusError(e) && e.code === ErrorCode.BUS_NOT_STARTED);
    await assert.rejects(broadcastPromise!, (e) => isBusError(e) && e.code === ErrorCode.BUS_NOT_STARTED);
  });
});
