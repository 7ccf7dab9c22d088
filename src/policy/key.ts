import { sha256Hex } from '../message/canonical.js';
import type { PolicyContext, PolicyPrincipal, PolicyRequest, PolicyResource } from './types.js';

/**
 * Cache keys. Every string is length-prefixed and every list count-prefixed, and each attribute is
 * tagged, so the encoding is injective: two requests give the same key only if every attribute the
 * key covers is equal. Keys longer than MAX_PLAIN_KEY are replaced by '#' + the full SHA-256 (never a
 * truncated digest); plain keys start with a digit, so the two forms cannot collide.
 *
 * A KeyProfile says which attributes a key covers: the ones the engine's policies can observe.
 * Leaving out what no policy reads (agent ids, priority, agent types …) is what lets decisions be
 * shared between the many senders of a workload.
 */
export const MAX_PLAIN_KEY = 512;

export type PrincipalAttribute = 'agentType' | 'tenant' | 'roles';
export type ResourceAttribute = 'kind' | 'tenant' | 'agentType' | 'roles' | 'capabilities';
export type ContextAttribute = keyof PolicyContext;

export interface KeyProfile {
  /** Whether principal and resource ids are covered. */
  readonly ids: boolean;
  /** Covered attributes; undefined = all. */
  readonly principal?: ReadonlySet<string>;
  readonly resource?: ReadonlySet<string>;
  readonly context?: ReadonlySet<string>;
}

/** Every attribute, ids included: for engines that say nothing about what they read. */
export const FULL_PROFILE: KeyProfile = Object.freeze({ ids: true });
/** Every attribute but the ids. */
export const NO_IDS_PROFILE: KeyProfile = Object.freeze({ ids: false });

function str(s: string): string {
  return s.length + ':' + s;
}

function list(items: readonly string[]): string {
  let out = items.length + '[';
  for (let i = 0; i < items.length; i++) out += items[i]!.length + ':' + items[i];
  return out;
}

// The engine and bundle part of every key, built once per (engine, bundle) rather than per message.
let prefixEngine = '';
let prefixBundle = '';
let prefix = str('') + str('');

function enginePrefix(engine: string, bundleHash: string): string {
  if (engine !== prefixEngine || bundleHash !== prefixBundle) {
    prefixEngine = engine;
    prefixBundle = bundleHash;
    prefix = str(engine) + str(bundleHash);
  }
  return prefix;
}

const covers = (set: ReadonlySet<string> | undefined, attr: string): boolean => set === undefined || set.has(attr);

// Fragments of the shared principal/resource objects (memoised per registry record) are memoised
// for the last profile they were built with (an engine's profile is fixed per bundle).
const principalFragments = new WeakMap<PolicyPrincipal, { profile: KeyProfile; fragment: string }>();
const resourceFragments = new WeakMap<PolicyResource, { profile: KeyProfile; fragment: string }>();

function principalFragment(p: PolicyPrincipal, profile: KeyProfile): string {
  const memo = principalFragments.get(p);
  if (memo !== undefined && memo.profile === profile) return memo.fragment;
  const a = profile.principal;
  const fragment =
    'P' +
    (profile.ids ? 'i' + str(p.id) : '') +
    (covers(a, 'agentType') ? 'a' + str(p.agentType) : '') +
    (covers(a, 'tenant') ? 't' + str(p.tenant) : '') +
    (covers(a, 'roles') ? 'r' + list(p.roles) : '');
  principalFragments.set(p, { profile, fragment });
  return fragment;
}

function resourceFragment(r: PolicyResource, profile: KeyProfile): string {
  const memo = resourceFragments.get(r);
  if (memo !== undefined && memo.profile === profile) return memo.fragment;
  const a = profile.resource;
  const fragment =
    'R' +
    (covers(a, 'kind') ? 'k' + str(r.kind) : '') +
    (profile.ids ? 'i' + str(r.id) : '') +
    (covers(a, 'tenant') ? 't' + str(r.tenant) : '') +
    (covers(a, 'agentType') ? 'a' + str(r.agentType) : '') +
    (covers(a, 'roles') ? 'r' + list(r.roles) : '') +
    (covers(a, 'capabilities') ? 'c' + list(r.capabilities) : '');
  resourceFragments.set(r, { profile, fragment });
  return fragment;
}

function contextFragment(c: PolicyContext, a: ReadonlySet<string> | undefined): string {
  let out = 'C';
  if (covers(a, 'priority')) out += 'p' + c.priority + ';';
  if (covers(a, 'sizeClass')) out += 's' + str(c.sizeClass);
  if (covers(a, 'hour')) out += 'h' + c.hour + ';';
  if (covers(a, 'weekday')) out += 'w' + c.weekday + ';';
  if (covers(a, 'labels')) out += 'l' + list(c.labels);
  if (covers(a, 'constitutionalHash')) out += 'c' + str(c.constitutionalHash);
  if (covers(a, 'hashAccepted')) out += c.hashAccepted ? 'T' : 'F';
  if (!covers(a, 'content')) return out;
  const content = c.content;
  if (content === undefined) return out + '-';
  const keys = Object.keys(content).sort();
  out += keys.length + '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = content[k]!;
    out += str(k) + (typeof v === 'string' ? 's' + str(v) : typeof v === 'number' ? 'n' + v + ';' : v ? 'T' : 'F');
  }
  return out;
}

/**
 * The cache key of a decision: engine name, bundle hash, the action, and the request attributes
 * the profile covers. `true`/`false` are shorthands for every attribute with/without the ids.
 */
export function decisionKey(engine: string, bundleHash: string, req: PolicyRequest, profile: KeyProfile | boolean): string {
  const p = profile === true ? FULL_PROFILE : profile === false ? NO_IDS_PROFILE : profile;
  const key =
    enginePrefix(engine, bundleHash) + principalFragment(req.principal, p) + str(req.action) + resourceFragment(req.resource, p) + contextFragment(req.context, p.context);
  return key.length > MAX_PLAIN_KEY ? '#' + sha256Hex(key) : key;
}
