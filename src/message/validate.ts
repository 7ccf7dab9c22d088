import AjvModule, { type ValidateFunction } from 'ajv';
import { RejectionCode } from '../errors.js';
import { reject, type Reject } from '../governance/verdict.js';
import { DEFAULT_LIMITS, type MessageLimits, type MessageType, type Priority } from './constants.js';
import { CONTENT_TOO_DEEP, exactContentBytes, lastInvalidPath, lastSnapshotChars, lastSnapshotSize, snapshotJsonObject } from './content.js';
import { issueMessageId } from './ids.js';
import { describeSchemaError } from './schema-errors.js';
import { buildMessageInputSchema, type AgentMessage, type MessageInput } from './schema.js';
import { normalizeTenantId } from './tenant.js';

const Ajv = AjvModule.default ?? AjvModule;

const AJV_LOGGER = {
  log: (...args: unknown[]) => console.log(...args),
  warn: (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('DEPRECATED: option unicode')) return;
    console.warn(...args);
  },
  error: (...args: unknown[]) => console.error(...args),
};

/** Validators are compiled once per distinct set of limits (ajv compilation costs tens of ms). */
const compiled = new Map<string, ValidateFunction>();

export function compileMessageValidator(limits: MessageLimits): ValidateFunction {
  const key = JSON.stringify(limits);
  let validate = compiled.get(key);
  if (validate === undefined) {
    // unicode: false — string limits count UTF-16 units (String#length), not code points: as strict
    // or stricter, and validation takes less than half the time (ajv skips its code-point count).
    // Ajv 8 still honours the option but warns that it is deprecated; that one warning is dropped.
    const ajv = new Ajv({ allErrors: false, strict: false, coerceTypes: false, useDefaults: false, unicode: false, verbose: true, logger: AJV_LOGGER });
    validate = ajv.compile(buildMessageInputSchema(limits));
    compiled.set(key, validate);
  }
  return validate;
}

/**
 * The schema stage: validates a caller's input against the message schema and limits, and builds
 * the canonical AgentMessage (defaults filled, tenant normalised). Returns a Reject otherwise.
 * After a successful build, `contentBytes` holds the size of content + payload + metadata.
 */
export class MessageBuilder {
  contentBytes = 0;
  /** Whether contentBytes is the exact size (else an upper bound). */
  contentBytesExact = false;
  /**
   * The JSON text's length in characters, an escaped character counted as one: the exact UTF-8
   * size for ASCII text with nothing escaped, else a lower bound (what metering counts unless
   * contentBytesExact).
   */
  contentChars = 0;
  /** Whether the last built message got a generated messageId. */
  idGenerated = false;
  private refusal: Reject | undefined;
  private readonly validate: ValidateFunction;

  constructor(private readonly limits: MessageLimits = DEFAULT_LIMITS) {
    this.validate = compileMessageValidator(limits);
  }

  build(input: unknown, now: number): AgentMessage | Reject {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return reject(RejectionCode.INVALID_MESSAGE, 'message must be a JSON object');
    }
    if (!this.validate(input)) {
      return reject(RejectionCode.INVALID_MESSAGE, describeSchemaError('message', this.validate.errors?.at(-1)));
    }
    const m = input as MessageInput;
    const tenantId = normalizeTenantId(m.tenantId);
    if (tenantId === undefined) {
      return reject(RejectionCode.INVALID_MESSAGE, 'tenantId must be 3-64 characters of [a-z0-9_-] after trimming and lower-casing, starting with a letter or digit');
    }
    const content = this.snapshot(m.content, 'content');
    if (content === undefined) return this.refusal!;
    let bytes = lastSnapshotSize();
    let chars = lastSnapshotChars();
    let payload: Record<string, unknown> | undefined;
    if (m.payload !== undefined) {
      payload = this.snapshot(m.payload, 'payload');
      if (payload === undefined) return this.refusal!;
      bytes += lastSnapshotSize();
      chars += lastSnapshotChars();
    }
    let metadata: Record<string, unknown> | undefined;
    if (m.metadata !== undefined) {
      metadata = this.snapshot(m.metadata, 'metadata');
      if (metadata === undefined) return this.refusal!;
      bytes += lastSnapshotSize();
      chars += lastSnapshotChars();
    }
    this.contentBytesExact = false;
    if (bytes > this.limits.maxContentBytes) {
      bytes = exactContentBytes(content, payload, metadata);
      this.contentBytesExact = true;
      if (bytes > this.limits.maxContentBytes) {
        return reject(RejectionCode.MESSAGE_TOO_LARGE, `content, payload and metadata serialize to ${bytes} bytes; the limit is ${this.limits.maxContentBytes}`);
      }
    }
    this.contentBytes = bytes;
    this.contentChars = this.contentBytesExact ? bytes : chars;
    this.idGenerated = m.messageId === undefined;
    const messageId = m.messageId ?? issueMessageId();
    return {
      messageId,
      conversationId: m.conversationId ?? messageId,
      correlationId: m.correlationId,
      fromAgent: m.fromAgent,
      toAgent: m.toAgent,
      messageType: (m.messageType ?? 'command') as MessageType,
      content,
      payload,
      headers: m.headers === undefined ? undefined : Object.freeze({ ...m.headers }),
      tenantId,
      priority: (m.priority ?? 1) as Priority,
      constitutionalHash: m.constitutionalHash,
      createdAt: m.createdAt ?? now,
      expiresAt: m.expiresAt,
      requiredCapabilities: m.requiredCapabilities === undefined ? undefined : Object.freeze([...m.requiredCapabilities]),
      metadata,
    };
  }

  /** The bus's frozen copy of a free-form object, or undefined with `refusal` set. */
  private snapshot(value: Record<string, unknown>, field: string): Record<string, unknown> | undefined {
    const copy = snapshotJsonObject(value, this.limits.maxDepth);
    if (typeof copy !== 'number') return copy;
    this.refusal =
      copy === CONTENT_TOO_DEEP
        ? reject(RejectionCode.MESSAGE_TOO_LARGE, `${field} is nested deeper than ${this.limits.maxDepth} levels`)
        : reject(RejectionCode.INVALID_MESSAGE, `${field}${lastInvalidPath()} is not a JSON value (plain objects, arrays, strings, finite numbers, booleans and null only)`);
    return undefined;
  }
}
