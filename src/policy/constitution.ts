import { watch, type FSWatcher } from 'node:fs';
import { CONSTITUTIONAL_HASH } from '../message/constants.js';
import { PolicyBundleError } from './bundle-error.js';
import {
  bundleHashOf,
  checkSettings,
  DEFAULT_BUNDLE_DIR,
  isPolicyFile,
  isSchemaFile,
  readBundleDirectory,
  type BundleSettings,
  type BundleSource,
} from './bundle.js';
import { CedarEngine, type BundleFile } from './cedar.js';
import type { KeyProfile } from './key.js';
import { PolicyEngineError, PolicyFailureKind, type HashAuthority, type PolicyDecision, type PolicyRequest, type SynchronousPolicyEngine } from './types.js';

/**
 * Owns the active constitution bundle and its hash. Loading a bundle (API call or a change in a
 * watched directory) activates its hash and keeps accepting the previous hash for a grace window;
 * an invalid bundle leaves the last-known-good active and is reported (event + lastError).
 */

export interface ConstitutionBundle {
  /** The hash messages must name (the content hash, or the legacy alias of the shipped default). */
  readonly hash: string;
  readonly contentHash: string;
  readonly settings: BundleSettings;
  readonly engine: CedarEngine;
  /** Directory, or the label given to loadFromObject. */
  readonly source: string;
  readonly activatedAt: number;
}

export type ConstitutionEvent =
  | {
      readonly type: 'activated';
      readonly hash: string;
      readonly previousHash: string;
      readonly source: string;
      readonly at: number;
      /** The previous hash is accepted until this time (epoch ms). */
      readonly graceUntil: number;
      readonly settings: BundleSettings;
    }
  | { readonly type: 'rejected'; readonly source: string; readonly at: number; readonly error: PolicyBundleError };

export type LoadResult =
  | { readonly ok: true; readonly hash: string; readonly changed: boolean }
  | { readonly ok: false; readonly error: PolicyBundleError };

export interface ConstitutionManagerOptions {
  /** Grace window for the previous hash when the new bundle sets no rotationGraceSeconds (default 300,000 ms). */
  graceMs?: number;
  /** Quiet time after the last file change before a watched directory is reloaded (default 200 ms). */
  debounceMs?: number;
  /** Epoch-ms clock for activation times and grace windows (default Date.now). */
  clock?: () => number;
  /** Engine name in decisions and cache keys (default 'cedar'). */
  engineName?: string;
}

export type ObjectBundle = {
  /** File name → text (`*.cedar` and one schema file). */
  readonly files: Readonly<Record<string, string>> | readonly BundleFile[];
  readonly settings?: BundleSettings;
};

export class ConstitutionManager implements HashAuthority {
  /** Delegates to the active bundle's engine; its bundleHash follows rotations. Fails (never allows) when no bundle is loaded. */
  readonly engine: SynchronousPolicyEngine;
  private readonly active_: ActiveBundleEngine;
  private current: ConstitutionBundle | undefined;
  private previous: string | undefined;
  private graceEnd = 0;
  private error: PolicyBundleError | undefined;
  private readonly listeners = new Set<(event: ConstitutionEvent) => void>();
  private readonly graceMs: number;
  private readonly debounceMs: number;
  private readonly clock: () => number;
  private readonly engineName: string;
  private watcher: FSWatcher | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private loading: Promise<unknown> = Promise.resolve();

  constructor(options: ConstitutionManagerOptions = {}) {
    this.graceMs = options.graceMs ?? 300_000;
    this.debounceMs = options.debounceMs ?? 200;
    this.clock = options.clock ?? Date.now;
    this.engineName = options.engineName ?? 'cedar';
    this.active_ = new ActiveBundleEngine(this, this.engineName);
    this.engine = this.active_;
  }

  /** CONSTITUTIONAL_HASH until a bundle is loaded. */
  get activeHash(): string {
    return this.current?.hash ?? CONSTITUTIONAL_HASH;
  }

  get previousHash(): string | undefined {
    return this.previous;
  }

  /** End of the current grace window (epoch ms; 0 when none). */
  get graceUntil(): number {
    return this.graceEnd;
  }

  get active(): ConstitutionBundle | undefined {
    return this.current;
  }

  get settings(): BundleSettings {
    return this.current?.settings ?? {};
  }

  /** Why the most recent load failed (cleared by the next successful load). */
  get lastError(): PolicyBundleError | undefined {
    return this.error;
  }

  accepts(hash: string, now: number): boolean {
    // Reads fields, not the activeHash getter: this runs for every message.
    return hash === this.active_.bundleHash || (hash === this.previous && now < this.graceEnd);
  }

