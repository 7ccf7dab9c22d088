import type { AgentMessage } from '../message/schema.js';
import type { AgentRecord } from '../registry/types.js';
import type { Verdict } from './verdict.js';

/**
 * Facts about one message that stages share. Built once per message; later stages read what
 * earlier ones found (the tenant stage fills `sender` and `recipient`, the schema stage
 * `contentBytes`) and may leave their own results in `annotations` (policy decision, impact score).
 */
export interface GovernanceContext {
  /** Epoch milliseconds at which the bus accepted the message for governance. */
  readonly now: number;
  /** True when the bus generated the messageId (a fresh UUID v4 cannot be a replay). */
  readonly idGenerated: boolean;
  /**
   * Size of content + payload + metadata serialized as JSON, in UTF-8 bytes: an upper bound (6
   * bytes per UTF-16 unit) unless `contentBytesExact` — it is made exact near the size limit, and
   * by any stage that needs the exact figure (the policy stage's size class, when the bound leaves
   * it in doubt).
   */
  contentBytes: number;
  contentBytesExact?: boolean;
  /**
   * The same JSON text's length in characters: its exact UTF-8 size for ASCII text with nothing
   * escaped (a multi-byte or escaped character counts as one). Metering counts this unless
   * contentBytes is exact.
   */
  readonly contentChars?: number;
  sender: AgentRecord | undefined;
  /** The direct recipient (toAgent), when there is one. */
  recipient: AgentRecord | undefined;
  /** Results stages leave for later stages, the journal and the caller. */
  readonly annotations: Record<string, unknown>;
}

/**
 * One governance step. `evaluate` returns a verdict directly when it needs no I/O; the runner
 * only awaits when a stage returns a promise. A stage that throws is treated as a refusal
 * (`STAGE_FAILED`): the bus fails closed.
 */
export interface GovernanceStage {
  readonly name: string;
  evaluate(message: AgentMessage, ctx: GovernanceContext): Verdict | PromiseLike<Verdict>;
}
