// Input whose reading runs the caller's code — a getter or a proxy that throws — is refused with
// INVALID_MESSAGE like any other bad message: send, broadcast and request never throw for it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AgentBus, CONSTITUTIONAL_HASH, type MessageInput } from '../../src/index.js';

const base = (): Record<string, unknown> => ({ fromAgent: 'a', toAgent: 'b', tenantId: 'acme', constitutionalHash: CONSTITUTIONAL_HASH, messageType: 'command', content: { text: 'hi' } });
const boom = (): never => {
  throw new Error('getter says no');
};

const hostile: Record<string, () => unknown> = {
  'a content getter that throws': () => ({ ...base(), content: Object.defineProperty({}, 'text', { get: boom, enumerable: true }) }),
  'a content proxy whose ownKeys throws': () => ({ ...base(), content: new Proxy({}, { ownKeys: boom }) }),
  'a top-level getter that throws (fromAgent)': () => Object.defineProperty(base(), 'fromAgent', { get: boom, enumerable: true }),
  'a top-level getter that throws (messageId)': () => Object.defineProperty(base(), 'messageId', { get: boom, enumerable: true }),
  'a proxy message whose get throws': () => new Proxy(base(), { get: boom }),
  'a payload getter that throws': () => ({ ...base(), payload: Object.defineProperty({}, 'x', { get: boom, enumerable: true }) }),
  'a thrown non-Error': () => ({ ...base(), content: new Proxy({}, { ownKeys: () => { throw 42; } }) }),
};

describe('hostile getters and proxies in a message', () => {
  let bus: AgentBus;
  before(async () => {
    bus = new AgentBus({ policy: false, impact: false });
    await bus.start();
    await bus.registerAgent({ agentId: 'a', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'b', tenantId: 'acme' });
    bus.subscribe('b', () => undefined);
  });
  after(() => bus.stop());

  for (const [name, make] of Object.entries(hostile)) {
    it(`${name}: refused with INVALID_MESSAGE by send, broadcast and request`, async () => {
      const rejectedBefore = bus.metrics().byCode['INVALID_MESSAGE'] ?? 0;
      let sendResult: Awaited<ReturnType<AgentBus['send']>> | undefined;
      assert.doesNotThrow(() => void bus.send(make() as MessageInput).then((r) => (sendResult = r)));
      const results = [await bus.send(make() as MessageInput), await bus.broadcast(make() as MessageInput), await bus.request(make() as MessageInput, { timeoutMs: 50 })];
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.equal(result.code, 'INVALID_MESSAGE');
        assert.equal(typeof result.reason, 'string');
      }
      assert.equal(sendResult?.code, 'INVALID_MESSAGE');
      assert.equal((bus.metrics().byCode['INVALID_MESSAGE'] ?? 0) - rejectedBefore, 4);
    });
  }

  it('the bus keeps delivering after them', async () => {
    const result = await bus.send(base() as unknown as MessageInput);
    assert.equal(result.status, 'delivered');
  });

  it('hostile send options give a rejected promise, never a synchronous throw', async () => {
    const options = Object.defineProperty({}, 'awaitDelivery', { get: boom });
    let pending: Promise<unknown> | undefined;
    assert.doesNotThrow(() => (pending = bus.send(base() as unknown as MessageInput, options)));
    await assert.rejects(pending!, /getter says no/);
    const filter = Object.defineProperty({}, 'awaitDelivery', { get: boom, enumerable: true });
    assert.doesNotThrow(() => (pending = bus.broadcast(base() as unknown as MessageInput, filter)));
    await assert.rejects(pending!, /getter says no/);
  });
});
