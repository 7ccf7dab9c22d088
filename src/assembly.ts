import path from 'node:path';
import { BusError, ErrorCode } from './errors.js';
import type { GovernanceStage } from './governance/stage.js';
import type { ScreenStage } from './governance/stages/screen.js';
import { DeliberationService, MemoryDeliberationStore, type DeliberationOptions } from './deliberation/index.js';
import { CachedTextModel } from './impact/cached-model.js';
import { createImpactStage, DEFAULT_IMPACT_THRESHOLD, DEFAULT_WEIGHTS, FACTOR_NAMES, FASTTEXT_BACKENDS, KeywordModel, loadDefaultTextModel, type FastTextBackend, type ImpactStage, type ImpactStageOptions, type TextModel } from './impact/index.js';
import { openJournal, type Journal, type JournalOptions } from './journal/index.js';
import { ConstitutionManager, createPolicyStage, DEFAULT_BUNDLE_DIR, type BundleSettings, type PolicyEngine, type PolicyStage, type PolicyStageOptions } from './policy/index.js';
import type { DecisionSink, HoldHandler } from './bus.js';

/** The policy stage. On by default, with the shipped default constitution evaluated by Cedar. */
export interface PolicyOptions extends Omit<PolicyStageOptions, 'engine' | 'constitution'> {
  /** A constitution bundle directory (default: the shipped default constitution). */
  bundleDir?: string;
  /** Reload the bundle directory when its files change (default false). */
  watch?: boolean;
  /** How long the previous constitutional hash stays accepted after a rotation (default 300,000 ms). */
  graceMs?: number;
  /** A constitution manager you own (rotation, watching); replaces bundleDir/watch/graceMs. */
  constitution?: ConstitutionManager;
  /** Another engine (e.g. OpaHttpEngine) instead of the constitution's Cedar engine. */
  engine?: PolicyEngine;
}

/** The impact stage. On by default, with the shipped fastText model (keyword scorer as fallback). */
export interface ImpactOptions extends Omit<ImpactStageOptions, 'model'> {
  /** 'fasttext' (default), 'keyword', or your own TextModel. */
  model?: 'fasttext' | 'keyword' | TextModel;
  /** How the fastText model runs: 'js' (default, pure TypeScript) or 'wasm' (fasttext.wasm). Same predictions. */
  backend?: FastTextBackend;
  /** Recent texts whose fastText prediction is remembered (default 10,000). */
  textCacheSize?: number;
}

export type JournalConfig = JournalOptions;
export type DeliberationConfig = DeliberationOptions;

export interface GovernanceOptions {
  policy?: false | PolicyOptions;
  impact?: false | ImpactOptions;
  /** A sink you own, options for a file journal, or false. Default: a file journal in `<dataDir>/journal` when dataDir is set, none otherwise. */
  journal?: false | DecisionSink | JournalConfig;
  /** A hold handler you own, options for the built-in service, or false (holds are then refused). Default: the built-in service — file-backed in `<dataDir>/deliberation` when dataDir is set, in memory otherwise. */
  deliberation?: false | HoldHandler | DeliberationConfig;
  /** Where the journal and the deliberation store live by default. */
  dataDir?: string;
  clock?: () => number;
  /** The bus's default content screen (no `screen` option given): the active bundle's `screen` setting turns it on and off. */
  bundleScreen?: ScreenStage;
}

/** What start() assembled; everything the bus opened itself is closed by close(). */
export interface Governance {
  readonly stages: GovernanceStage[];
  readonly policyStage: PolicyStage | undefined;
  readonly impactStage: ImpactStage | undefined;
  readonly constitution: ConstitutionManager | undefined;
  readonly journal: DecisionSink | undefined;
  readonly deliberation: HoldHandler | undefined;
  /** The built-in deliberation service, when that is what holds messages. */
  readonly deliberationService: DeliberationService | undefined;
  /** Why the impact model fell back to keywords, if it did. */
  readonly impactModelFallback: string | undefined;
  close(): Promise<void>;
}

