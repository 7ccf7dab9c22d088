import { digestOf } from './canonical.js';
import type { AgentMessage } from './schema.js';

/**
 * SHA-256 (hex) of the canonical JSON of the whole envelope. An approval, a journal record or a
 * vote that names this digest is bound to exactly this message: any change to any field changes it.
 */
export function messageDigest(message: AgentMessage): string {
  return digestOf({
    messageId: message.messageId,
    conversationId: message.conversationId,
    correlationId: message.correlationId,
    fromAgent: message.fromAgent,
    toAgent: message.toAgent,
    messageType: message.messageType,
    content: message.content,
    payload: message.payload,
    headers: message.headers,
    tenantId: message.tenantId,
    priority: message.priority,
    constitutionalHash: message.constitutionalHash,
    createdAt: message.createdAt,
    expiresAt: message.expiresAt,
    requiredCapabilities: message.requiredCapabilities,
    metadata: message.metadata,
  });
}
