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

export class DecisionKeyMemo {
  private bySender = new WeakMap<object, Map<object, ByAction>>();
  private count = 0;

  constructor(private readonly limit = DEFAULT_KEY_MEMO_LIMIT) {}

  get(sender: object, recipient: object, action: string, code: number): string | undefined {
    return this.bySender.get(sender)?.get(recipient)?.get(action)?.get(code);
  }

  set(sender: object, recipient: object, action: string, code: number, key: string): void {
    if (this.count >= this.limit) this.clear();
    let byRecipient = this.bySender.get(sender);
    if (byRecipient === undefined) this.bySender.set(sender, (byRecipient = new Map()));
    let byAction = byRecipient.get(recipient);
    if (byAction === undefined) byRecipient.set(recipient, (byAction = new Map()));
    let byCode = byAction.get(action);
    if (byCode === undefined) byAction.set(action, (byCode = new Map()));
    if (!byCode.has(code)) this.count++;
    byCode.set(code, key);
  }

  clear(): void {
    this.bySender = new WeakMap();
    this.count = 0;
  }

  get size(): number {
    return this.count;
  }
}