function invalid(message: string): BusError {
  return new BusError(ErrorCode.INVALID_OPTIONS, message);
}

/** Checks the shape of the governance options at construction, before anything is opened. */
export function checkGovernanceOptions(options: GovernanceOptions): void {
  for (const key of ['policy', 'impact', 'journal', 'deliberation'] as const) {
    const value = options[key];
    if (value !== undefined && value !== false && (typeof value !== 'object' || value === null)) throw invalid(`${key} must be false or an object`);
  }
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir === '')) throw invalid('dataDir must be a non-empty path');
  const impact = options.impact;
  if (impact && impact.model !== undefined && impact.model !== 'fasttext' && impact.model !== 'keyword' && typeof impact.model?.predict !== 'function') {
    throw invalid("impact.model must be 'fasttext', 'keyword' or a TextModel with predict(text)");
  }
  if (impact && impact.backend !== undefined && !FASTTEXT_BACKENDS.includes(impact.backend)) throw invalid("impact.backend must be 'js' or 'wasm'");
  if (impact) checkImpactOptions(impact);
}

const inUnitInterval = (v: unknown): boolean => typeof v === 'number' && v >= 0 && v <= 1;
const isPositiveInteger = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 1;

/** The impact stage's own checks (RangeError at start) made at construction, as INVALID_OPTIONS naming the option. */
function checkImpactOptions(impact: ImpactOptions): void {
  for (const name of ['threshold', 'criticalPriorityBoost', 'highSemanticBoost'] as const) {
    if (impact[name] !== undefined && !inUnitInterval(impact[name])) throw invalid(`impact.${name} must be a number within [0, 1]`);
  }
  for (const name of ['maxTrackedAgents', 'maxTextChars', 'textCacheSize'] as const) {
    if (impact[name] !== undefined && !isPositiveInteger(impact[name])) throw invalid(`impact.${name} must be a positive integer`);
  }
  const tenants = impact.tenantThresholds;
  if (tenants !== undefined) {
    const entries = tenants instanceof Map ? [...tenants.entries()] : typeof tenants === 'object' && tenants !== null ? Object.entries(tenants) : undefined;
    if (entries === undefined) throw invalid('impact.tenantThresholds must be an object or a Map of tenant id to threshold');
    for (const [tenant, value] of entries) if (!inUnitInterval(value)) throw invalid(`impact.tenantThresholds.${tenant} must be a number within [0, 1]`);
  }
  const weights = impact.weights;
  if (weights !== undefined) {
    if (typeof weights !== 'object' || weights === null) throw invalid('impact.weights must be an object');
    for (const [name, w] of Object.entries(weights)) {
      if (!(FACTOR_NAMES as readonly string[]).includes(name)) throw invalid(`impact.weights.${name} is not a factor (${FACTOR_NAMES.join(', ')})`);
      if (!(typeof w === 'number' && Number.isFinite(w) && w >= 0)) throw invalid(`impact.weights.${name} must be a finite number >= 0`);
    }
    const effective: Record<string, number> = { ...DEFAULT_WEIGHTS, ...weights };
    if (!FACTOR_NAMES.some((name) => effective[name]! > 0)) throw invalid('impact.weights: at least one weight must be positive');
  }
  if (impact.timeZone !== undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: impact.timeZone });
    } catch {
      throw invalid(`impact.timeZone ${JSON.stringify(impact.timeZone)} is not an IANA time zone`);
    }
  }
}

