import { isThenable } from '../governance/verdict.js';
import type { TextModel } from './text-model.js';

export interface CachedTextModelStats {
  hits: number;
  misses: number;
  size: number;
}

/**
 * Remembers the predictions of a synchronous text model for recently seen texts: agents send
 * many messages from the same templates, and a Map lookup costs far less than a fastText
 * prediction. Two generations of maps keep it bounded (at most 2 × capacity texts) with O(1)
 * work per call; a text seen again while in the older generation is carried into the newer one.
 * Asynchronous predictions pass through uncached (OffThreadModel keeps its own cache).
 */
export class CachedTextModel implements TextModel {
  readonly name: string;
  private current = new Map<string, number>();
  private previous = new Map<string, number>();
  private readonly counters = { hits: 0, misses: 0 };

  constructor(
    readonly model: TextModel,
    private readonly capacity = 10_000,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('cache capacity must be a positive integer');
    this.name = model.name;
  }

  predict(text: string): number | PromiseLike<number> {
    let p = this.current.get(text);
    if (p !== undefined) {
      this.counters.hits++;
      return p;
    }
    p = this.previous.get(text);
    if (p !== undefined) {
      this.counters.hits++;
      this.remember(text, p);
      return p;
    }
    this.counters.misses++;
    const prediction = this.model.predict(text);
    if (!isThenable(prediction)) this.remember(text, prediction);
    return prediction;
  }

  stats(): CachedTextModelStats {
    return { ...this.counters, size: this.current.size + this.previous.size };
  }

  private remember(text: string, p: number): void {
    if (this.current.size >= this.capacity) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(text, p);
  }
}
