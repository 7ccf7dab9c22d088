import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AgentBus,
  CONSTITUTIONAL_HASH,
  decodeWireMessage,
  REJECTION_CODES,
  type AgentMessage,
  type DeliveryContext,
  type SendResult,
} from '../../src/index.js';
import { CORE_ONLY, isRejectionCode } from '../helpers/core.js';

const TENANTS = ['acme', 'globex', 'initech'] as const;
const CAPS = ['x', 'y', 'z'] as const;
const TYPES = ['llm', 'tool'] as const;

/** How a message may spell its tenant: the sender's own (in some spelling) or another one. */
const tenantSpelling = fc.oneof(
  fc.constant({ kind: 'own' as const, spell: (t: string) => t }),
  fc.constant({ kind: 'own' as const, spell: (t: string) => `  ${t.toUpperCase()} ` }),
  fc.constantFrom(...TENANTS).map((other) => ({ kind: 'other' as const, spell: (_own: string) => other })),
);

const agentSpec = fc.record({
  tenant: fc.constantFrom(...TENANTS),
  capabilities: fc.subarray([...CAPS]),
  agentType: fc.constantFrom(...TYPES),
  push: fc.boolean(),
});

const op = (agents: number) => {
  const who = fc.nat({ max: agents - 1 });
  return fc.oneof(
    fc.record({ kind: fc.constant('send' as const), from: who, to: who, tenant: tenantSpelling }),
    fc.record({ kind: fc.constant('capability' as const), from: who, caps: fc.subarray([...CAPS], { minLength: 1 }), tenant: tenantSpelling }),
    fc.record({
      kind: fc.constant('broadcast' as const),
      from: who,
      tenant: tenantSpelling,
      agentType: fc.option(fc.constantFrom(...TYPES), { nil: undefined }),
      capability: fc.option(fc.constantFrom(...CAPS), { nil: undefined }),
      required: fc.option(fc.subarray([...CAPS], { minLength: 1 }), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant('request' as const), from: who, to: fc.option(who, { nil: undefined }), caps: fc.subarray([...CAPS], { minLength: 1 }), tenant: tenantSpelling }),
    fc.record({ kind: fc.constant('forgedReply' as const), from: who, to: fc.option(who, { nil: undefined }), tenant: tenantSpelling }),
    fc.record({ kind: fc.constant('unregister' as const), who }),
    fc.record({ kind: fc.constant('reregister' as const), who, capabilities: fc.subarray([...CAPS]) }),
  );
};

const scenario = fc
  .array(agentSpec, { minLength: 2, maxLength: 9 })
  .chain((agents) => fc.record({ agents: fc.constant(agents), ops: fc.array(op(agents.length), { minLength: 1, maxLength: 25 }) }));

describe('property: no message ever reaches an agent of another tenant', () => {
  it('random tenants, agents, capabilities and routes', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ agents, ops }) => {
        const bus = new AgentBus({ ...CORE_ONLY,  metering: false, handlerTimeoutMs: 50 });
        await bus.start();
        const violations: string[] = [];
        const tenantOf = new Map<string, string>();
        /** Tenant each agent was registered in (kept after it leaves; agents never change tenant here). */
        const home = new Map<string, string>();
        const check = (where: string, recipient: string, recipientTenant: string | undefined, message: AgentMessage) => {
          const senderTenant = home.get(message.fromAgent);
          if (recipientTenant !== message.tenantId || senderTenant !== message.tenantId) {
            violations.push(`${where}: ${message.fromAgent}(${senderTenant}) -> ${recipient}(${recipientTenant}) carrying tenant ${message.tenantId}`);
          }
        };
        const ids = agents.map((_, i) => `agent-${i}`);
        try {
          for (const [i, spec] of agents.entries()) {
            await bus.registerAgent({ agentId: ids[i]!, tenantId: spec.tenant, agentType: spec.agentType, capabilities: spec.capabilities });
            tenantOf.set(ids[i]!, spec.tenant);
            home.set(ids[i]!, spec.tenant);
            if (spec.push) {
              bus.subscribe(ids[i]!, async (message: AgentMessage, ctx: DeliveryContext) => {
                check('push', ctx.agentId, tenantOf.get(ctx.agentId), message);
                if (ctx.tenantId !== message.tenantId) violations.push(`ctx tenant ${ctx.tenantId} for message of ${message.tenantId}`);
                if (message.messageType !== 'response' && message.content.wantsReply === true) {
                  await bus.send({
                    fromAgent: ctx.agentId,
                    tenantId: message.tenantId,
                    correlationId: message.messageId,
                    messageType: 'response',
                    constitutionalHash: CONSTITUTIONAL_HASH,
                    content: { ok: true },
                  });
                }
              });
            }
          }
          for (const o of ops) {
            let result: SendResult | undefined;
            const from = ids[o.kind === 'unregister' || o.kind === 'reregister' ? o.who : o.from]!;
            const own = tenantOf.get(from) ?? 'acme';
            const base = { fromAgent: from, constitutionalHash: CONSTITUTIONAL_HASH, content: { n: 1 } };
            switch (o.kind) {
              case 'send':
                result = await bus.send({ ...base, toAgent: ids[o.to]!, tenantId: o.tenant.spell(own) });
                break;
              case 'capability':
                result = await bus.send({ ...base, requiredCapabilities: o.caps, tenantId: o.tenant.spell(own) });
                break;
              case 'broadcast':
                result = await bus.broadcast(
                  { ...base, tenantId: o.tenant.spell(own), ...(o.required === undefined ? {} : { requiredCapabilities: o.required }) },
                  { ...(o.agentType === undefined ? {} : { agentType: o.agentType }), ...(o.capability === undefined ? {} : { capability: o.capability }) },
                );
                break;
              case 'request':
                result = await bus.request(
                  { ...base, content: { wantsReply: true }, tenantId: o.tenant.spell(own), ...(o.to === undefined ? { requiredCapabilities: o.caps } : { toAgent: ids[o.to]! }) },
                  { timeoutMs: 2 },
                );
                if (result.reply !== undefined) check('reply', from, tenantOf.get(from), result.reply);
                break;
              case 'forgedReply':
                // A "reply" naming a random earlier message id, from anyone, possibly without toAgent.
                result = await bus.send({ ...base, correlationId: 'no-such-request', messageType: 'response', tenantId: o.tenant.spell(own), ...(o.to === undefined ? {} : { toAgent: ids[o.to]! }) });
                break;
              case 'unregister':
                await bus.unregisterAgent(from);
                tenantOf.delete(from);
                break;
              case 'reregister':
                if (tenantOf.has(from)) await bus.registerAgent({ agentId: from, tenantId: own, capabilities: o.capabilities });
                break;
            }
            if (result !== undefined) {
              assert.ok(result.ok || isRejectionCode(result.code), JSON.stringify(result));
              for (const r of result.recipients) {
                if (tenantOf.has(r) && tenantOf.get(r) !== tenantOf.get(from)) violations.push(`${o.kind} listed ${r} of ${tenantOf.get(r)} for a sender of ${tenantOf.get(from)}`);
              }
              if (o.kind !== 'unregister' && o.kind !== 'reregister' && o.tenant.kind === 'other' && o.tenant.spell(own) !== own) {
                assert.equal(result.ok, false, `a message naming another tenant than the sender's was accepted: ${JSON.stringify(result)}`);
              }
            }
          }
          // Pull agents: drain what they were given.
          for (const [i, spec] of agents.entries()) {
            if (spec.push || !tenantOf.has(ids[i]!)) continue;
            for (let m = await bus.receive(ids[i]!); m !== null; m = await bus.receive(ids[i]!)) check('pull', ids[i]!, tenantOf.get(ids[i]!), m);
          }
        } finally {
          await bus.stop();
        }
        assert.deepEqual(violations, []);
      }),
      { numRuns: 120 },
    );
  });
});

