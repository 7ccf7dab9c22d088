import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeliberationItem } from '../../src/deliberation/types.js';
import type { DeliberationStore } from '../../src/deliberation/store/types.js';
import type { Notification, NotificationChannel } from '../../src/deliberation/notifications/types.js';
import { Resilience } from '../../src/resilience/index.js';

describe('dependency wrappers', () => {
  it('notification channel (delivery): fails fast while open so the dispatcher keeps it queued; closes after a good trial', async () => {
    const t = { now: 0 };
    const r = new Resilience({ clock: () => t.now, chaos: { enabled: true, clock: () => t.now } });
    let up = false;
    let calls = 0;
    const channel: NotificationChannel = {
      name: 'slack',
      send: async () => {
        calls++;
        if (!up) throw new Error('503');
      },
    };
    const guarded = r.channel(channel, { failMax: 2, resetMs: 1000 });
    const note = {} as Notification;
    const signal = new AbortController().signal;
    await assert.rejects(guarded.send(note, signal), /503/);
    await assert.rejects(guarded.send(note, signal), /503/);
    await assert.rejects(guarded.send(note, signal), /circuit breaker notify:slack is open/);
    assert.equal(calls, 2, 'the open breaker did not call the channel');
    up = true;
    t.now += 1000;
    await guarded.send(note, signal);
    assert.equal(r.breakers.get('notify:slack')!.state, 'closed');
    await r.chaos.injectLatency('notify:slack', 20, 10_000);
    const t0 = Date.now();
    await guarded.send(note, signal);
    assert.ok(Date.now() - t0 >= 15, 'latency injected at the channel');
    await r.chaos.deactivateAll();
  });

  it('deliberation store (governance): writes throw while open, so the hold fails closed', async () => {
    const r = new Resilience();
    let fail = true;
    const store: DeliberationStore = {
      kind: 'redis',
      shared: true,
      load: async () => [],
      write: async () => {
        if (fail) throw new Error('ECONNREFUSED');
        return true;
      },
      stats: () => ({ writes: 0 }),
      close: async () => undefined,
    };
    const guarded = r.deliberationStore(store, { failMax: 1, resetMs: 60_000 });
    const item = {} as DeliberationItem;
    await assert.rejects(Promise.resolve().then(() => guarded.write(item)), /ECONNREFUSED/);
    fail = false;
    assert.throws(() => guarded.write(item), /circuit breaker deliberation-store is open/);
    assert.equal(guarded.stats()['breaker'], 'open');
  });

  it('impact model (governance): the fallback answers while open, counted; without one predict throws', async () => {
    const r = new Resilience();
    const slow = { name: 'remote', predict: async (): Promise<number> => Promise.reject(new Error('model server down')) };
    const keyword = { name: 'keyword', predict: () => 0.25 };
    const guarded = r.textModel(slow, keyword, { failMax: 2, resetMs: 60_000 });
    assert.equal(await guarded.predict('a'), 0.25, 'a failure falls back');
    assert.equal(await guarded.predict('b'), 0.25);
    assert.equal(r.breakers.get('impact-model')!.state, 'open');
    assert.equal(guarded.predict('c'), 0.25, 'open: answered synchronously by the fallback');
    assert.equal(guarded.counters.fallbacks, 3);
    assert.equal(guarded.counters.shortCircuited, 1);

    const r2 = new Resilience();
    const bare = r2.textModel(slow, undefined, { failMax: 1 });
    await assert.rejects(Promise.resolve(bare.predict('x')), /model server down/);
    assert.throws(() => bare.predict('y'), /impact-model is open/);
  });

  it('journal (governance): chaos errors make appends fail and count as failures', async () => {
    const r = new Resilience({ chaos: { enabled: true } });
    let appended = 0;
    const journal = r.journal({ append: () => (appended++, true) }, { failMax: 3 });
    await r.chaos.injectErrors('journal', 1, 10_000);
    for (let i = 0; i < 3; i++) assert.equal(journal.append({ type: 'message.delivered', at: 0 }), false);
    assert.equal(appended, 0);
    assert.equal(journal.writable, false, 'open: the bus will refuse with BACKPRESSURE');
    assert.equal(journal.counters.lost, 3);
    await r.chaos.deactivateAll();
  });
});
