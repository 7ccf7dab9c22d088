import { randomFillSync } from 'node:crypto';

/**
 * Message ids the bus issues (for messages sent without one): lower-case UUID v4 strings whose
 * last 32 bits are a keyed tag of the 90 random bits before them. The duplicate window therefore
 * recognises an id this process issued without remembering it (a remembered id costs a cache
 * miss into a multi-megabyte table per message): a caller that later submits an issued id is
 * refused as DUPLICATE, whenever it does. The key is random per process.
 *
 * The tag is not a cryptographic MAC and need not be: an id that verifies without having been
 * issued can only be one its own sender chose (its message is then refused as a duplicate, as it
 * would be with probability 2⁻³² for a random UUID of its own), and an issued id always verifies.
 * 90 random bits keep issued ids unique (a collision is expected after ~2⁴⁵ ids) and unguessable.
 */

const IDS_PER_REFILL = 256;
const ID_CHARS = 36;
const pool = new Uint32Array(IDS_PER_REFILL * 3);
/** The next IDS_PER_REFILL ids as ASCII text: sliced out one at a time as flat strings (a string built by concatenation must be flattened by whoever reads it first). */
const text = Buffer.alloc(IDS_PER_REFILL * ID_CHARS);
let next = IDS_PER_REFILL;

const key = new Uint32Array(4);
randomFillSync(key);
const K0 = key[0]!;
const K1 = key[1]!;
const K2 = key[2]!;
const K3 = key[3]!;

const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');
/** charCode → nibble, -1 for anything but 0-9 a-f. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) NIBBLE[i.toString(16).charCodeAt(0)] = i;

function tag(w0: number, w1: number, w2: number): number {
  let h = Math.imul(K0 ^ w0, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h ^ w1 ^ K1, 0x85ebca77);
  h ^= h >>> 13;
  h = Math.imul(h ^ w2 ^ K2, 0xc2b2ae3d);
  h ^= h >>> 16;
  return (h ^ K3) >>> 0;
}

/** Writes the 8 hex digits of `w` at `at`, a dash after the first `dashAfter` digits (-1: none); returns the next offset. */
function writeHex(w: number, at: number, dashAfter: number): number {
  for (let shift = 28, n = 0; shift >= 0; shift -= 4, n++) {
    if (n === dashAfter) text[at++] = 45;
    text[at++] = HEX_DIGITS[(w >>> shift) & 15]!;
  }
  return at;
}

function refill(): void {
  randomFillSync(pool);
  for (let k = 0, at = 0; k < IDS_PER_REFILL; k++) {
    const w0 = pool[k * 3]!;
    // version 4 in the high nibble of byte 6, variant 10 in the high bits of byte 8
    const w1 = ((pool[k * 3 + 1]! & 0xffff0fff) | 0x00004000) >>> 0;
    const w2 = ((pool[k * 3 + 2]! & 0x3fffffff) | 0x80000000) >>> 0;
    // 8-4-4-4-12: w0, dash, w1 with a dash in its middle, dash, w2 with a dash in its middle, the tag
    at = writeHex(w0, at, -1);
    text[at++] = 45;
    at = writeHex(w1, at, 4);
    text[at++] = 45;
    at = writeHex(w2, at, 4);
    at = writeHex(tag(w0, w1, w2), at, -1);
  }
  next = 0;
}

/** A new message id: a random UUID v4 (RFC 9562) carrying this process's tag. */
export function issueMessageId(): string {
  if (next === IDS_PER_REFILL) refill();
  const at = next++ * ID_CHARS;
  return text.toString('latin1', at, at + ID_CHARS);
}

/** Eight hex digits at `from` (skipping the dash at `dash`, if any) as an unsigned word, or -1. */
function word(id: string, from: number, dash: number): number {
  let w = 0;
  for (let i = from, n = 0; n < 8; i++) {
    if (i === dash) continue;
    const c = id.charCodeAt(i);
    const v = c < 128 ? NIBBLE[c]! : -1;
    if (v < 0) return -1;
    w = (w << 4) | v;
    n++;
  }
  return w >>> 0;
}

/** True when `id` is one this process issued (or, with probability 2⁻³², a random lookalike). */
export function isIssuedMessageId(id: string): boolean {
  if (id.length !== 36 || id.charCodeAt(8) !== 45 || id.charCodeAt(13) !== 45 || id.charCodeAt(18) !== 45 || id.charCodeAt(23) !== 45) return false;
  // 8-4-4-4-12: words at 0..7, 9..17 (dash at 13), 19..27 (dash at 23), tag at 28..35
  const w0 = word(id, 0, -1);
  const w1 = word(id, 9, 13);
  const w2 = word(id, 19, 23);
  const t = word(id, 28, -1);
  if (w0 < 0 || w1 < 0 || w2 < 0 || t < 0) return false;
  return tag(w0, w1, w2) === t;
}
