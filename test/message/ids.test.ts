import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AgentBus } from '../../src/bus.js';
import { RejectionCode } from '../../src/errors.js';
import { CONSTITUTIONAL_HASH } from '../../src/message/constants.js';
import { isIssuedMessageId, issueMessageId } from '../../src/message/ids.js';
import { CORE_ONLY } from '../helpers/core.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('issued message ids', () => {
  it('are lower-case UUID v4 strings, distinct, and recognised as issued', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const id = issueMessageId();
      assert.match(id, UUID_V4);
      assert.ok(isIssuedMessageId(id), id);
      seen.add(id);
    }
    assert.equal(seen.size, 20_000);
  });

  it('random UUIDs, edited issued ids and other strings are not recognised', () => {
    let lookalikes = 0;
    for (let i = 0; i < 20_000; i++) if (isIssuedMessageId(randomUUID())) lookalikes++;
    assert.equal(lookalikes, 0, 'a random UUID passes with probability 2^-32');
    const id = issueMessageId();
    assert.equal(isIssuedMessageId(id.toUpperCase()), false);
    for (let i = 0; i < id.length; i++) {
      if (id[i] === '-') continue;
      const edited = id.slice(0, i) + (id[i] === '0' ? '1' : '0') + id.slice(i + 1);
      assert.equal(isIssuedMessageId(edited), false, `edited at ${i}: ${edited}`);
    }
    for (const other of ['', 'x', id + '0', id.slice(1), id.replace(/-/g, '_'), `${id.slice(0, 35)}g`, `${id.slice(0, 35)}\u0660`]) {
      assert.equal(isIssuedMessageId(other), false, other);
    }
  });

  it('property: any string is classified without throwing; only issued ids pass', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.uuid(), fc.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)), (s) => {
        assert.equal(isIssuedMessageId(s), false);
      }),
      { numRuns: 2_000 },
    );
  });

  it('the bus refuses a caller-set id it issued earlier as DUPLICATE, however long ago', async () => {
    let now = 1_000_000;
    const bus = new AgentBus({ ...CORE_ONLY, clock: () => now, duplicateWindow: { windowMs: 1_000 } });
    await bus.start();
    try {
      await bus.registerAgent({ agentId: 'a', tenantId: 'acme' });
      await bus.registerAgent({ agentId: 'b', tenantId: 'acme' });
      const input = { fromAgent: 'a', toAgent: 'b', tenantId: 'acme', constitutionalHash: CONSTITUTIONAL_HASH, content: { n: 1 } };
      const first = await bus.send(input);
      assert.equal(first.status, 'delivered');
      assert.ok(isIssuedMessageId(first.messageId));
      assert.equal(bus.metrics().duplicateWindow.size, 0, 'issued ids are not stored');
      const replay = await bus.send({ ...input, messageId: first.messageId });
      assert.equal(replay.code, RejectionCode.DUPLICATE);
      now += 3_600_000;
      assert.equal((await bus.send({ ...input, messageId: first.messageId })).code, RejectionCode.DUPLICATE);
      const own = randomUUID();
      assert.equal((await bus.send({ ...input, messageId: own })).status, 'delivered');
      assert.equal((await bus.send({ ...input, messageId: own })).code, RejectionCode.DUPLICATE);
    } finally {
      await bus.stop();
    }
  });
});