const SCHEMA_KEYS = new Set([
  'messageId', 'conversationId', 'correlationId', 'fromAgent', 'toAgent', 'messageType', 'content', 'payload', 'headers', 'tenantId', 'priority',
  'constitutionalHash', 'createdAt', 'expiresAt', 'requiredCapabilities', 'metadata',
]);

function validBase(): Record<string, unknown> {
  return { fromAgent: 'sender', toAgent: 'receiver', tenantId: 'acme', constitutionalHash: CONSTITUTIONAL_HASH, content: { text: 'hi' } };
}

function nested(depth: number): Record<string, unknown> {
  let v: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < depth; i++) v = { n: v };
  return v;
}

const hostileKeyObject = fc.constantFrom(
  () => JSON.parse('{"__proto__": {"polluted": "yes"}}') as Record<string, unknown>,
  () => JSON.parse('{"constructor": {"prototype": {"polluted": "yes"}}}') as Record<string, unknown>,
  () => JSON.parse('{"prototype": {"polluted": "yes"}, "__proto__": null}') as Record<string, unknown>,
  () => Object.defineProperty({}, '__proto__', { value: { polluted: 'yes' }, enumerable: true, writable: true, configurable: true }),
  () => ({ constructor: 'x', prototype: 'y', hasOwnProperty: 'z', toString: 'w' }),
);

