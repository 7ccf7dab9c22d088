import type { Notification } from './types.js';
import { WebhookChannel } from './webhook.js';

/** Risk colours of the original: >= 0.9 red, >= 0.7 orange, >= 0.5 yellow, else green. */
export function riskColour(score: number | undefined): string {
  const s = score ?? 0;
  if (s >= 0.9) return '#d00000';
  if (s >= 0.7) return '#ff8c00';
  if (s >= 0.5) return '#ffd700';
  return '#2eb886';
}

function title(n: Notification): string {
  switch (n.kind) {
    case 'held':
      return `Approval needed: ${n.messageType} from ${n.fromAgent}`;
    case 'escalated':
      return `Escalated to level ${n.escalationLevel}: ${n.messageType} from ${n.fromAgent}`;
    case 'decided':
      return `Deliberation ${n.status}: ${n.messageType} from ${n.fromAgent}`;
  }
}

function facts(n: Notification): [string, string][] {
  return [
    ['Item', n.itemId],
    ['Tenant', n.tenantId],
    ['From', n.fromAgent],
    ['To', n.toAgent ?? '(capability routed)'],
    ['Policy', n.policyId],
    ['Required roles', n.requiredRoles.join(', ') || '-'],
    ['Impact', n.impactScore === undefined ? '-' : n.impactScore.toFixed(2)],
    ['Deadline', new Date(n.deadlineAt).toISOString()],
  ];
}

/** Slack Block Kit message with approve / reject / details buttons (action ids carry the item id). */
export function slackPayload(n: Notification): Record<string, unknown> {
  return {
    text: title(n),
    attachments: [
      {
        color: riskColour(n.impactScore),
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: title(n).slice(0, 150) } },
          { type: 'section', fields: facts(n).map(([k, v]) => ({ type: 'mrkdwn', text: `*${k}:*\n${v}` })) },
          { type: 'section', text: { type: 'mrkdwn', text: `*Reason:* ${n.reason}\n\`\`\`${n.preview}\`\`\`` } },
          ...(n.kind === 'decided'
            ? []
            : [
                {
                  type: 'actions',
                  block_id: `deliberation:${n.itemId}`,
                  elements: [
                    { type: 'button', style: 'primary', text: { type: 'plain_text', text: 'Approve' }, action_id: 'approve', value: n.itemId },
                    { type: 'button', style: 'danger', text: { type: 'plain_text', text: 'Reject' }, action_id: 'reject', value: n.itemId },
                    { type: 'button', text: { type: 'plain_text', text: 'Details' }, action_id: 'details', value: n.itemId },
                  ],
                },
              ]),
        ],
      },
    ],
  };
}

/** Teams MessageCard with HTTP POST actions to `{apiBaseUrl}/approvals/{id}/approve|reject`. */
export function teamsPayload(n: Notification, apiBaseUrl: string): Record<string, unknown> {
  const base = apiBaseUrl.replace(/\/+$/, '');
  const id = encodeURIComponent(n.itemId);
  return {
    '@type': 'MessageCard',
    '@context': 'http://schema.org/extensions',
    themeColor: riskColour(n.impactScore).slice(1),
    summary: title(n),
    sections: [{ activityTitle: title(n), facts: facts(n).map(([name, value]) => ({ name, value })), text: n.reason }],
    potentialAction:
      n.kind === 'decided'
        ? []
        : [
            { '@type': 'HttpPOST', name: 'Approve', target: `${base}/approvals/${id}/approve` },
            { '@type': 'HttpPOST', name: 'Reject', target: `${base}/approvals/${id}/reject` },
          ],
  };
}

export function slackChannel(webhookUrl: string, timeoutMs?: number): WebhookChannel {
  return new WebhookChannel({ url: webhookUrl, name: 'slack', build: slackPayload, timeoutMs });
}

export function teamsChannel(webhookUrl: string, apiBaseUrl: string, timeoutMs?: number): WebhookChannel {
  return new WebhookChannel({ url: webhookUrl, name: 'teams', build: (n) => teamsPayload(n, apiBaseUrl), timeoutMs });
}
