import crypto from 'node:crypto';
import type { AgentMessage } from './schema.js';

/** First element of the digest pre-image; a future definition gets a new tag. */
export const MESSAGE_DIGEST_TAG = 'AgentMessage/2';

type OneShotHash = (algorithm: string, data: string, outputEncoding: 'hex') => string;
// crypto.hash (Node >= 20.12) skips the Hash object: about 3x cheaper than createHash for short inputs.
const oneShot = (crypto as { hash?: OneShotHash }).hash;
const sha256Hex: (text: string) => string =
  typeof oneShot === 'function' ? (text) => oneShot('sha256', text, 'hex') : (text) => crypto.createHash('sha256').update(text).digest('hex');

/**
 * SHA-256 (lower-case hex) of `messageDigestText(message)`. An approval, a journal record or a vote
 * that names this digest is bound to exactly this message: any change to any field changes it, and
 * a JSON round trip (storage, the wire) does not. Throws on values JSON cannot hold (BigInt, cycles).
 */
export function messageDigest(message: AgentMessage): string {
  return sha256Hex(messageDigestText(message));
}

/**
 * The digest pre-image: exactly the text of
 *
 *   JSON.stringify([MESSAGE_DIGEST_TAG, messageId, conversationId, correlationId ?? null, fromAgent,
 *     toAgent ?? null, messageType, tenantId, priority, constitutionalHash, createdAt,
 *     expiresAt ?? null, requiredCapabilities ?? null, headers ?? null, content, payload ?? null,
 *     metadata ?? null])
 *
 * (documented in docs/journal.md for external verifiers). Built by concatenation because that
 * costs about half of stringifying a fresh array; test/message/digest.test.ts checks that both
 * give the same text. Free-form objects keep their own key order, the one JSON.parse reproduces.
 */
export function messageDigestText(m: AgentMessage): string {
  return (
    '["' + MESSAGE_DIGEST_TAG + '",' +
    text(m.messageId) + ',' +
    text(m.conversationId) + ',' +
    text(m.correlationId) + ',' +
    text(m.fromAgent) + ',' +
    text(m.toAgent) + ',' +
    text(m.messageType) + ',' +
    text(m.tenantId) + ',' +
    num(m.priority) + ',' +
    text(m.constitutionalHash) + ',' +
    num(m.createdAt) + ',' +
    num(m.expiresAt) + ',' +
    json(m.requiredCapabilities) + ',' +
    json(m.headers) + ',' +
    json(m.content) + ',' +
    json(m.payload) + ',' +
    json(m.metadata) + ']'
  );
}

/** JSON of a value expected to be a string: short strings that need no escaping skip JSON.stringify. */
function text(value: unknown): string {
  if (typeof value !== 'string' || value.length > 64) return json(value);
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 32 || code === 34 || code === 92 || (code >= 0xd800 && code <= 0xdfff)) return JSON.stringify(value);
  }
  return '"' + value + '"';
}

function num(value: unknown): string {
  if (typeof value !== 'number') return json(value);
  return Number.isFinite(value) ? String(value) : 'null';
}

/** JSON.stringify as an array element: undefined (and anything else JSON drops) becomes null. */
function json(value: unknown): string {
  if (value === undefined || value === null) return 'null';
  return JSON.stringify(value) ?? 'null';
}
