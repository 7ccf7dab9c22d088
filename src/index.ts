/** The public API of enhanced-agent-bus. Everything a user imports comes from here. */
export { AgentBus } from './bus.js';
export type { AgentBusOptions, SendResult, SendStatus, SendOptions, DecisionRecord, DecisionSink, HoldHandler } from './bus.js';

export { RejectionCode, REJECTION_CODES, REJECTION_INFO, ErrorCode, ERROR_INFO, BusError, isBusError } from './errors.js';

export { CONSTITUTIONAL_HASH, MessageType, MESSAGE_TYPES, Priority, PRIORITY_BY_NAME, DEFAULT_LIMITS } from './message/constants.js';
export type { MessageLimits } from './message/constants.js';
export { MessageInputSchema, buildMessageInputSchema } from './message/schema.js';
export type { AgentMessage, MessageInput } from './message/schema.js';
export { decodeWireMessage, encodeMessage } from './message/codec.js';
export { canonicalJson, digestOf, sha256Hex } from './message/canonical.js';
export { messageDigest } from './message/digest.js';
export { normalizeTenantId } from './message/tenant.js';

export { PROCEED, reject, hold } from './governance/verdict.js';
export type { Verdict, Proceed, Reject, Hold } from './governance/verdict.js';
export type { GovernanceStage, GovernanceContext } from './governance/stage.js';
export { StaticHashAuthority } from './governance/hash-authority.js';
export type { HashAuthority } from './governance/hash-authority.js';
export { PROMPT_INJECTION_PATTERNS, SCRIPT_PATTERNS, DEFAULT_SCREEN_PATTERNS } from './governance/stages/screen.js';
export type { ScreenPattern } from './governance/stages/screen.js';

export { InMemoryAgentRegistry } from './registry/memory.js';
export type { InMemoryRegistryOptions } from './registry/memory.js';
export type { AgentRegistry, RegistryStats, RemovalReason } from './registry/registry.js';
export type { AgentRecord, AgentRegistration, AgentQuery } from './registry/types.js';

export type { BroadcastFilter } from './routing/router.js';
export type { MessageHandler, DeliveryContext, SubscribeOptions, DeliveryOutcome } from './delivery/mailbox.js';

export { MeteredOperation } from './metering/types.js';
export type { MeteringEvent, MeteringSink } from './metering/types.js';
export type { MeteringOptions, MeteringStats } from './metering/queue.js';
export type { UsageBucket } from './metering/usage-sink.js';
export type { BusMetrics, TenantCounters } from './metrics/collector.js';
export type { LatencyPercentiles } from './metrics/latency.js';
export * from './policy/index.js';
export * from './journal/index.js';
export * from './impact/index.js';
export * from './deliberation/index.js';
export * from './resilience/index.js';
export * from './server/index.js';
