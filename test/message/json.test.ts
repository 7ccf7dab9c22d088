import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageJson } from '../../src/message/json.js';
import type { AgentMessage } from '../../src/message/schema.js';

function message(i: number): AgentMessage {
  return { messageId: `m-${i}`, conversationId: `m-${i}`, fromAgent: 'a', toAgent: 'b', messageType: 'command', content: Object.freeze({ n: i }), tenantId: 'acme', priority: 1, constitutionalHash: 'cdd01ef066bc6cf2', createdAt: 1 } as unknown as AgentMessage;
}

test('messageJson: the JSON of the message; the consumers of one delivery share one serialisation', () => {
  const m = message(1);
  const first = messageJson(m);
  assert.equal(first, JSON.stringify(m));
  let calls = 0;
  const counted = { ...m, toJSON: () => (calls++, m) } as unknown as AgentMessage;
  messageJson(counted);
  messageJson(counted);
  assert.equal(calls, 1, 'serialised once while recent');
  // Many other messages later it is serialised again, with the same text.
  for (let i = 0; i < 20; i++) assert.equal(messageJson(message(100 + i)), JSON.stringify(message(100 + i)));
  assert.equal(messageJson(counted), first);
  assert.equal(calls, 2);
});
