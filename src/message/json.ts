import type { AgentMessage } from './schema.js';

const encoded = new WeakMap<AgentMessage, string>();

/**
 * The JSON text of an accepted message, serialised once: the bus never changes a message it
 * accepted (content is deep-frozen), so every consumer of the same message — the delivery ledger's
 * line for each recipient, the WebSocket frame of each push and redelivery — shares one.
 */
export function messageJson(message: AgentMessage): string {
  let json = encoded.get(message);
  if (json === undefined) {
    json = JSON.stringify(message);
    encoded.set(message, json);
  }
  return json;
}
