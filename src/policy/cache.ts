import { createClient } from 'redis';
import { BusError, ErrorCode } from '../errors.js';
import type { PolicyDecision } from './types.js';

/**
 * Decision cache: a bounded LRU with a TTL in memory, and optionally a second tier in Redis shared
 * by several bus nodes. Redis failures are counted and ignored — they degrade the cache, never
 * change a decision. Only real decisions are cached (never engine failures or fail-open allows).
 */

/** The part of a node-redis v5 client the cache uses. */
export interface RedisTierClient {
  readonly isReady: boolean;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { expiration: { type: 'EX'; value: number } }): Promise<unknown>;
}

export interface RedisTierOptions {
  /** A connected node-redis client, owned by the caller. */
  client?: RedisTierClient;
  /** Or a URL: the cache creates, connects and closes its own client (offline queue disabled). */
  url?: string;
  /** Prepended to every key (default 'eab:policy:'). */
  keyPrefix?: string;
  /** Redis TTL in seconds (default: the memory TTL). */
  ttlSeconds?: number;
  /** A Redis read slower than this counts as an error and as a miss (default 50 ms). */
  timeoutMs?: number;
}

export interface DecisionCacheOptions {
  /** Default 10,000. */
  maxEntries?: number;
  /** Default 300,000 ms. */
  ttlMs?: number;
  redis?: RedisTierOptions;
}

export interface DecisionCacheStats {
  hits: number;
  misses: number;
  evictions: number;
  expirations: number;
  invalidations: number;
  redisHits: number;
  redisMisses: number;
  redisErrors: number;
  redisWrites: number;
  size: number;
}

/**
 * A node of the recency list. Hits only relink nodes: deleting and re-inserting the same key in a
 * V8 Map leaves deleted entries in that key's bucket chain, which made hits O(hits since rehash).
 */
interface Entry {
  readonly key: string;
  decision: PolicyDecision;
  expiresAt: number;
  newer: Entry | undefined;
  older: Entry | undefined;
  /** The cache's reorder count when this entry was last moved to the newest end. */
  touched: number;
}

export const DEFAULT_CACHE_MAX_ENTRIES = 10_000;
export const DEFAULT_CACHE_TTL_MS = 300_000;

export class DecisionCache {
  readonly maxEntries: number;
  readonly ttlMs: number;
  private readonly entries = new Map<string, Entry>();
  /** Most and least recently used. */
  private newest: Entry | undefined;
  private oldest: Entry | undefined;
  /**
   * Entries moved to or added at the newest end so far. A hit moves its entry only when at least
   * `relinkAfter` (half the capacity) reorders happened since the entry was last moved: an entry in
   * the newer half cannot reach the oldest end before as many more, so eviction stays least
   * recently used to within half the capacity, and hits on a hot working set write nothing (no
   * relinking of neighbours on every message).
   */
  private reorders = 0;
  private readonly relinkAfter: number;
  private readonly counters: Omit<DecisionCacheStats, 'size'> = {
    hits: 0,
    misses: 0,
    evictions: 0,
    expirations: 0,
    invalidations: 0,
    redisHits: 0,
    redisMisses: 0,
    redisErrors: 0,
    redisWrites: 0,
  };
  private redis: RedisTierClient | undefined;
  private readonly ownedRedis: { destroy(): void } | undefined;
  private readonly redisPrefix: string;
  private readonly redisTtlSeconds: number;
  private readonly redisTimeoutMs: number;
  private readonly connecting: Promise<void> | undefined;