/** Inputs that must all be refused. */
const malformed = fc.oneof(
  fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withObjectString: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }),
  fc.jsonValue(),
  fc.constantFrom('fromAgent', 'content', 'tenantId', 'constitutionalHash').map((field) => {
    const m = validBase();
    delete m[field];
    return m;
  }),
  fc.tuple(fc.string({ minLength: 1 }).filter((k) => !SCHEMA_KEYS.has(k)), fc.anything()).map(([key, value]) => {
    const m = validBase();
    Object.defineProperty(m, key, { value, enumerable: true, writable: true, configurable: true });
    return m;
  }),
  hostileKeyObject.map((make) => Object.assign(make(), validBase())),
  fc.constantFrom('__proto__', 'constructor', 'prototype').map((key) => JSON.parse(`{${JSON.stringify(key)}: {"polluted": "yes"}, "fromAgent": "sender", "toAgent": "receiver", "tenantId": "acme", "constitutionalHash": "${CONSTITUTIONAL_HASH}", "content": {}}`) as unknown),
  fc.integer({ min: 256 * 1024 - 8, max: 300 * 1024 }).map((n) => ({ ...validBase(), content: { s: 'x'.repeat(n + 1) } })),
  fc.integer({ min: 33, max: 5_000 }).map((depth) => ({ ...validBase(), content: nested(depth) })),
  fc.integer({ min: 33, max: 200 }).map((depth) => ({ ...validBase(), payload: nested(depth) })),
  fc.constantFrom('content', 'payload', 'metadata').chain((field) =>
    fc.oneof(
      fc.constant(() => 1),
      fc.constant(new Date(0)),
      fc.constant(new Map()),
      fc.constant(Number.NaN),
      fc.constant([undefined]),
      fc.constant(new (class Thing {})()),
      fc.bigInt(),
    ).map((bad) => ({ ...validBase(), [field]: { bad } })),
  ),
);

