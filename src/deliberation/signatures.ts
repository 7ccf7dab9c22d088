import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from '../message/canonical.js';
import type { VoteChoice } from './types.js';

/** The bytes a participant signs: canonical JSON of { itemId, messageDigest, vote }. */
export function votePayload(itemId: string, messageDigest: string, vote: VoteChoice): Buffer {
  return Buffer.from(canonicalJson({ itemId, messageDigest, vote }), 'utf8');
}

/** Ed25519 signature (base64) of a vote; what an agent holding `privateKey` sends with it. */
export function signVote(privateKey: KeyObject, itemId: string, messageDigest: string, vote: VoteChoice): string {
  return sign(null, votePayload(itemId, messageDigest, vote), privateKey).toString('base64');
}

/** Accepts a KeyObject, a PEM/SPKI string, or a base64 raw 32-byte Ed25519 key. */
export function toEd25519PublicKey(key: KeyObject | string): KeyObject {
  if (typeof key !== 'string') {
    if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('voter key must be Ed25519');
    return key.type === 'public' ? key : createPublicKey(key);
  }
  const k = key.includes('-----BEGIN')
    ? createPublicKey(key)
    : createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(key, 'base64').toString('base64url') }, format: 'jwk' });
  if (k.asymmetricKeyType !== 'ed25519') throw new TypeError('voter key must be Ed25519');
  return k;
}

export function verifyVote(publicKey: KeyObject, itemId: string, messageDigest: string, vote: VoteChoice, signature: string): boolean {
  if (typeof signature !== 'string' || signature.length === 0 || signature.length > 256) return false;
  const sig = Buffer.from(signature, 'base64');
  if (sig.length !== 64) return false;
  try {
    return verify(null, votePayload(itemId, messageDigest, vote), publicKey, sig);
  } catch {
    return false;
  }
}