  constructor(options: DecisionCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_CACHE_MAX_ENTRIES;
    this.ttlMs = options.ttlMs ?? DEFAULT_CACHE_TTL_MS;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new BusError(ErrorCode.INVALID_OPTIONS, 'policy cache maxEntries must be a positive integer');
    }
    if (!(this.ttlMs > 0)) throw new BusError(ErrorCode.INVALID_OPTIONS, 'policy cache ttlMs must be positive');
    this.relinkAfter = this.maxEntries >> 1;
    const r = options.redis;
    this.redisPrefix = r?.keyPrefix ?? 'eab:policy:';
    this.redisTtlSeconds = Math.max(1, Math.round(r?.ttlSeconds ?? this.ttlMs / 1000));
    this.redisTimeoutMs = r?.timeoutMs ?? 50;
    if (r?.client !== undefined) {
      this.redis = r.client;
    } else if (r?.url !== undefined) {
      // Owned client: commands fail fast while disconnected (no offline queue) and it reconnects in
      // the background; until then every Redis operation counts as an error and is skipped.
      const client = createClient({ url: r.url, disableOfflineQueue: true });
      this.ownedRedis = client;
      this.redis = client as unknown as RedisTierClient;
      this.connecting = new Promise<void>((resolve) => {
        client.once('ready', () => resolve());
        client.on('error', () => {
          this.counters.redisErrors++;
          resolve();
        });
      });
      client.connect().catch(() => {
        this.counters.redisErrors++;
      });
    }
  }

  /** Resolves once an owned Redis client is connected, or its first connection attempt failed. */
  async ready(): Promise<void> {
    await this.connecting;
  }

  get hasRemote(): boolean {
    return this.redis !== undefined;
  }

  /** Memory tier only; synchronous. `now` is epoch ms (the governance context's clock). */
  get(key: string, now: number): PolicyDecision | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) {
      this.counters.misses++;
      return undefined;
    }
    if (entry.expiresAt <= now) {
      this.remove(entry);
      this.counters.expirations++;
      this.counters.misses++;
      return undefined;
    }
    if (entry !== this.newest && this.reorders - entry.touched >= this.relinkAfter) {
      this.unlink(entry);
      this.linkNewest(entry);
    }
    this.counters.hits++;
    return entry.decision;
  }

  /** Stores in memory, and writes through to Redis in the background. */
  set(key: string, decision: PolicyDecision, now: number): void {
    this.setLocal(key, decision, now);
    const redis = this.redis;
    if (redis === undefined) return;
    if (!redis.isReady) {
      this.counters.redisErrors++;
      return;
    }
    redis.set(this.redisPrefix + key, JSON.stringify(decision), { expiration: { type: 'EX', value: this.redisTtlSeconds } }).then(
      () => {
        this.counters.redisWrites++;
      },
      () => {
        this.counters.redisErrors++;
      },
    );
  }

  /** Second tier: never rejects; a hit is copied into memory. */
  async getRemote(key: string, now: number): Promise<PolicyDecision | undefined> {
    const redis = this.redis;
    if (redis === undefined) return undefined;
    if (!redis.isReady) {
      this.counters.redisErrors++;
      return undefined;
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const text = await Promise.race([
        redis.get(this.redisPrefix + key),
        new Promise<never>((_, rejectTimeout) => {
          timer = setTimeout(() => rejectTimeout(new Error('redis read timed out')), this.redisTimeoutMs);
        }),
      ]);
      if (text === null) {
        this.counters.redisMisses++;
        return undefined;
      }
      const decision = parseDecision(text);
      if (decision === undefined) {
        this.counters.redisErrors++;
        return undefined;
      }
      this.counters.redisHits++;
      this.setLocal(key, decision, now);
      return decision;
    } catch {
      this.counters.redisErrors++;
      return undefined;
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** Drops every memory entry (bundle change). Redis entries are keyed by bundle hash and simply age out. */
  clear(): void {
    this.entries.clear();
    this.newest = undefined;
    this.oldest = undefined;
    this.counters.invalidations++;
  }

  /** Whether the memory tier holds `key` (expired or not); not a use: nothing moves, nothing is counted. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.entries.size;
  }

  stats(): DecisionCacheStats {
    return { ...this.counters, size: this.entries.size };
  }

  /** Drops the Redis tier; an owned client is destroyed, a caller's client is left open. */
  async close(): Promise<void> {
    this.redis = undefined;
    try {
      this.ownedRedis?.destroy();
    } catch {
      // Already closed.
    }
  }

  private setLocal(key: string, decision: PolicyDecision, now: number): void {
    const existing = this.entries.get(key);
    if (existing !== undefined) {
      existing.decision = decision;
      existing.expiresAt = now + this.ttlMs;
      if (existing !== this.newest) {
        this.unlink(existing);
        this.linkNewest(existing);
      }
      return;
    }
    if (this.entries.size >= this.maxEntries && this.oldest !== undefined) {
      this.remove(this.oldest);
      this.counters.evictions++;
    }
    const entry: Entry = { key, decision, expiresAt: now + this.ttlMs, newer: undefined, older: undefined, touched: 0 };
    this.linkNewest(entry);
    this.entries.set(key, entry);
  }

  private remove(entry: Entry): void {
    this.unlink(entry);
    this.entries.delete(entry.key);
  }

  private unlink(entry: Entry): void {
    if (entry.newer === undefined) this.newest = entry.older;
    else entry.newer.older = entry.older;
    if (entry.older === undefined) this.oldest = entry.newer;
    else entry.older.newer = entry.newer;
    entry.newer = undefined;
    entry.older = undefined;
  }

  private linkNewest(entry: Entry): void {
    entry.touched = ++this.reorders;
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = entry;
    this.newest = entry;
    if (this.oldest === undefined) this.oldest = entry;
  }
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function parseDecision(text: string): PolicyDecision | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const d = v as Record<string, unknown>;
  if (
    typeof d['allow'] !== 'boolean' ||
    !isStringArray(d['policyIds']) ||
    !isStringArray(d['diagnostics']) ||
    typeof d['engine'] !== 'string' ||
    typeof d['latencyUs'] !== 'number' ||
    typeof d['bundleHash'] !== 'string'
  ) {
    return undefined;
  }
  return Object.freeze({
    allow: d['allow'],
    policyIds: Object.freeze(d['policyIds']),
    diagnostics: Object.freeze(d['diagnostics']),
    engine: d['engine'],
    latencyUs: d['latencyUs'],
    bundleHash: d['bundleHash'],
  });
}