  onChange(listener: (event: ConstitutionEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Loads a bundle directory; loads are serialised in call order. */
  load(dir: string): Promise<LoadResult> {
    const run = this.loading.then(async () => {
      let source: BundleSource;
      try {
        source = await readBundleDirectory(dir);
      } catch (error) {
        return this.refuse(dir, error);
      }
      return this.activate(source, dir);
    });
    this.loading = run;
    return run;
  }

  loadDefault(): Promise<LoadResult> {
    return this.load(DEFAULT_BUNDLE_DIR);
  }

  /** Loads a bundle given as file texts and settings (synchronous: nothing to read). */
  loadFromObject(bundle: ObjectBundle, label = 'object'): LoadResult {
    const files = Array.isArray(bundle.files)
      ? (bundle.files as readonly BundleFile[])
      : Object.entries(bundle.files as Record<string, string>).map(([name, text]) => ({ name, text }));
    return this.activate({ files, settings: bundle.settings ?? {} }, label);
  }

  /** Reloads `dir` after changes to its files (debounced). The directory is not loaded now: call load(dir) first. */
  watch(dir: string): void {
    this.unwatch();
    this.watcher = watch(dir, { persistent: false }, () => {
      if (this.debounce !== undefined) clearTimeout(this.debounce);
      this.debounce = setTimeout(() => {
        this.debounce = undefined;
        void this.load(dir);
      }, this.debounceMs);
      this.debounce.unref();
    });
    this.watcher.on('error', (error) => this.refuse(dir, error));
  }

  unwatch(): void {
    if (this.debounce !== undefined) clearTimeout(this.debounce);
    this.debounce = undefined;
    this.watcher?.close();
    this.watcher = undefined;
  }

  async close(): Promise<void> {
    this.unwatch();
    await this.loading.catch(() => undefined);
    await this.current?.engine.close();
    this.current = undefined;
    this.active_.point(undefined, CONSTITUTIONAL_HASH);
    this.listeners.clear();
  }

  private activate(source: BundleSource, label: string): LoadResult {
    const settingIssues = checkSettings(source.settings);
    if (settingIssues.length > 0) return this.refuse(label, new PolicyBundleError(settingIssues, label));
    const schemas = source.files.filter((f) => isSchemaFile(f.name));
    if (schemas.length !== 1) {
      return this.refuse(
        label,
        new PolicyBundleError(
          [{ file: label, line: 0, column: 0, message: `expected exactly one *.cedarschema or *.cedarschema.json file, found ${schemas.length}` }],
          label,
        ),
      );
    }
    const { hash, contentHash } = bundleHashOf(source);
    if (this.current !== undefined && this.current.hash === hash) {
      this.error = undefined;
      return { ok: true, hash, changed: false };
    }
    let engine: CedarEngine;
    try {
      engine = CedarEngine.load(
        { policies: source.files.filter((f) => isPolicyFile(f.name)), schema: schemas[0]! },
        { name: this.engineName, bundleHash: hash },
      );
    } catch (error) {
      return this.refuse(label, error);
    }
    const now = this.clock();
    const previousHash = this.activeHash;
    const old = this.current;
    const graceSeconds = source.settings.rotationGraceSeconds;
    this.previous = previousHash;
    this.graceEnd = now + (typeof graceSeconds === 'number' ? graceSeconds * 1000 : this.graceMs);
    this.current = Object.freeze({ hash, contentHash, settings: Object.freeze({ ...source.settings }), engine, source: label, activatedAt: now });
    this.error = undefined;
    this.active_.point(engine, hash);
    void old?.engine.close();
    this.emit({ type: 'activated', hash, previousHash, source: label, at: now, graceUntil: this.graceEnd, settings: this.current.settings });
    return { ok: true, hash, changed: true };
  }

  private refuse(label: string, error: unknown): LoadResult {
    const bundleError =
      error instanceof PolicyBundleError
        ? error
        : new PolicyBundleError([{ file: label, line: 0, column: 0, message: error instanceof Error ? error.message : String(error) }], label);
    this.error = bundleError;
    this.emit({ type: 'rejected', source: label, at: this.clock(), error: bundleError });
    return { ok: false, error: bundleError };
  }

  private emit(event: ConstitutionEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // A failing listener must not stop a rotation or hide it from the others.
      }
    }
  }
}

/**
 * The manager's engine. Plain data properties, updated by the manager on activation (no getters:
 * hot paths read these on every message).
 */
class ActiveBundleEngine implements SynchronousPolicyEngine {
  readonly synchronous = true;
  bundleHash: string = CONSTITUTIONAL_HASH;
  usesEntityIds = true;
  keyProfile: KeyProfile | undefined = undefined;
  target: CedarEngine | undefined = undefined;

  constructor(
    private readonly manager: ConstitutionManager,
    readonly name: string,
  ) {}

  evaluate(req: PolicyRequest): PolicyDecision {
    const target = this.target;
    if (target === undefined) throw new PolicyEngineError(PolicyFailureKind.ERROR, 'no constitution bundle is loaded');
    return target.evaluate(req);
  }

  onBundleChange(listener: () => void): () => void {
    return this.manager.onChange((event) => {
      if (event.type === 'activated') listener();
    });
  }

  point(engine: CedarEngine | undefined, hash: string): void {
    this.target = engine;
    this.bundleHash = hash;
    this.usesEntityIds = engine?.usesEntityIds ?? true;
    this.keyProfile = engine?.keyProfile;
  }
}
