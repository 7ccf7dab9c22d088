import { RejectionCode } from '../../errors.js';
import { isIssuedMessageId } from '../../message/ids.js';
import type { AgentMessage } from '../../message/schema.js';
import type { GovernanceContext, GovernanceStage } from '../stage.js';
import { PROCEED, reject, type Verdict } from '../verdict.js';

export interface DuplicateWindowOptions {
  /** How many recent message ids are remembered (default 200,000). */
  readonly capacity?: number;
  /** How long an id is remembered at least, unless capacity forces it out (ms, default 10 min). */
  readonly windowMs?: number;
}

/**
 * One generation of remembered ids: an open-addressing hash table of 64-bit fingerprints in a
 * typed array. Keeping fingerprints rather than the id strings keeps the strings out of the old
 * generation of the heap (retained strings made garbage collection the top cost of a send).
 * Two different ids share a fingerprint with probability ~2^-64 per pair.
 */
class FingerprintTable {
  private readonly slots: Uint32Array;
  private readonly mask: number;
  size = 0;

  constructor(capacity: number) {
    let n = 16;
    while (n < capacity * 2) n <<= 1;
    this.slots = new Uint32Array(n * 2);
    this.mask = n - 1;
  }

  /** Returns true when present; with `insert`, adds it when absent. */
  probe(h1: number, h2: number, insert: boolean): boolean {
    const slots = this.slots;
    let i = h1 & this.mask;
    for (;;) {
      const a = slots[i * 2]!;
      if (a === 0) {
        if (insert) {
          slots[i * 2] = h1;
          slots[i * 2 + 1] = h2;
          this.size++;
        }
        return false;
      }
      if (a === h1 && slots[i * 2 + 1] === h2) return true;
      i = (i + 1) & this.mask;
    }
  }

  remove(h1: number, h2: number): void {
    // Deletion in linear probing needs a tombstone: the slot stays occupied (probing continues
    // past it) with its second half flipped, which matches another id only with p ~ 2^-32.
    const slots = this.slots;
    let i = h1 & this.mask;
    for (;;) {
      const a = slots[i * 2]!;
      if (a === 0) return;
      if (a === h1 && slots[i * 2 + 1] === h2) {
        slots[i * 2 + 1] = ~h2 >>> 0 === h2 ? h2 ^ 1 : ~h2 >>> 0;
        return;
      }
      i = (i + 1) & this.mask;
    }
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
  }
}

let fp1 = 0;
let fp2 = 0;
let lastId = '';

/** Two independent 32-bit FNV-1a style hashes of a string; fp1 is never 0 (0 marks an empty slot). */
function fingerprint(id: string): void {
  if (id === lastId) return;
  lastId = id;
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ id.length;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  fp1 = (a | 1) >>> 0;
  fp2 = b >>> 0;
}

/**
 * Remembers accepted message ids in two generations: the current one fills, then becomes the
 * previous one when it holds half the capacity or half the window has passed. O(1) per message,
 * memory fixed by `capacity` (8 bytes x 4 per id), and an id is remembered for at least the
 * smaller of the window and capacity/2 accepted messages. Ids pushed out early by capacity are
 * counted in `evictedEarly`.
 */
export class DuplicateWindow {
  private current: FingerprintTable;
  private previous: FingerprintTable;
  private generationStart: number;
  private readonly half: number;
  private readonly halfWindowMs: number;
  evictedEarly = 0;
  private lastCheckedId = '';
  private lastIssued = false;

  constructor(options: DuplicateWindowOptions = {}, now = Date.now()) {
    const capacity = options.capacity ?? 200_000;
    const windowMs = options.windowMs ?? 600_000;
    if (!Number.isInteger(capacity) || capacity < 2) throw new TypeError('duplicateWindow.capacity must be an integer >= 2');
    if (!(windowMs > 0)) throw new TypeError('duplicateWindow.windowMs must be positive');
    this.half = Math.floor(capacity / 2);
    this.halfWindowMs = Math.max(1, Math.floor(windowMs / 2));
    this.current = new FingerprintTable(this.half);
    this.previous = new FingerprintTable(this.half);
    this.generationStart = now;
  }

  /** Whether the id was accepted within the window, or is one this process issued (then it always was). */
  has(id: string): boolean {
    if (this.issued(id)) return true;
    fingerprint(id);
    return this.current.probe(fp1, fp2, false) || this.previous.probe(fp1, fp2, false);
  }

  /**
   * Records an id; returns false when it was already there. `fresh` says the bus issued the id for
   * this message (src/message/ids.ts): such an id is recognised by its tag and need not be
   * remembered. A caller-set id that carries a valid tag was issued before: a duplicate.
   */
  add(id: string, now: number, fresh = false): boolean {
    if (fresh) return true;
    if (this.issued(id)) return false;
    fingerprint(id);
    const h1 = fp1;
    const h2 = fp2;
    if (this.previous.probe(h1, h2, false)) return false;
    if (this.current.size >= this.half || now - this.generationStart >= this.halfWindowMs) {
      if (now - this.generationStart < this.halfWindowMs) this.evictedEarly += this.previous.size;
      const recycled = this.previous;
      recycled.clear();
      this.previous = this.current;
      this.current = recycled;
      this.generationStart = now;
    }
    return !this.current.probe(h1, h2, true);
  }

  /**
   * isIssuedMessageId, remembered for the last id: the freshness stage asks has() and the bus then
   * add() for the same caller-set id, and the answer cannot change in between.
   */
  private issued(id: string): boolean {
    if (id !== this.lastCheckedId) {
      this.lastCheckedId = id;
      this.lastIssued = isIssuedMessageId(id);
    }
    return this.lastIssued;
  }

  /** Forgets an id whose message was not accepted after all (so a retry is not a duplicate). */
  forget(id: string): void {
    fingerprint(id);
    this.current.remove(fp1, fp2);
    this.previous.remove(fp1, fp2);
  }

  get size(): number {
    return this.current.size + this.previous.size;
  }
}

/** Refuses expired messages and message ids already accepted within the duplicate window. */
export class FreshnessStage implements GovernanceStage {
  readonly name = 'freshness';

  constructor(private readonly seen: DuplicateWindow) {}

  evaluate(message: AgentMessage, ctx: GovernanceContext): Verdict {
    if (message.expiresAt !== undefined && message.expiresAt <= ctx.now) {
      return reject(RejectionCode.EXPIRED, `message expired at ${new Date(message.expiresAt).toISOString()}`);
    }
    if (!ctx.idGenerated && this.seen.has(message.messageId)) {
      return reject(RejectionCode.DUPLICATE, `messageId ${message.messageId} was already accepted`);
    }
    return PROCEED;
  }
}
