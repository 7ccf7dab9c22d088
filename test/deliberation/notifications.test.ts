import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  DeliberationService,
  ManualClock,
  MemoryDeliberationStore,
  NotificationDispatcher,
  WebhookChannel,
  slackPayload,
  teamsPayload,
  type Notification,
  type NotificationChannel,
} from '../../src/deliberation/index.js';
import { holdOne } from './helpers.js';

async function server(failFirst: number): Promise<{ url: string; bodies: unknown[]; attempts: () => number; close: () => Promise<void> }> {
  const bodies: unknown[] = [];
  let attempts = 0;
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      attempts++;
      if (attempts <= failFirst) {
        res.statusCode = 503;
        res.end('busy');
        return;
      }
      bodies.push(JSON.parse(body));
      res.statusCode = 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    attempts: () => attempts,
    close: () => new Promise((r) => srv.close(() => r())),
  };
}

const sample: Notification = {
  kind: 'held',
  itemId: 'item-1',
  tenantId: 'tenant-a',
  messageId: 'm-1',
  fromAgent: 'agent-sender',
  toAgent: 'agent-receiver',
  messageType: 'command',
  status: 'pending',
  policyId: 'high_risk_action',
  requiredRoles: ['security_team', 'compliance_team'],
  impactScore: 0.92,
  reason: 'impact',
  escalationLevel: 1,
  deadlineAt: 1_700_000_300_000,
  preview: '{"action":"transfer"}',
};

describe('notifications', () => {
  it('the webhook channel retries with backoff and delivers; held items notify off the send path', async () => {
    const srv = await server(2);
    const s = await DeliberationService.open({
      store: new MemoryDeliberationStore(),
      clock: new ManualClock(),
      channels: [new WebhookChannel({ url: srv.url })],
      notifications: { baseDelayMs: 5, maxAttempts: 5 },
    });
    const id = await holdOne(s);
    assert.equal(srv.attempts(), 0, 'hold returned before any network I/O');
    await s.notificationsIdle();
    assert.equal(srv.attempts(), 3);
    assert.equal((srv.bodies[0] as Notification).itemId, id);
    assert.equal((srv.bodies[0] as Notification).kind, 'held');
    const n = s.stats().notifications!;
    assert.equal(n.sent, 1);
    assert.equal(n.retries, 2);
    assert.equal(n.failed, 0);
    await s.close();
    await srv.close();
  });

  it('gives up after maxAttempts and counts the failure per channel', async () => {
    const srv = await server(1000);
    const d = new NotificationDispatcher([new WebhookChannel({ url: srv.url, name: 'ops-hook' })], { baseDelayMs: 2, maxAttempts: 3 });
    d.enqueue(sample);
    await d.idle();
    assert.equal(srv.attempts(), 3);
    assert.equal(d.counters.failed, 1);
    assert.equal(d.failuresByChannel.get('ops-hook'), 1);
    await d.close();
    await srv.close();
  });

  it('the queue is bounded: overflow is dropped and counted, close abandons pending retries', async () => {
    let calls = 0;
    const stuck: NotificationChannel = {
      name: 'slow',
      send: (_n, signal) =>
        new Promise((_resolve, reject) => {
          calls++;
          signal.addEventListener('abort', () => reject(new Error('aborted')));
        }),
    };
    const d = new NotificationDispatcher([stuck], { maxQueue: 3, concurrency: 1 });
    for (let i = 0; i < 10; i++) d.enqueue({ ...sample, itemId: `i${i}` });
    assert.equal(calls, 1);
    assert.equal(d.queued, 3);
    assert.equal(d.counters.dropped, 6);
    await d.close(10);
    assert.equal(d.counters.abandoned, 3);
  });

  it('builds Slack Block Kit and Teams MessageCard payloads like the original', () => {
    const slack = slackPayload(sample) as { attachments: { color: string; blocks: { type: string; elements?: { action_id: string; value: string }[] }[] }[] };
    assert.equal(slack.attachments[0]!.color, '#d00000');
    const actions = slack.attachments[0]!.blocks.find((b) => b.type === 'actions')!;
    assert.deepEqual(actions.elements!.map((e) => [e.action_id, e.value]), [
      ['approve', 'item-1'],
      ['reject', 'item-1'],
      ['details', 'item-1'],
    ]);
    const teams = teamsPayload(sample, 'https://bus.example/api/') as { '@type': string; potentialAction: { target: string }[] };
    assert.equal(teams['@type'], 'MessageCard');
    assert.deepEqual(teams.potentialAction.map((a) => a.target), ['https://bus.example/api/approvals/item-1/approve', 'https://bus.example/api/approvals/item-1/reject']);
    const decided = teamsPayload({ ...sample, kind: 'decided', impactScore: 0.2 }, 'https://bus.example') as { potentialAction: unknown[]; themeColor: string };
    assert.deepEqual(decided.potentialAction, []);
    assert.equal(decided.themeColor, '2eb886');
  });
});