describe('property: malformed input is refused with a code and never throws', () => {
  it('send, broadcast and request refuse every malformed input with a RejectionCode; Object.prototype stays clean', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.start();
    await bus.registerAgent({ agentId: 'sender', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'receiver', tenantId: 'acme' });
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort();
    try {
      await fc.assert(
        fc.asyncProperty(malformed, async (input) => {
          for (const call of [
            () => bus.send(input as never),
            () => bus.send(input as never, { awaitDelivery: true }),
            () => bus.broadcast(input as never),
            () => bus.request(input as never, { timeoutMs: 1 }),
          ]) {
            let result: SendResult;
            try {
              result = await call();
            } catch (error) {
              assert.fail(`threw ${String(error)} for ${safeDescribe(input)}`);
            }
            assert.equal(result.ok, false, `accepted ${safeDescribe(input)}`);
            assert.equal(result.status, 'rejected');
            assert.ok(isRejectionCode(result.code), `code ${String(result.code)}`);
            assert.equal(typeof result.reason, 'string');
          }
          assert.equal(({} as Record<string, unknown>).polluted, undefined);
          assert.deepEqual(Object.getOwnPropertyNames(Object.prototype).sort(), protoKeys);
        }),
        { numRuns: 300 },
      );
      assert.equal(bus.pending('receiver'), 0, 'nothing malformed reached the inbox');
      const m = bus.metrics();
      assert.equal(m.delivered, 0);
      for (const code of Object.keys(m.byCode)) assert.ok((REJECTION_CODES as readonly string[]).includes(code));
    } finally {
      await bus.stop();
    }
  });

  it('the wire path (decodeWireMessage then send) never throws on arbitrary input', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.start();
    await bus.registerAgent({ agentId: 'sender', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'receiver', tenantId: 'acme' });
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(malformed, fc.dictionary(fc.constantFrom('message_id', 'from_agent', 'to_agent', 'tenant_id', 'priority', 'created_at', 'expires_at', 'content', '__proto__'), fc.anything())), async (raw) => {
          const decoded = decodeWireMessage(raw);
          if ('kind' in decoded && decoded.kind === 'reject') {
            assert.ok(isRejectionCode(decoded.code));
            return;
          }
          const result = await bus.send(decoded as never);
          assert.ok(result.ok || isRejectionCode(result.code), JSON.stringify(result));
          assert.equal(({} as Record<string, unknown>).polluted, undefined);
        }),
        { numRuns: 300 },
      );
    } finally {
      await bus.stop();
    }
  });

  it('fields replaced by arbitrary values: never throws; either delivered or refused with a RejectionCode', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false });
    await bus.start();
    await bus.registerAgent({ agentId: 'sender', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'receiver', tenantId: 'acme' });
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...SCHEMA_KEYS), fc.anything({ withNullPrototype: true, withDate: true, withMap: true, withBigInt: true }), async (field, value) => {
          const input = { ...validBase(), [field]: value };
          const result = await bus.send(input as never);
          assert.ok(result.ok ? result.status === 'delivered' : isRejectionCode(result.code), JSON.stringify(result));
        }),
        { numRuns: 300 },
      );
    } finally {
      await bus.stop();
    }
  });

  it('hostile keys inside content are delivered as plain data and pollute nothing', async () => {
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false, screen: false });
    await bus.start();
    await bus.registerAgent({ agentId: 'sender', tenantId: 'acme' });
    await bus.registerAgent({ agentId: 'receiver', tenantId: 'acme' });
    try {
      await fc.assert(
        fc.asyncProperty(hostileKeyObject, async (make) => {
          const content = make();
          const r = await bus.send({ ...validBase(), content, payload: make(), metadata: make() } as never);
          assert.equal(r.ok, true, JSON.stringify(r));
          const got = await bus.receive('receiver');
          // The bus delivers its own frozen copy: same data (hostile keys kept as plain own data), plain prototype.
          assert.equal(JSON.stringify(got?.content), JSON.stringify(content));
          assert.equal(Object.getPrototypeOf(got?.content), Object.prototype);
          assert.ok(Object.isFrozen(got?.content));
          assert.equal(({} as Record<string, unknown>).polluted, undefined);
        }),
      );
    } finally {
      await bus.stop();
    }
  });
});

function safeDescribe(value: unknown): string {
  try {
    const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
    return text === undefined ? String(value) : text.slice(0, 300);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
