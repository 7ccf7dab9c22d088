import type { GovernanceContext } from '../governance/stage.js';
import { CONSTITUTIONAL_HASH } from '../message/constants.js';
import { exactContentBytes } from '../message/content.js';
import type { AgentMessage } from '../message/schema.js';
import type { AgentRecord } from '../registry/types.js';
import {
  ResourceKind,
  SizeClass,
  type HashAuthority,
  type PolicyContext,
  type PolicyPrincipal,
  type PolicyRequest,
  type PolicyResource,
} from './types.js';

/**
 * Builds the PolicyRequest for one message. Everything the engine sees is coarse on purpose
 * (size class instead of bytes, hour instead of a timestamp, labels instead of content) so that
 * equal situations give equal requests and the decision cache can answer them.
 */
export interface RequestBuilderOptions {
  /** Offset applied to `ctx.now` before taking the hour and weekday (default 0 = UTC). */
  utcOffsetMinutes?: number;
  /** Scalar fields of `message.content` to add as `context.content` (default none: content stays out of policy). */
  contentFields?: readonly string[];
  /** Upper bounds (exclusive, bytes) of the small, medium and large classes. Default 1,024 / 10,000 / 100,000. */
  sizeClassBounds?: readonly [small: number, medium: number, large: number];
}

export type RequestBuilder = (message: AgentMessage, ctx: GovernanceContext, authority: HashAuthority | undefined) => PolicyRequest;

const EMPTY: readonly string[] = Object.freeze([]);
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

export const DEFAULT_SIZE_CLASS_BOUNDS: readonly [number, number, number] = Object.freeze([1_024, 10_000, 100_000]) as readonly [
  number,
  number,
  number,
];

const SIZE_CLASSES: readonly SizeClass[] = [SizeClass.SMALL, SizeClass.MEDIUM, SizeClass.LARGE, SizeClass.HUGE];

/** 0 (small) … 3 (huge). */
function sizeIndexOf(bytes: number, bounds: readonly [number, number, number]): number {
  return bytes < bounds[0] ? 0 : bytes < bounds[1] ? 1 : bytes < bounds[2] ? 2 : 3;
}

export function sizeClassOf(bytes: number, bounds: readonly [number, number, number] = DEFAULT_SIZE_CLASS_BOUNDS): SizeClass {
  return SIZE_CLASSES[sizeIndexOf(bytes, bounds)]!;
}

/**
 * The size class of the message's content + payload + metadata. `ctx.contentBytes` is an upper
 * bound unless marked exact: a bound in the smallest class settles it; otherwise the exact size
 * is measured once and left in the context for the stages after this one.
 */
function sizeIndexFor(message: AgentMessage, ctx: GovernanceContext, bounds: readonly [number, number, number]): number {
  const index = sizeIndexOf(ctx.contentBytes, bounds);
  if (index === 0 || ctx.contentBytesExact === true) return index;
  ctx.contentBytes = exactContentBytes(message.content, message.payload, message.metadata);
  ctx.contentBytesExact = true;
  return sizeIndexOf(ctx.contentBytes, bounds);
}

/** Whether the authority accepts the hash now; without one, only the default hash is accepted. */
const hashAccepted = (hash: string, authority: HashAuthority | undefined, now: number): boolean =>
  authority === undefined ? hash === CONSTITUTIONAL_HASH : authority.accepts(hash, now);

const hourOf = (local: number): number => Math.floor((local % DAY_MS) / HOUR_MS);
const weekdayOf = (local: number): number => (Math.floor(local / DAY_MS) + 4) % 7;

/**
 * A number standing for everything a request built for the message holds besides its principal,
 * action and resource — priority, size class, hour, weekday, the hash and whether it is accepted —
 * or -1 when no small number can (labels or content fields in the context, an unusual priority, a
 * clock before 1970, many distinct hashes). For the same sender and recipient records and action,
 * equal codes mean equal requests: the policy stage finds a cached decision's key by it without
 * building the request.
 */
export type SituationCoder = (message: AgentMessage, ctx: GovernanceContext, authority: HashAuthority | undefined) => number;

/** Distinct constitutional hashes a coder numbers (there are one or two at a time: active and previous). */
const MAX_CODED_HASHES = 64;

export function createSituationCoder(options: RequestBuilderOptions = {}): SituationCoder {
  const offsetMs = (options.utcOffsetMinutes ?? 0) * 60_000;
  const bounds = options.sizeClassBounds ?? DEFAULT_SIZE_CLASS_BOUNDS;
  const withContent = options.contentFields !== undefined && options.contentFields.length > 0;
  const hashNumbers = new Map<string, number>();
  return function situationCode(message, ctx, authority) {
    const labels = message.metadata?.['labels'];
    if (withContent || (Array.isArray(labels) && labels.length > 0)) return -1;
    const priority = message.priority;
    const local = ctx.now + offsetMs;
    if (!(priority >= 0 && priority <= 3 && Number.isInteger(priority)) || !(local >= 0)) return -1;
    const hash = message.constitutionalHash;
    let hashNumber = hashNumbers.get(hash);
    if (hashNumber === undefined) {
      if (hashNumbers.size >= MAX_CODED_HASHES) return -1;
      hashNumbers.set(hash, (hashNumber = hashNumbers.size));
    }
    const accepted = hashAccepted(hash, authority, ctx.now);
    // Mixed radix: hash (< 64) · priority (4) · size class (4) · hour (24) · weekday (7) · accepted (2); < 2^21.
    return ((((hashNumber * 4 + priority) * 4 + sizeIndexFor(message, ctx, bounds)) * 24 + hourOf(local)) * 7 + weekdayOf(local)) * 2 + (accepted ? 1 : 0);
  };
}

