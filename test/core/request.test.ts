import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, isBusError, MessageType, RejectionCode, type AgentBus, type AgentMessage } from '../../src/index.js';
import { assertDelivered, assertRejected, makeBus, msg, register, sleep, tick } from '../helpers/core.js';

/** Makes `responder` answer every request it gets (optionally without naming toAgent). */
function answer(bus: AgentBus, responder: string, opts: { withToAgent?: boolean; delayMs?: number; from?: string } = {}): void {
  bus.subscribe(responder, async (m: AgentMessage) => {
    if (m.messageType === MessageType.RESPONSE) return;
    if (opts.delayMs !== undefined) await sleep(opts.delayMs);
    const reply: Record<string, unknown> = {
      fromAgent: opts.from ?? responder,
      tenantId: m.tenantId,
      correlationId: m.messageId,
      messageType: MessageType.RESPONSE,
      constitutionalHash: m.constitutionalHash,
      content: { answer: `re: ${String(m.content.q)}` },
    };
    if (opts.withToAgent !== false) reply.toAgent = m.fromAgent;
    await bus.send(reply as never);
  });
}

describe('request/reply', () => {
  for (const withToAgent of [true, false]) {
    it(`completes with the response whose correlationId is the request id (reply ${withToAgent ? 'with' : 'without'} toAgent)`, async (t) => {
      const bus = await makeBus(t);
      await register(bus, 'a', 'b');
      answer(bus, 'b', { withToAgent });
      const r = await bus.request(msg('a', 'b', { content: { q: 'status?' } }), { timeoutMs: 1_000 });
      assertDelivered(r, ['b']);
      assert.ok(r.reply);
      assert.equal(r.reply.correlationId, r.messageId);
      assert.equal(r.reply.fromAgent, 'b');
      assert.deepEqual(r.reply.content, { answer: 're: status?' });
      assert.equal(r.reply.tenantId, 'acme');
      // The reply does not also land in the requester's inbox.
      assert.equal(bus.pending('a'), 0);
      assert.equal(await bus.receive('a'), null);
      assert.equal(bus.metrics().delivery.pendingReplies, 0);
    });
  }

  it('an async responder is awaited', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    answer(bus, 'b', { delayMs: 10 });
    const r = await bus.request(msg('a', 'b', { content: { q: 1 } }), { timeoutMs: 1_000 });
    assert.equal(r.ok, true);
    assert.deepEqual(r.reply?.content, { answer: 're: 1' });
  });

  it('works over a capability route; the reply must come from the chosen agent', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', { agentId: 's1', tenantId: 'acme', capabilities: ['sum'] }, { agentId: 's2', tenantId: 'acme', capabilities: ['sum'] });
    answer(bus, 's1');
    answer(bus, 's2');
    const r1 = await bus.request(msg('a', undefined, { requiredCapabilities: ['sum'], content: { q: 'x' } }), { timeoutMs: 1_000 });
    const r2 = await bus.request(msg('a', undefined, { requiredCapabilities: ['sum'], content: { q: 'y' } }), { timeoutMs: 1_000 });
    assert.equal(r1.reply?.fromAgent, r1.recipients[0]);
    assert.equal(r2.reply?.fromAgent, r2.recipients[0]);
    assert.notEqual(r1.recipients[0], r2.recipients[0]);
  });

  it('a request without a reply times out: ok false, code TIMEOUT, still delivered', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const started = Date.now();
    const r = await bus.request(msg('a', 'b'), { timeoutMs: 25 });
    assert.ok(Date.now() - started >= 20);
    assert.equal(r.ok, false);
    assert.equal(r.status, 'delivered');
    assert.equal(r.code, RejectionCode.TIMEOUT);
    assert.deepEqual(r.recipients, ['b']);
    assert.equal(r.reply, undefined);
    assert.equal(bus.pending('b'), 1, 'the request itself was delivered');
    assert.equal(bus.metrics().byCode.TIMEOUT, 1);
    assert.equal(bus.metrics().delivery.pendingReplies, 0);
  });

  it('the requestTimeoutMs option is the default deadline', async (t) => {
    const bus = await makeBus(t, { requestTimeoutMs: 15 });
    await register(bus, 'a', 'b');
    assert.equal((await bus.request(msg('a', 'b'))).code, RejectionCode.TIMEOUT);
  });

  it('a late reply after the timeout goes to the requester inbox as a normal message', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    answer(bus, 'b', { delayMs: 40 });
    const r = await bus.request(msg('a', 'b'), { timeoutMs: 10 });
    assert.equal(r.code, RejectionCode.TIMEOUT);
    const late = await bus.receive('a', { timeoutMs: 500 });
    assert.equal(late?.correlationId, r.messageId);
  });

  it('a reply from an agent that did not receive the request does not complete it', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', 'intruder');
    const pending = bus.request(msg('a', 'b'), { timeoutMs: 40 });
    await tick();
    const requestMsg = await bus.receive('b');
    assert.ok(requestMsg);
    const forged = await bus.send(msg('intruder', 'a', { correlationId: requestMsg.messageId, messageType: 'response', content: { forged: true } }));
    assertDelivered(forged, ['a']);
    const r = await pending;
    assert.equal(r.code, RejectionCode.TIMEOUT, 'the forged reply did not complete the request');
    assert.equal(r.reply, undefined);
    assert.equal((await bus.receive('a'))?.content.forged, true, 'it went to the inbox instead');
  });

  it('a reply addressed to another agent does not complete the request', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', 'c');
    const pending = bus.request(msg('a', 'b'), { timeoutMs: 40 });
    await tick();
    const req = (await bus.receive('b'))!;
    assertDelivered(await bus.send(msg('b', 'c', { correlationId: req.messageId, messageType: 'response' })), ['c']);
    assert.equal((await pending).code, RejectionCode.TIMEOUT);
  });

  it('a reply from another tenant does not complete it', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b', { agentId: 'g', tenantId: 'globex' });
    const pending = bus.request(msg('a', 'b'), { timeoutMs: 40 });
    await tick();
    const req = (await bus.receive('b'))!;
    assertRejected(await bus.send(msg('g', 'a', { tenantId: 'globex', correlationId: req.messageId })), RejectionCode.TENANT_MISMATCH);
    assertRejected(await bus.send(msg('g', undefined, { tenantId: 'globex', correlationId: req.messageId })), RejectionCode.NO_ROUTE);
    assertRejected(await bus.send(msg('g', 'a', { tenantId: 'acme', correlationId: req.messageId })), RejectionCode.TENANT_MISMATCH);
    const r = await pending;
    assert.equal(r.code, RejectionCode.TIMEOUT);
    assert.equal(await bus.receive('a'), null);
  });

  it('a refused reply does not complete the request', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const pending = bus.request(msg('a', 'b'), { timeoutMs: 40 });
    await tick();
    const req = (await bus.receive('b'))!;
    assertRejected(await bus.send(msg('b', 'a', { correlationId: req.messageId, content: { t: '<script>' } })), RejectionCode.CONTENT_BLOCKED);
    assert.equal((await pending).code, RejectionCode.TIMEOUT);
  });

  it('a second reply after completion is an ordinary message', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    bus.subscribe('b', async (m) => {
      await bus.send(msg('b', 'a', { correlationId: m.messageId, content: { n: 1 } }));
      await bus.send(msg('b', 'a', { correlationId: m.messageId, content: { n: 2 } }));
    });
    const r = await bus.request(msg('a', 'b'), { timeoutMs: 500 });
    assert.equal(r.reply?.content.n, 1);
    await sleep(5);
    assert.equal((await bus.receive('a'))?.content.n, 2);
  });

  it('a refused request resolves at once with the refusal, and no reply is awaited', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a');
    assertRejected(await bus.request(msg('a', 'nobody'), { timeoutMs: 10_000 }), RejectionCode.UNKNOWN_RECIPIENT);
    assertRejected(await bus.request(msg('a', undefined), { timeoutMs: 10_000 }), RejectionCode.NO_ROUTE);
    assert.equal(bus.metrics().delivery.pendingReplies, 0);
  });

  it('a request refused with BACKPRESSURE does not wait for a reply', async (t) => {
    const bus = await makeBus(t, { inboxCapacity: 1 });
    await register(bus, 'a', 'b');
    await bus.send(msg('a', 'b'));
    assertRejected(await bus.request(msg('a', 'b'), { timeoutMs: 10_000 }), RejectionCode.BACKPRESSURE);
    assert.equal(bus.metrics().delivery.pendingReplies, 0);
  });

  it('invalid timeouts throw INVALID_ARGUMENT', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    for (const timeoutMs of [0, -1, Number.NaN, 2 ** 31]) {
      await assert.rejects(bus.request(msg('a', 'b'), { timeoutMs }), (e) => isBusError(e) && e.code === ErrorCode.INVALID_ARGUMENT);
    }
  });

  it('unregistering the requester fails its pending request at once', async (t) => {
    const bus = await makeBus(t);
    await register(bus, 'a', 'b');
    const pending = bus.request(msg('a', 'b'), { timeoutMs: 10_000 });
    await tick();
    await bus.unregisterAgent('a');
    const r = await pending;
    assert.equal(r.ok, false);
    assert.ok(r.code !== undefined && RejectionCode[r.code] === r.code);
    assert.equal(bus.metrics().delivery.pendingReplies, 0);
  });
});
