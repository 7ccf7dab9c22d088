/**
 * One walk over a free-form JSON object (content, payload, metadata) that checks it is plain JSON
 * (plain objects, arrays, strings, finite numbers, booleans, null), bounds its depth, and bounds
 * its serialized size.
 *
 * Size: the walk computes an upper bound of the UTF-8 JSON size (6 bytes per UTF-16 code unit
 * covers multi-byte characters and escapes). Only when that bound exceeds the limit is the exact
 * size computed with JSON.stringify, so ordinary messages never pay for serialization.
 */

export const CONTENT_OK = 0;
export const CONTENT_TOO_DEEP = -1;
export const CONTENT_NOT_JSON = -2;

let invalidPath = '';

/** Returns an upper bound of the serialized size, or CONTENT_TOO_DEEP / CONTENT_NOT_JSON. */
export function measureJsonObject(value: Readonly<Record<string, unknown>>, maxDepth: number): number {
  invalidPath = '';
  return walkObject(value as Record<string, unknown>, 1, maxDepth);
}

/** Where the last failed walk found a value JSON cannot carry (for the rejection reason). */
export function lastInvalidPath(): string {
  return invalidPath;
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function walkObject(obj: Record<string, unknown>, depth: number, maxDepth: number): number {
  if (depth > maxDepth) return CONTENT_TOO_DEEP;
  if (!isPlainObject(obj)) return CONTENT_NOT_JSON;
  let size = 2;
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const v = obj[key];
    if (v === undefined) continue;
    const s = walkValue(v, depth, maxDepth);
    if (s < 0) {
      if (invalidPath === '' || s === CONTENT_NOT_JSON) invalidPath = '/' + key + invalidPath;
      return s;
    }
    size += s + key.length * 6 + 4;
  }
  return size;
}

function walkValue(v: unknown, depth: number, maxDepth: number): number {
  switch (typeof v) {
    case 'string':
      return v.length * 6 + 2;
    case 'number':
      return Number.isFinite(v) ? 24 : CONTENT_NOT_JSON;
    case 'boolean':
      return 5;
    case 'object': {
      if (v === null) return 4;
      if (Array.isArray(v)) return walkArray(v, depth + 1, maxDepth);
      return walkObject(v as Record<string, unknown>, depth + 1, maxDepth);
    }
    default:
      return CONTENT_NOT_JSON;
  }
}

function walkArray(arr: unknown[], depth: number, maxDepth: number): number {
  if (depth > maxDepth) return CONTENT_TOO_DEEP;
  let size = 2;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    const s = v === undefined ? CONTENT_NOT_JSON : walkValue(v, depth, maxDepth);
    if (s < 0) {
      invalidPath = '/' + i + invalidPath;
      return s;
    }
    size += s + 1;
  }
  return size;
}

let snapshotSize = 0;
/** The JSON text's length in characters, counting an escaped character as one (its UTF-8 size for ASCII text with nothing escaped). */
let snapshotChars = 0;

/**
 * Copies a free-form JSON object into a deep-frozen snapshot owned by the bus, checking the same
 * rules as measureJsonObject in the same walk. What was governed is then exactly what is
 * delivered: a sender cannot change a message after the screen saw it, and one recipient of a
 * broadcast cannot change what the others receive. Returns the copy, or CONTENT_TOO_DEEP /
 * CONTENT_NOT_JSON; `lastSnapshotSize()` gives the size bound of the last successful copy, and
 * `lastSnapshotChars()` the exact length of its JSON text in characters.
 */
export function snapshotJsonObject(value: Readonly<Record<string, unknown>>, maxDepth: number): Record<string, unknown> | number {
  invalidPath = '';
  snapshotSize = 0;
  snapshotChars = 0;
  return copyObject(value as Record<string, unknown>, 1, maxDepth);
}

export function lastSnapshotSize(): number {
  return snapshotSize;
}

export function lastSnapshotChars(): number {
  return snapshotChars;
}