/** Opens the policy engine, the impact model, the journal and the deliberation service. */
export async function assembleGovernance(options: GovernanceOptions): Promise<Governance> {
  const opened: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const fn of opened.reverse()) await fn().catch(() => undefined);
  };
  try {
    const stages: GovernanceStage[] = [];

    let constitution: ConstitutionManager | undefined;
    let policyStage: PolicyStage | undefined;
    if (options.policy !== false) {
      const { bundleDir, watch, graceMs, constitution: own, engine, ...stageOptions } = options.policy ?? {};
      constitution = own;
      if (constitution === undefined && engine === undefined) {
        constitution = new ConstitutionManager({ graceMs, clock: options.clock });
        const loaded = await constitution.load(bundleDir ?? DEFAULT_BUNDLE_DIR);
        if (!loaded.ok) throw loaded.error;
        if (watch === true) {
          const manager = constitution;
          manager.watch(bundleDir ?? DEFAULT_BUNDLE_DIR);
          opened.push(async () => manager.close());
        }
      }
      policyStage = createPolicyStage({ ...stageOptions, constitution, engine });
      stages.push(policyStage);
    }
    // Bus settings a stage takes from the active bundle (when its own option does not set them), now and after every rotation.
    const followBundle = (apply: (settings: BundleSettings) => void): void => {
      if (constitution === undefined) return;
      const manager = constitution;
      apply(manager.settings);
      const unfollow = manager.onChange((event) => {
        if (event.type === 'activated') apply(manager.settings);
      });
      opened.push(async () => unfollow());
    };
    const screen = options.bundleScreen;
    if (screen !== undefined) followBundle((settings) => (screen.enabled = settings.screen !== false));

    let impactStage: ImpactStage | undefined;
    let impactModelFallback: string | undefined;
    if (options.impact !== false) {
      const { model: choice = 'fasttext', backend, textCacheSize = 10_000, ...stageOptions } = options.impact ?? {};
      let model: TextModel;
      if (choice === 'keyword') model = new KeywordModel();
      else if (choice === 'fasttext') {
        const loaded = await loadDefaultTextModel({ backend, onFallback: (reason) => (impactModelFallback = reason) });
        model = new CachedTextModel(loaded.model, textCacheSize);
      } else model = choice;
      const stage = createImpactStage({ ...stageOptions, model });
      if (stageOptions.threshold === undefined) followBundle((settings) => stage.setThreshold(numberSetting(settings.impactThreshold) ?? DEFAULT_IMPACT_THRESHOLD));
      impactStage = stage;
      stages.push(stage);
    }

    let journal: DecisionSink | undefined;
    const journalOption = options.journal;
    if (journalOption !== false && (journalOption !== undefined || options.dataDir !== undefined)) {
      if (journalOption !== undefined && typeof (journalOption as DecisionSink).append === 'function') {
        journal = journalOption as DecisionSink;
      } else {
        const config = (journalOption ?? {}) as JournalConfig;
        const dir = config.sink === undefined ? (config.dir ?? path.join(options.dataDir ?? '.', 'journal')) : config.dir;
        const file: Journal = await openJournal({ ...config, dir });
        opened.push(() => file.close());
        journal = file;
      }
    }

    let deliberation: HoldHandler | undefined;
    let deliberationService: DeliberationService | undefined;
    const deliberationOption = options.deliberation;
    if (deliberationOption !== false) {
      if (deliberationOption !== undefined && typeof (deliberationOption as HoldHandler).hold === 'function') {
        deliberation = deliberationOption as HoldHandler;
        if (deliberation instanceof DeliberationService) deliberationService = deliberation;
      } else {
        const config = (deliberationOption ?? {}) as DeliberationConfig;
        const store = config.store ?? (config.dataDir === undefined && options.dataDir === undefined ? new MemoryDeliberationStore() : undefined);
        const service = await DeliberationService.open({
          ...config,
          store,
          dataDir: config.dataDir ?? (options.dataDir === undefined ? undefined : path.join(options.dataDir, 'deliberation')),
        });
        opened.push(() => service.close());
        deliberation = service;
        deliberationService = service;
      }
    }

    return { stages, policyStage, impactStage, constitution, journal, deliberation, deliberationService, impactModelFallback, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function numberSetting(value: unknown): number | undefined {
  return typeof value === 'number' && value >= 0 && value <= 1 ? value : undefined;
}
