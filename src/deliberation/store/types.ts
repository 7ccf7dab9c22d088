import type { DeliberationItem } from '../types.js';

/**
 * Where items live. Every write carries the whole item at a new version; the store accepts it only
 * when the stored version is `item.version - 1` (0 = not stored yet) and answers false otherwise,
 * so two writers can never both move the same item forward (compare-and-set).
 *
 * Local stores (memory, file) answer synchronously and throw on I/O failure; remote stores
 * (Redis) answer with a promise.
 */
export interface DeliberationStore {
  readonly kind: string;
  /** Several service instances may use it at once: release leases are honoured on recovery. */
  readonly shared: boolean;
  /** Every item that is not final, plus the finished ones the store still retains. */
  load(): Promise<DeliberationItem[]>;
  write(item: DeliberationItem): boolean | Promise<boolean>;
  /** Re-reads one item after a lost compare-and-set (stores other writers can change). */
  read?(id: string): DeliberationItem | undefined | Promise<DeliberationItem | undefined>;
  /** Local stores that grow by appending: whether to compact, and the compaction itself. */
  needsCompaction?(liveItems: number): boolean;
  compact?(items: Iterable<DeliberationItem>): void;
  stats(): Record<string, number | string | boolean>;
  close(): Promise<void>;
}

export function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}
