/** The agent-bus server: HTTP + WebSocket API around an AgentBus. */
export { buildServer, DEFAULT_WEB_ROOT, type AgentBusServer, type BuildServerOptions } from './app.js';
export { startServer, defaultComponents, StartupError, BindRefusedError, type ServeOptions, type ServeComponents, type RunningServer, type ShutdownReport } from './serve.js';
export {
  loadServerConfig,
  validateServerConfig,
  ServerConfigSchema,
  DEFAULT_CONFIG,
  ENV_KEYS,
  ConfigError,
  describeProblem,
  isLoopback,
  redactConfig,
  type ServerConfig,
  type ApiKeyConfig,
  type JwtConfig,
  type LoadConfigInput,
  type ConfigProblem,
  type ConfigOrigin,
  type ConfigSource,
  type KeyProblem,
} from './config.js';
export { Authenticator, Role, DEV_PRINCIPAL, sha256Hex, type Principal, type AuthStats } from './auth.js';
export { signJwtHs256, verifyJwtHs256, type JwtClaims, type JwtVerifyOptions, type JwtResult } from './jwt.js';
export { ServerErrorCode, statusOf as httpStatusOf } from './errors.js';
export { journalPort, type DeliberationPort, type JournalPort, type DeliberationItemView, type DeliberationResult, type ReviewerDecisionInput, type AgentVoteInput } from './ports.js';
export { TokenBucket, BucketMap, Quotas, type QuotaStats } from './quotas.js';
export { SessionManager, AgentSession, type SessionStats, type Delivery } from './sessions.js';
export { WsClose } from './websocket.js';
export { SERVER_V8_FLAGS, tuneProcessForServer } from './runtime-tuning.js';