/** Strings of an unknown value, sorted and de-duplicated; anything that is not an array of strings gives []. */
export function stringSet(value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.length === 0) return EMPTY;
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) if (typeof value[i] === 'string') out.push(value[i] as string);
  if (out.length === 0) return EMPTY;
  out.sort();
  let w = 1;
  for (let r = 1; r < out.length; r++) if (out[r] !== out[w - 1]) out[w++] = out[r]!;
  out.length = w;
  return out;
}

function rolesOf(record: AgentRecord): readonly string[] {
  return stringSet(record.metadata['roles']);
}

export function createRequestBuilder(options: RequestBuilderOptions = {}): RequestBuilder {
  const offsetMs = (options.utcOffsetMinutes ?? 0) * 60_000;
  const bounds = options.sizeClassBounds ?? DEFAULT_SIZE_CLASS_BOUNDS;
  const contentFields = options.contentFields === undefined ? undefined : [...new Set(options.contentFields)].sort();
  // Registry records are long-lived and read-only: their principal/resource views are built once.
  const principals = new WeakMap<AgentRecord, PolicyPrincipal>();
  const recipients = new WeakMap<AgentRecord, PolicyResource>();

  function principalOf(message: AgentMessage, sender: AgentRecord | undefined): PolicyPrincipal {
    if (sender === undefined) {
      return { id: message.fromAgent, agentType: '', tenant: message.tenantId, roles: EMPTY };
    }
    let p = principals.get(sender);
    if (p === undefined) {
      p = Object.freeze({ id: sender.agentId, agentType: sender.agentType, tenant: sender.tenantId, roles: rolesOf(sender) });
      principals.set(sender, p);
    }
    return p;
  }

  function resourceOf(message: AgentMessage, recipient: AgentRecord | undefined): PolicyResource {
    if (recipient !== undefined) {
      let r = recipients.get(recipient);
      if (r === undefined) {
        r = Object.freeze({
          kind: ResourceKind.AGENT,
          id: recipient.agentId,
          tenant: recipient.tenantId,
          agentType: recipient.agentType,
          roles: rolesOf(recipient),
          capabilities: EMPTY,
        });
        recipients.set(recipient, r);
      }
      return r;
    }
    if (message.toAgent !== undefined) {
      return { kind: ResourceKind.AGENT, id: message.toAgent, tenant: message.tenantId, agentType: '', roles: EMPTY, capabilities: EMPTY };
    }
    const caps = stringSet(message.requiredCapabilities);
    if (caps.length > 0) {
      return { kind: ResourceKind.CAPABILITY, id: 'capability:' + caps.join(','), tenant: message.tenantId, agentType: '', roles: EMPTY, capabilities: caps };
    }
    return { kind: ResourceKind.BROADCAST, id: 'broadcast', tenant: message.tenantId, agentType: '', roles: EMPTY, capabilities: EMPTY };
  }

  function contentOf(message: AgentMessage, fields: readonly string[]): Record<string, string | number | boolean> {
    const out: Record<string, string | number | boolean> = {};
    for (let i = 0; i < fields.length; i++) {
      const field = fields[i]!;
      const v = message.content[field];
      if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) out[field] = v;
    }
    return out;
  }

  return function buildPolicyRequest(message, ctx, authority) {
    const local = ctx.now + offsetMs;
    const hash = message.constitutionalHash;
    const priority = message.priority;
    const sizeClass = SIZE_CLASSES[sizeIndexFor(message, ctx, bounds)]!;
    const hour = hourOf(local);
    const weekday = weekdayOf(local);
    const labels = stringSet(message.metadata?.['labels']);
    const accepted = hashAccepted(hash, authority, ctx.now);
    // Two literal shapes, not a spread: an object spread per message is a slow generic copy.
    const context: PolicyContext =
      contentFields === undefined
        ? { priority, sizeClass, hour, weekday, labels, constitutionalHash: hash, hashAccepted: accepted }
        : { priority, sizeClass, hour, weekday, labels, constitutionalHash: hash, hashAccepted: accepted, content: contentOf(message, contentFields) };
    return {
      principal: principalOf(message, ctx.sender),
      action: message.messageType,
      resource: resourceOf(message, ctx.recipient),
      context,
    };
  };
}
