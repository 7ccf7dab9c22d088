import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AgentBus, hold, RejectionCode, type DecisionRecord, type DecisionSink } from '../../src/index.js';
import { CORE_ONLY, assertDelivered, assertRejected, makeBus, msg, register } from '../helpers/core.js';

function memoryJournal(): DecisionSink & { records: DecisionRecord[]; writable: boolean; flushed: number } {
  const j = {
    records: [] as DecisionRecord[],
    writable: true,
    flushed: 0,
    append(record: DecisionRecord) {
      j.records.push(record);
      return true;
    },
    async flush() {
      j.flushed++;
    },
  };
  return j;
}

describe('decision sink (journal hook)', () => {
  it('records deliveries, refusals, holds and delivery failures with their facts', async (t) => {
    const journal = memoryJournal();
    const bus = await makeBus(t, {
      journal,
      clock: () => 5_000,
      deliberation: { hold: () => ({ deliberationId: 'd-1' }) },
      stages: [{ name: 'impact', evaluate: (m) => (m.content.risky === true ? hold('risky') : { kind: 'proceed' }) }],
    });
    await register(bus, 'a', 'b', 'c');
    bus.subscribe('c', () => {
      throw new Error('handler bug');
    });
    const delivered = await bus.send(msg('a', 'b', { messageId: 'ok-1' }));
    await bus.send(msg('a', 'nobody', { messageId: 'bad-1' }));
    await bus.send(msg('a', 'b', { messageId: 'held-1', content: { risky: true } }));
    await bus.send(msg('a', 'c', { messageId: 'fail-1' }));
    assertDelivered(delivered);
    const byId = (id: string) => journal.records.filter((r) => r.messageId === id).map((r) => r.type);
    assert.deepEqual(byId('ok-1'), ['message.delivered']);
    assert.deepEqual(byId('bad-1'), ['message.rejected']);
    assert.deepEqual(byId('held-1'), ['message.held']);
    assert.deepEqual(byId('fail-1').sort(), ['delivery.failed', 'message.delivered']);
    const ok = journal.records.find((r) => r.messageId === 'ok-1')!;
    assert.equal(ok.at, 5_000);
    assert.equal(ok.tenantId, 'acme');
    assert.equal(ok.fromAgent, 'a');
    assert.deepEqual(ok.recipients, ['b']);
    assert.equal(ok.constitutionalHash, 'cdd01ef066bc6cf2');
    assert.equal(ok.message?.messageId, 'ok-1');
    const bad = journal.records.find((r) => r.messageId === 'bad-1')!;
    assert.equal(bad.code, RejectionCode.UNKNOWN_RECIPIENT);
    assert.equal(typeof bad.reason, 'string');
    const held = journal.records.find((r) => r.messageId === 'held-1')!;
    assert.equal(held.details?.deliberationId, 'd-1');
    const failed = journal.records.find((r) => r.type === 'delivery.failed')!;
    assert.equal(failed.code, RejectionCode.HANDLER_FAILED);
    assert.equal(failed.toAgent, 'c');
  });

  it('a refusal before the schema is recorded without a message', async (t) => {
    const journal = memoryJournal();
    const bus = await makeBus(t, { journal });
    await bus.send({ constitutionalHash: 'nope' } as never);
    assert.equal(journal.records.length, 1);
    assert.equal(journal.records[0]!.type, 'message.rejected');
    assert.equal(journal.records[0]!.code, RejectionCode.CONSTITUTIONAL_HASH_MISMATCH);
    assert.equal(journal.records[0]!.message, undefined);
  });

  it('a journal that is not keeping up turns accepted messages into BACKPRESSURE refusals (and records them)', async (t) => {
    const journal = memoryJournal();
    const bus = await makeBus(t, { journal });
    await register(bus, 'a', 'b');
    journal.writable = false;
    assertRejected(await bus.send(msg('a', 'b', { messageId: 'j-1' })), RejectionCode.BACKPRESSURE);
    assert.equal(bus.pending('b'), 0);
    journal.writable = true;
    assertDelivered(await bus.send(msg('a', 'b', { messageId: 'j-1' })), ['b']);
  });

  it('stop() flushes the journal', async () => {
    const journal = memoryJournal();
    const bus = new AgentBus({ ...CORE_ONLY,  metering: false, journal });
    await bus.start();
    await bus.stop();
    assert.equal(journal.flushed, 1);
  });
});