function copyObject(obj: Record<string, unknown>, depth: number, maxDepth: number): Record<string, unknown> | number {
  if (depth > maxDepth) return CONTENT_TOO_DEEP;
  if (!isPlainObject(obj)) return CONTENT_NOT_JSON;
  const out: Record<string, unknown> = {};
  snapshotSize += 2;
  snapshotChars += 2;
  let members = 0;
  for (const key in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, key)) continue;
    const v = obj[key];
    if (v === undefined) continue;
    const c = copyValue(v, depth, maxDepth);
    if (c === FAILED) {
      invalidPath = '/' + key + invalidPath;
      return failure;
    }
    if (key === '__proto__') Object.defineProperty(out, key, { value: c, enumerable: true, writable: false, configurable: false });
    else out[key] = c;
    snapshotSize += key.length * 6 + 4;
    snapshotChars += key.length + (members++ === 0 ? 3 : 4);
  }
  return Object.freeze(out);
}

const FAILED = Symbol('failed');
let failure = 0;

function copyValue(v: unknown, depth: number, maxDepth: number): unknown {
  switch (typeof v) {
    case 'string':
      snapshotSize += v.length * 6 + 2;
      snapshotChars += v.length + 2;
      return v;
    case 'number':
      if (!Number.isFinite(v)) {
        failure = CONTENT_NOT_JSON;
        return FAILED;
      }
      snapshotSize += 24;
      snapshotChars += numberChars(v);
      return v;
    case 'boolean':
      snapshotSize += 5;
      snapshotChars += v ? 4 : 5;
      return v;
    case 'object': {
      if (v === null) {
        snapshotSize += 4;
        snapshotChars += 4;
        return null;
      }
      const c = Array.isArray(v) ? copyArray(v, depth + 1, maxDepth) : copyObject(v as Record<string, unknown>, depth + 1, maxDepth);
      if (typeof c === 'number') {
        failure = c;
        return FAILED;
      }
      return c;
    }
    default:
      failure = CONTENT_NOT_JSON;
      return FAILED;
  }
}

function copyArray(arr: unknown[], depth: number, maxDepth: number): unknown[] | number {
  if (depth > maxDepth) return CONTENT_TOO_DEEP;
  const out = new Array<unknown>(arr.length);
  snapshotSize += 2;
  snapshotChars += arr.length === 0 ? 2 : arr.length + 1;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    const c = v === undefined ? ((failure = CONTENT_NOT_JSON), FAILED) : copyValue(v, depth, maxDepth);
    if (c === FAILED) {
      invalidPath = '/' + i + invalidPath;
      return failure;
    }
    out[i] = c;
    snapshotSize += 1;
  }
  Object.freeze(out);
  return out;
}

/**
 * A number's JSON text (`null` when not finite; String(v) for a finite one). Not String(): V8 keeps
 * each String(number) in its number-to-string cache, which lives in the old generation, so a
 * string made per message from a fraction or a large integer (a timestamp, a delivery id) survived
 * young collections and filled the old generation (a major collection every few seconds under
 * load). JSON.stringify writes the same digits into a string nothing else holds.
 */
export function numberText(v: number): string {
  return JSON.stringify(v);
}

/** Length of a finite number's JSON text: counted for small integers, else written. */
function numberChars(v: number): number {
  if (Number.isInteger(v) && v > -1e15 && v < 1e15) {
    let n = v < 0 ? 2 : 1;
    for (let x = Math.abs(v); x >= 10; x = Math.floor(x / 10)) n++;
    return n;
  }
  return numberText(v).length;
}

/** Exact UTF-8 size of the JSON text of a value already known to be plain JSON. */
export function exactJsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Exact UTF-8 size of a message's content + payload + metadata as JSON (what GovernanceContext.contentBytes bounds). */
export function exactContentBytes(content: unknown, payload: unknown, metadata: unknown): number {
  return exactJsonBytes(content) + (payload === undefined ? 0 : exactJsonBytes(payload)) + (metadata === undefined ? 0 : exactJsonBytes(metadata));
}
