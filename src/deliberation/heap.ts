/**
 * Min-heap of (dueAt, id). Entries are never removed early: a stale entry (the item changed its
 * due time or finished) is skipped when it reaches the top, so rescheduling is one push.
 */
export class DueHeap {
  private readonly at: number[] = [];
  private readonly ids: string[] = [];

  get size(): number {
    return this.at.length;
  }

  push(dueAt: number, id: string): void {
    this.at.push(dueAt);
    this.ids.push(id);
    this.up(this.at.length - 1);
  }

  peekAt(): number | undefined {
    return this.at[0];
  }

  pop(): { dueAt: number; id: string } | undefined {
    const n = this.at.length;
    if (n === 0) return undefined;
    const top = { dueAt: this.at[0]!, id: this.ids[0]! };
    const lastAt = this.at.pop()!;
    const lastId = this.ids.pop()!;
    if (n > 1) {
      this.at[0] = lastAt;
      this.ids[0] = lastId;
      this.down(0);
    }
    return top;
  }

  clear(): void {
    this.at.length = 0;
    this.ids.length = 0;
  }

  private up(i: number): void {
    const at = this.at;
    const ids = this.ids;
    const a = at[i]!;
    const id = ids[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (at[p]! <= a) break;
      at[i] = at[p]!;
      ids[i] = ids[p]!;
      i = p;
    }
    at[i] = a;
    ids[i] = id;
  }

  private down(i: number): void {
    const at = this.at;
    const ids = this.ids;
    const n = at.length;
    const a = at[i]!;
    const id = ids[i]!;
    while (true) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && at[r]! < at[l]! ? r : l;
      if (at[c]! >= a) break;
      at[i] = at[c]!;
      ids[i] = ids[c]!;
      i = c;
    }
    at[i] = a;
    ids[i] = id;
  }
}
