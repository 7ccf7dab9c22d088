import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentBus, ErrorCode, PROCEED, RejectionCode, isBusError, type GovernanceStage, type Verdict } from '../../src/index.js';
import { CORE_ONLY, assertDelivered, assertRejected, deferred, makeBus, msg, register, settledWithin, tick } from '../helpers/core.js';

function assertBusError(code: string) {
  return (error: unknown): boolean => {
    assert.ok(isBusError(error), `expected a BusError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  };
}

describe('lifecycle', () => {
  it('start and stop are idempotent', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    assert.equal(bus.isRunning, false);
    await bus.start();
    await bus.start();
    assert.equal(bus.isRunning, true);
    assert.equal(bus.metrics().running, true);
    assert.equal(typeof bus.metrics().startedAt, 'number');
    await bus.stop();
    await bus.stop();
    assert.equal(bus.isRunning, false);
    assert.equal(bus.metrics().running, false);
  });

  it('stop() on a bus that never started resolves', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.stop();
    assert.equal(bus.isRunning, false);
  });

  it('send, broadcast and request before start() throw BusError BUS_NOT_STARTED', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.registerAgent({ agentId: 'a', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'b', tenantId: 'acme' });
    await assert.rejects(async () => bus.send(msg('a', 'b')), assertBusError(ErrorCode.BUS_NOT_STARTED));
    await assert.rejects(async () => bus.broadcast(msg('a', undefined)), assertBusError(ErrorCode.BUS_NOT_STARTED));
    await assert.rejects(async () => bus.request(msg('a', 'b'), { timeoutMs: 10 }), assertBusError(ErrorCode.BUS_NOT_STARTED));
  });

  it('send after stop() throws BUS_NOT_STARTED, and the bus can be started again', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.start();
    await register(bus, 'a', 'b');
    await bus.stop();
    await assert.rejects(async () => bus.send(msg('a', 'b')), assertBusError(ErrorCode.BUS_NOT_STARTED));
    await bus.start();
    assertDelivered(await bus.send(msg('a', 'b')), ['b']);
    await bus.stop();
  });

  it('stop() waits for an in-flight async stage; sends during the stop are refused with BUS_STOPPING', async () => {
    const gate = deferred<Verdict>();
    const entered = deferred();
    const slow: GovernanceStage = {
      name: 'slow',
      evaluate: (m) => {
        if (m.content.slow === true) {
          entered.resolve();
          return gate.promise;
        }
        return PROCEED;
      },
    };
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false, stages: [slow] });
    await bus.start();
    await register(bus, 'a', 'b');
    const inflight = bus.send(msg('a', 'b', { content: { slow: true } }));
    await entered.promise;
    const stopping = bus.stop();
    await tick();
    assert.equal(await settledWithin(stopping, 30), 'pending', 'stop() must wait for the in-flight stage');
    assertRejected(await bus.send(msg('a', 'b')), RejectionCode.BUS_STOPPING);
    assertRejected(await bus.broadcast(msg('a', undefined)), RejectionCode.BUS_STOPPING);
    gate.resolve(PROCEED);
    assertDelivered(await inflight, ['b']);
    await stopping;
    assert.equal(bus.isRunning, false);
    assert.equal(bus.metrics().byCode.BUS_STOPPING, 2);
  });

  it('stop() waits for an in-flight async handler', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.start();
    await register(bus, 'a', 'b');
    const gate = deferred();
    let finished = false;
    bus.subscribe('b', async () => {
      await gate.promise;
      finished = true;
    });
    assertDelivered(await bus.send(msg('a', 'b')));
    const stopping = bus.stop();
    assert.equal(await settledWithin(stopping, 30), 'pending');
    gate.resolve();
    await stopping;
    assert.equal(finished, true);
  });

  it('stop() ends pending requests with BUS_STOPPING instead of leaving them hanging', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false, drainTimeoutMs: 20 });
    await bus.start();
    await register(bus, 'a', 'b');
    const pending = bus.request(msg('a', 'b'), { timeoutMs: 60_000 });
    await tick();
    await bus.stop();
    const result = await pending;
    assert.equal(result.ok, false);
    assert.equal(result.code, RejectionCode.BUS_STOPPING);
  });

  describe('invalid options throw BusError INVALID_OPTIONS', () => {
    const cases: Array<[string, unknown]> = [
      ['options null', null],
      ['options a string', 'fast'],
      ['limits.maxContentBytes 0', { limits: { maxContentBytes: 0 } }],
      ['limits.maxDepth negative', { limits: { maxDepth: -1 } }],
      ['limits.maxIdLength fractional', { limits: { maxIdLength: 1.5 } }],
      ['limits.maxHeaders a string', { limits: { maxHeaders: '8' } }],
      ['inboxCapacity 0', { inboxCapacity: 0 }],
      ['inboxCapacity fractional', { inboxCapacity: 2.5 }],
      ['handlerTimeoutMs negative', { handlerTimeoutMs: -5 }],
      ['requestTimeoutMs 0', { requestTimeoutMs: 0 }],
      ['drainTimeoutMs NaN', { drainTimeoutMs: Number.NaN }],
      ['timingSampleEvery 0', { timingSampleEvery: 0 }],
      ['maxAgents negative', { maxAgents: -1 }],
      ['maxAgents fractional', { maxAgents: 1.5 }],
      ['stages not an array', { stages: { name: 'x', evaluate: () => PROCEED } }],
      ['a stage without evaluate', { stages: [{ name: 'x' }] }],
      ['a stage without a name', { stages: [{ evaluate: () => PROCEED }] }],
      ['a null stage', { stages: [null] }],
      ['two stages with one name', { stages: [{ name: 'x', evaluate: () => PROCEED }, { name: 'x', evaluate: () => PROCEED }] }],
      ['a stage named like a built-in', { stages: [{ name: 'tenant', evaluate: () => PROCEED }] }],
      ['metering sink without write', { metering: { sink: {} } }],
      ['metering batchSize 0', { metering: { batchSize: 0 } }],
      ['metering maxQueueSize fractional', { metering: { maxQueueSize: 1.5 } }],
      ['metering flushIntervalMs negative', { metering: { flushIntervalMs: -1 } }],
      ['hashAuthority without accepts', { hashAuthority: { activeHash: 'abc' } }],
      ['hashAuthority with a non-string activeHash', { hashAuthority: { activeHash: 5, accepts: () => true } }],
      ['constitutionalHash not a string', { constitutionalHash: 1234 }],
    ];
    for (const [name, options] of cases) {
      it(name, () => {
        assert.throws(() => new AgentBus(options as never), assertBusError(ErrorCode.INVALID_OPTIONS));
      });
    }
  });

  it('valid non-default options are accepted', async (t) => {
    const bus = await makeBus(t, {
      limits: { maxContentBytes: 1024, maxDepth: 4 },
      inboxCapacity: 1,
      handlerTimeoutMs: 10,
      requestTimeoutMs: 10,
      drainTimeoutMs: 10,
      timingSampleEvery: 3,
      maxAgents: 10,
      screen: false,
      metering: { batchSize: 1, maxQueueSize: 1, flushIntervalMs: 1 },
    });
    await register(bus, 'a', 'b');
    assertDelivered(await bus.send(msg('a', 'b')));
    assert.deepEqual(bus.stageNames, ['pin', 'schema', 'freshness', 'tenant']);
  });
});
