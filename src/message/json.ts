import type { AgentMessage } from './schema.js';

/** How many recently serialised messages are kept: the consumers of one message ask within one delivery. */
const RECENT = 8;
const recentMessages: Array<AgentMessage | undefined> = new Array<AgentMessage | undefined>(RECENT).fill(undefined);
const recentJson: string[] = new Array<string>(RECENT).fill('');
let next = 0;

/**
 * The JSON text of an accepted message. The bus never changes a message it accepted (content is
 * deep-frozen), so the consumers of one delivery — the delivery ledger's line for each recipient,
 * the WebSocket frame of each push — share one serialisation: the last few are kept, compared by
 * identity. Not a WeakMap keyed by message: every message would enter one table that only a
 * major collection empties, and its entries (old → young references) slow every scavenge.
 */
export function messageJson(message: AgentMessage): string {
  for (let i = 0; i < RECENT; i++) {
    if (recentMessages[i] === message) return recentJson[i]!;
  }
  const json = JSON.stringify(message);
  recentMessages[next] = message;
  recentJson[next] = json;
  next = (next + 1) % RECENT;
  return json;
}
