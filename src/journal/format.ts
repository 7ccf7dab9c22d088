import { canonicalJson } from '../message/canonical.js';
import { sha256 } from './hash.js';
import { merkleRoot } from './merkle.js';
import type { Seal } from './types.js';

export const JOURNAL_FORMAT_VERSION = 1;
/** `prev` of the first seal of a journal. */
export const GENESIS_HASH = '0'.repeat(64);
/** Bytes of each leaf hash kept in a seal's `leaves` (diagnostics only; the root commits to all 32). */
export const LEAF_PREFIX_BYTES = 8;

const HEX64 = /^[0-9a-f]{64}$/;

/** Leaf prefixes as stored in a seal: base64 of the first LEAF_PREFIX_BYTES of each leaf. */
export function encodeLeafPrefixes(leaves: readonly string[]): string {
  let hex = '';
  for (const leaf of leaves) hex += leaf.slice(0, LEAF_PREFIX_BYTES * 2);
  return Buffer.from(hex, 'hex').toString('base64');
}

export function decodeLeafPrefixes(leaves: string): string[] {
  const hex = Buffer.from(leaves, 'base64').toString('hex');
  const out: string[] = [];
  for (let i = 0; i + LEAF_PREFIX_BYTES * 2 <= hex.length; i += LEAF_PREFIX_BYTES * 2) out.push(hex.slice(i, i + LEAF_PREFIX_BYTES * 2));
  return out;
}

export function leafPrefix(leaf: string): string {
  return leaf.slice(0, LEAF_PREFIX_BYTES * 2);
}

export interface SealInput {
  seal: number;
  first: number;
  leaves: readonly string[];
  prev: string;
  at: number;
  recovery?: Seal['recovery'];
}

/** Builds a seal for a batch of leaf hashes; returns it and its line (canonical JSON, no newline). */
export function buildSeal(input: SealInput): { seal: Seal; line: string } {
  return linkSeal({ ...input, count: input.leaves.length, root: merkleRoot(input.leaves), leaves: encodeLeafPrefixes(input.leaves) });
}

/** What a seal needs of its batch once the records are hashed (the Merkle root and the encoded leaf prefixes). */
export interface HashedSealInput {
  seal: number;
  first: number;
  count: number;
  root: string;
  leaves: string;
  prev: string;
  at: number;
  recovery?: Seal['recovery'];
}

/** The seal of a hashed batch, linked to the previous seal: the seal and its line (canonical JSON, no newline). */
export function linkSeal(input: HashedSealInput): { seal: Seal; line: string } {
  const body: Omit<Seal, 'hash'> = {
    v: JOURNAL_FORMAT_VERSION,
    seal: input.seal,
    first: input.first,
    last: input.first + input.count - 1,
    count: input.count,
    root: input.root,
    leaves: input.leaves,
    prev: input.prev,
    at: input.at,
    ...(input.recovery === undefined ? {} : { recovery: input.recovery }),
  };
  const hash = sha256(canonicalJson(body));
  const seal: Seal = { ...body, hash };
  return { seal, line: canonicalJson(seal) };
}

export type ParsedLine =
  | { kind: 'record'; seq: number; value: Record<string, unknown> }
  | { kind: 'seal'; value: Record<string, unknown> }
  | { kind: 'invalid'; reason: string };

/** Classifies one line: a seal has a numeric `seal` field, a record a numeric `seq`. */
export function parseLine(text: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'invalid', reason: 'not JSON' };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { kind: 'invalid', reason: 'not a JSON object' };
  const obj = value as Record<string, unknown>;
  if (typeof obj['seal'] === 'number') return { kind: 'seal', value: obj };
  if (typeof obj['seq'] === 'number' && Number.isSafeInteger(obj['seq'])) return { kind: 'record', seq: obj['seq'], value: obj };
  return { kind: 'invalid', reason: 'neither a record nor a seal' };
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Checks a parsed seal line on its own: field types, seq range arithmetic, canonical encoding
 * (so any byte change shows) and its self-hash. Returns the typed seal, or why it is bad.
 */
export function checkSeal(line: string, value: Record<string, unknown>): { seal: Seal } | { problem: string } {
  const { v, seal, first, last, count, root, leaves, prev, at, hash } = value;
  if (v !== JOURNAL_FORMAT_VERSION) return { problem: `unknown format version ${String(v)}` };
  if (!isCount(seal) || seal < 1 || !isCount(first) || !isCount(last) || !isCount(count) || !isCount(at)) return { problem: 'malformed numeric field' };
  if (typeof root !== 'string' || !HEX64.test(root) || typeof prev !== 'string' || !HEX64.test(prev) || typeof hash !== 'string' || !HEX64.test(hash)) {
    return { problem: 'malformed hash field' };
  }
  if (typeof leaves !== 'string') return { problem: 'malformed leaves field' };
  if (count < 1 || last - first + 1 !== count) return { problem: `seq range ${first}..${last} does not hold ${count} records` };
  const allowed = new Set(['v', 'seal', 'first', 'last', 'count', 'root', 'leaves', 'prev', 'at', 'recovery', 'hash']);
  for (const key of Object.keys(value)) if (!allowed.has(key)) return { problem: `unexpected field ${key}` };
  let canonical: string;
  try {
    canonical = canonicalJson(value);
  } catch {
    return { problem: 'not representable as canonical JSON' };
  }
  if (canonical !== line) return { problem: 'not in canonical form (bytes changed)' };
  const { hash: _stored, ...body } = value;
  if (sha256(canonicalJson(body)) !== hash) return { problem: 'seal hash does not match its content' };
  return { seal: value as unknown as Seal };
}
