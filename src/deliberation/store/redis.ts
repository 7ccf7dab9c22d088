import { createClient } from 'redis';
import { isFinal, type DeliberationItem } from '../types.js';
import type { DeliberationStore } from './types.js';

type Client = ReturnType<typeof createClient>;

export interface RedisStoreOptions {
  /** A connected node-redis 5 client (the store does not close it), or a URL to connect to (closed by close()). */
  readonly client?: Client;
  readonly url?: string;
  /** Key prefix, e.g. 'eab:delib:'. Every key the store touches starts with it. */
  readonly prefix?: string;
  /** How long a finished item stays readable (ms). Default 7 days. */
  readonly retainFinishedMs?: number;
}

/**
 * The one write operation, atomic on the server.
 * KEYS[1] item hash {v = version, j = item JSON}
 * KEYS[2] sorted set of open item ids (score = createdAt)
 * KEYS[3] sorted set of finished item ids (score = time finished)
 * ARGV[1] item id   ARGV[2] new version   ARGV[3] item JSON   ARGV[4] '1' when the item is final
 * ARGV[5] createdAt   ARGV[6] now   ARGV[7] retention of finished items (ms)
 * Returns 1 = written; 0 = refused because the stored version is not ARGV[2] - 1 (0 = absent).
 */
const WRITE_SCRIPT = `
local stored = redis.call('HGET', KEYS[1], 'v')
local expected = tonumber(ARGV[2]) - 1
if (stored == false and expected ~= 0) or (stored ~= false and tonumber(stored) ~= expected) then
  return 0
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'j', ARGV[3])
if ARGV[4] == '1' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[7])
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. tostring(tonumber(ARGV[6]) - tonumber(ARGV[7])))
else
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
end
return 1
`;

const LOAD_BATCH = 500;

/**
 * Items in Redis: one hash per item, an index of open items and one of finished items. Every
 * write is one Lua script (above), so a version bump and its index changes happen together or
 * not at all, and of two service instances moving the same item only one succeeds — which is what
 * makes approve-then-release happen once across nodes. Durability is Redis's own (AOF/RDB
 * settings of the server).
 */
export class RedisDeliberationStore implements DeliberationStore {
  readonly kind = 'redis';
  readonly shared = true;
  private sha = '';
  private writes = 0;
  private conflicts = 0;

  private constructor(
    private readonly client: Client,
    private readonly ownsClient: boolean,
    readonly prefix: string,
    private readonly retainFinishedMs: number,
  ) {}

  static async open(options: RedisStoreOptions): Promise<RedisDeliberationStore> {
    let client = options.client;
    const owns = client === undefined;
    if (client === undefined) {
      client = createClient({ url: options.url ?? 'redis://127.0.0.1:6379' });
      client.on('error', () => {
        // connection errors surface as rejected commands; the listener keeps node-redis from throwing
      });
      await client.connect();
    }
    const store = new RedisDeliberationStore(client, owns, options.prefix ?? 'eab:delib:', options.retainFinishedMs ?? 7 * 86_400_000);
    store.sha = await client.scriptLoad(WRITE_SCRIPT);
    return store;
  }

  private itemKey(id: string): string {
    return `${this.prefix}item:${id}`;
  }
  private get openKey(): string {
    return `${this.prefix}open`;
  }
  private get finishedKey(): string {
    return `${this.prefix}finished`;
  }

  async load(): Promise<DeliberationItem[]> {
    const ids = [
      ...(await this.client.zRange(this.openKey, 0, -1)),
      ...(await this.client.zRange(this.finishedKey, 0, -1)),
    ];
    const out: DeliberationItem[] = [];
    for (let i = 0; i < ids.length; i += LOAD_BATCH) {
      const multi = this.client.multi();
      for (const id of ids.slice(i, i + LOAD_BATCH)) multi.hGet(this.itemKey(id), 'j');
      const replies = (await multi.exec()) as unknown as (string | null)[];
      for (const json of replies) if (typeof json === 'string') out.push(JSON.parse(json) as DeliberationItem);
    }
    return out;
  }

  async write(item: DeliberationItem): Promise<boolean> {
    const args = {
      keys: [this.itemKey(item.id), this.openKey, this.finishedKey],
      arguments: [
        item.id,
        String(item.version),
        JSON.stringify(item),
        isFinal(item.status) ? '1' : '0',
        String(item.createdAt),
        String(item.updatedAt),
        String(this.retainFinishedMs),
      ],
    };
    let reply: unknown;
    try {
      reply = await this.client.evalSha(this.sha, args);
    } catch (err) {
      if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
      this.sha = await this.client.scriptLoad(WRITE_SCRIPT);
      reply = await this.client.evalSha(this.sha, args);
    }
    if (Number(reply) === 1) {
      this.writes++;
      return true;
    }
    this.conflicts++;
    return false;
  }

  async read(id: string): Promise<DeliberationItem | undefined> {
    const json = await this.client.hGet(this.itemKey(id), 'j');
    return typeof json === 'string' ? (JSON.parse(json) as DeliberationItem) : undefined;
  }

  /** Deletes every key under the prefix (tests, decommissioning). */
  async destroy(): Promise<void> {
    for await (const keys of this.client.scanIterator({ MATCH: `${this.prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await this.client.del(keys);
    }
  }

  stats(): Record<string, number | string | boolean> {
    return { kind: this.kind, prefix: this.prefix, writes: this.writes, conflicts: this.conflicts };
  }

  async close(): Promise<void> {
    if (this.ownsClient && this.client.isOpen) await this.client.close();
  }
}
