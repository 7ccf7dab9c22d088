import { isFinal, type DeliberationItem } from '../types.js';
import type { DeliberationStore } from './types.js';

/**
 * In-process store for tests and for deployments that accept losing held messages on restart.
 * Items are kept as JSON text so a reader never shares an object with the writer. Keeps at most
 * `retainFinished` finished items (oldest evicted first, counted).
 */
export class MemoryDeliberationStore implements DeliberationStore {
  readonly kind = 'memory';
  readonly shared = false;
  private readonly items = new Map<string, { version: number; json: string; final: boolean }>();
  private readonly finishedOrder: string[] = [];
  private writes = 0;
  private conflicts = 0;
  private evicted = 0;

  constructor(private readonly retainFinished = 10_000) {}

  async load(): Promise<DeliberationItem[]> {
    return [...this.items.values()].map((e) => JSON.parse(e.json) as DeliberationItem);
  }

  write(item: DeliberationItem): boolean {
    const current = this.items.get(item.id);
    if ((current?.version ?? 0) !== item.version - 1) {
      this.conflicts++;
      return false;
    }
    const final = isFinal(item.status);
    this.items.set(item.id, { version: item.version, json: JSON.stringify(item), final });
    this.writes++;
    if (final && current?.final !== true) {
      this.finishedOrder.push(item.id);
      while (this.finishedOrder.length > this.retainFinished) {
        this.items.delete(this.finishedOrder.shift()!);
        this.evicted++;
      }
    }
    return true;
  }

  read(id: string): DeliberationItem | undefined {
    const e = this.items.get(id);
    return e === undefined ? undefined : (JSON.parse(e.json) as DeliberationItem);
  }

  stats(): Record<string, number | string | boolean> {
    return { kind: this.kind, items: this.items.size, writes: this.writes, conflicts: this.conflicts, evictedFinished: this.evicted };
  }

  async close(): Promise<void> {}
}
