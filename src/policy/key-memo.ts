/**
 * Decision-cache keys already built, by sender record, recipient record, action and situation
 * code (request.ts): a message in a situation seen before finds its key with four map lookups
 * instead of building its request and key string and hashing that string for the cache's map
 * (most of a cache hit's cost, and ~500 bytes of garbage per message).
 *
 * Registry records are replaced, not changed, when an agent re-registers, so a record stands for
 * the same principal or resource as long as it lives. Bounded: past `limit` keys the memo starts
 * over; the policy stage also clears it when the bundle (and so every key) changes.
 */
export const DEFAULT_KEY_MEMO_LIMIT = 65_536;

type ByCode = Map<number, string>;
type ByAction = Map<string, ByCode>;

/**
 * A sender's keys: the last one set in fields of its own (a sender usually repeats its situation:
 * one lookup and three comparisons, no further table to miss the CPU cache on), the others by
 * recipient, action and code.
 */
interface SenderKeys {
  recipient: object;
  action: string;
  code: number;
  key: string;
  others: Map<object, ByAction> | undefined;
}

export class DecisionKeyMemo {
  private bySender = new WeakMap<object, SenderKeys>();
  private count = 0;

  constructor(private readonly limit = DEFAULT_KEY_MEMO_LIMIT) {}

  get(sender: object, recipient: object, action: string, code: number): string | undefined {
    const keys = this.bySender.get(sender);
    if (keys === undefined) return undefined;
    if (keys.code === code && keys.recipient === recipient && keys.action === action) return keys.key;
    return keys.others?.get(recipient)?.get(action)?.get(code);
  }

  set(sender: object, recipient: object, action: string, code: number, key: string): void {
    if (this.count >= this.limit) this.clear();
    const keys = this.bySender.get(sender);
    if (keys === undefined) {
      this.bySender.set(sender, { recipient, action, code, key, others: undefined });
      this.count++;
      return;
    }
    if (keys.code === code && keys.recipient === recipient && keys.action === action) {
      keys.key = key;
      return;
    }
    // The last key moves to the others; the new one takes its place (and leaves the others if there).
    keys.others ??= new Map();
    setIn(keys.others, keys.recipient, keys.action, keys.code, keys.key);
    const found = keys.others.get(recipient)?.get(action);
    if (found?.delete(code) !== true) this.count++;
    keys.recipient = recipient;
    keys.action = action;
    keys.code = code;
    keys.key = key;
  }

  clear(): void {
    this.bySender = new WeakMap();
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }
}

function setIn(byRecipient: Map<object, ByAction>, recipient: object, action: string, code: number, key: string): void {
  let byAction = byRecipient.get(recipient);
  if (byAction === undefined) byRecipient.set(recipient, (byAction = new Map()));
  let byCode = byAction.get(action);
  if (byCode === undefined) byAction.set(action, (byCode = new Map()));
  byCode.set(code, key);
}
