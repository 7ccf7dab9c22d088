import { CONSTITUTIONAL_HASH } from '../message/constants.js';

/**
 * Which constitutional hashes the pin stage accepts. The constitution manager (policy bundles
 * with rotation) implements this; the static authority below serves a bus without bundles.
 */
export interface HashAuthority {
  readonly activeHash: string;
  accepts(hash: string, now: number): boolean;
}

/** Accepts the active hash and, for a rotation, a fixed set of others. */
export class StaticHashAuthority implements HashAuthority {
  readonly activeHash: string;
  private readonly others: ReadonlySet<string>;

  constructor(active: string = CONSTITUTIONAL_HASH, alsoAccepted: readonly string[] = []) {
    this.activeHash = active;
    this.others = new Set(alsoAccepted.filter((h) => h !== active));
  }

  accepts(hash: string): boolean {
    return hash === this.activeHash || (this.others.size > 0 && this.others.has(hash));
  }
}
