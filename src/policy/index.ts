export {
  PolicyEngineError,
  PolicyFailureKind,
  ResourceKind,
  SizeClass,
  type HashAuthority,
  type PolicyContext,
  type PolicyDecision,
  type PolicyEngine,
  type PolicyPrincipal,
  type PolicyRequest,
  type PolicyResource,
  type SynchronousPolicyEngine,
} from './types.js';
export {
  createRequestBuilder,
  createSituationCoder,
  sizeClassOf,
  stringSet,
  DEFAULT_SIZE_CLASS_BOUNDS,
  type RequestBuilder,
  type RequestBuilderOptions,
  type SituationCoder,
} from './request.js';
export { DecisionKeyMemo, DEFAULT_KEY_MEMO_LIMIT } from './key-memo.js';
export {
  decisionKey,
  FULL_PROFILE,
  MAX_PLAIN_KEY,
  NO_IDS_PROFILE,
  type ContextAttribute,
  type KeyProfile,
  type PrincipalAttribute,
  type ResourceAttribute,
} from './key.js';
export {
  DecisionCache,
  DEFAULT_CACHE_MAX_ENTRIES,
  DEFAULT_CACHE_TTL_MS,
  type DecisionCacheOptions,
  type DecisionCacheStats,
  type RedisTierClient,
  type RedisTierOptions,
} from './cache.js';
export { CedarEngine, readCedarFiles, PRINCIPAL_TYPE, RESOURCE_TYPE, type BundleFile, type CedarBundleInput, type CedarEngineOptions } from './cedar.js';
export { OpaHttpEngine, dataApiPath, type OpaHttpEngineOptions, type OpaHttpStats } from './opa-http.js';
export { PolicyBundleError, type BundleIssue } from './bundle-error.js';
export {
  bundleContentHash,
  bundleHashOf,
  readBundleDirectory,
  DEFAULT_BUNDLE_DIR,
  DEFAULT_BUNDLE_CONTENT_HASH,
  LEGACY_HASH_ALIASES,
  BUNDLE_SETTINGS_FILE,
  type BundleSettings,
  type BundleSource,
} from './bundle.js';
export {
  ConstitutionManager,
  type ConstitutionBundle,
  type ConstitutionEvent,
  type ConstitutionManagerOptions,
  type LoadResult,
  type ObjectBundle,
} from './constitution.js';
export { ShadowEvaluator, type ShadowDivergence, type ShadowOptions, type ShadowStats } from './shadow.js';
export {
  createPolicyStage,
  FailMode,
  type FailOpenEvent,
  type PolicyAnnotation,
  type PolicyStage,
  type PolicyStageOptions,
  type PolicyStageStats,
} from './stage.js';
