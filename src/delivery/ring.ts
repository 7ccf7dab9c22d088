/**
 * A growable FIFO ring buffer. Capacity is a power of two so indexes wrap with a mask; it doubles
 * when full (the caller bounds the total), and never shrinks below its initial size.
 */
export class Ring<T> {
  private buffer: Array<T | undefined>;
  private mask: number;
  private head = 0;
  private tail = 0;

  constructor(initialCapacity = 16) {
    let capacity = 2;
    while (capacity < initialCapacity) capacity <<= 1;
    this.buffer = new Array<T | undefined>(capacity);
    this.mask = capacity - 1;
  }

  get length(): number {
    return (this.tail - this.head) & this.mask;
  }

  push(value: T): void {
    this.buffer[this.tail] = value;
    this.tail = (this.tail + 1) & this.mask;
    if (this.tail === this.head) this.grow();
  }

  shift(): T | undefined {
    if (this.head === this.tail) return undefined;
    const value = this.buffer[this.head];
    this.buffer[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    return value;
  }

  peek(): T | undefined {
    return this.head === this.tail ? undefined : this.buffer[this.head];
  }

  /** Whether any queued value passes `test` (oldest first). */
  some(test: (value: T) => boolean): boolean {
    for (let i = this.head; i !== this.tail; i = (i + 1) & this.mask) if (test(this.buffer[i]!)) return true;
    return false;
  }

  *drain(): Generator<T> {
    let value: T | undefined;
    while ((value = this.shift()) !== undefined) yield value;
  }

  private grow(): void {
    const old = this.buffer;
    const capacity = old.length * 2;
    const next = new Array<T | undefined>(capacity);
    // The buffer is full: head === tail. Copy head..end, then 0..tail.
    let j = 0;
    for (let i = this.head; i < old.length; i++) next[j++] = old[i];
    for (let i = 0; i < this.tail; i++) next[j++] = old[i];
    this.buffer = next;
    this.mask = capacity - 1;
    this.head = 0;
    this.tail = old.length;
  }
}
