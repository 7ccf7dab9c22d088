import { sha256Hex } from '../message/canonical.js';
import type { PolicyContext, PolicyPrincipal, PolicyRequest, PolicyResource } from './types.js';

/**
 * Cache keys. Every string is length-prefixed and every list count-prefixed, so the encoding is
 * injective: two requests give the same key only if every attribute the key covers is equal. Keys
 * longer than MAX_PLAIN_KEY are replaced by '#' + the full SHA-256 (never a truncated digest);
 * plain keys start with a digit, so the two forms cannot collide.
 */
export const MAX_PLAIN_KEY = 512;

function str(s: string): string {
  return s.length + ':' + s;
}

function list(items: readonly string[]): string {
  let out = items.length + '[';
  for (const item of items) out += item.length + ':' + item;
  return out;
}

// Fragments of the shared principal/resource objects (memoised per registry record) are memoised too.
const principalFragments = new WeakMap<PolicyPrincipal, [string | undefined, string | undefined]>();
const resourceFragments = new WeakMap<PolicyResource, [string | undefined, string | undefined]>();

function principalFragment(p: PolicyPrincipal, withIds: boolean): string {
  let memo = principalFragments.get(p);
  if (memo === undefined) principalFragments.set(p, (memo = [undefined, undefined]));
  const slot = withIds ? 1 : 0;
  return (memo[slot] ??= 'P' + (withIds ? str(p.id) : '') + str(p.agentType) + str(p.tenant) + list(p.roles));
}

function resourceFragment(r: PolicyResource, withIds: boolean): string {
  let memo = resourceFragments.get(r);
  if (memo === undefined) resourceFragments.set(r, (memo = [undefined, undefined]));
  const slot = withIds ? 1 : 0;
  return (memo[slot] ??=
    'R' + str(r.kind) + (withIds ? str(r.id) : '') + str(r.tenant) + str(r.agentType) + list(r.roles) + list(r.capabilities));
}

function contextFragment(c: PolicyContext): string {
  let out =
    'C' + c.priority + ';' + c.sizeClass + ';' + c.hour + ';' + c.weekday + ';' + list(c.labels) + str(c.constitutionalHash) + (c.hashAccepted ? 'T' : 'F');
  const content = c.content;
  if (content === undefined) return out + '-';
  const keys = Object.keys(content).sort();
  out += keys.length + '{';
  for (const k of keys) {
    const v = content[k]!;
    out += str(k) + (typeof v === 'string' ? 's' + str(v) : typeof v === 'number' ? 'n' + v + ';' : v ? 'T' : 'F');
  }
  return out;
}

/**
 * The cache key of a decision: engine name, bundle hash and the request attributes the engine sees.
 * With `withIds` false the principal and resource ids are left out (for engines whose policies
 * cannot depend on them).
 */
export function decisionKey(engine: string, bundleHash: string, req: PolicyRequest, withIds: boolean): string {
  const key =
    str(engine) + str(bundleHash) + principalFragment(req.principal, withIds) + str(req.action) + resourceFragment(req.resource, withIds) + contextFragment(req.context);
  return key.length > MAX_PLAIN_KEY ? '#' + sha256Hex(key) : key;
}
