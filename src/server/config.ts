import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';

/**
 * The server's configuration: one TypeBox schema gives the type, the validator (ajv) and the
 * documentation in docs/configuration.md. Sources, lowest to highest precedence: built-in
 * defaults, the JSON file (`--config`), environment variables, command-line flags.
 */

const Role = Type.Union([Type.Literal('agent'), Type.Literal('reviewer'), Type.Literal('admin')]);

const ApiKeyEntry = Type.Object(
  {
    /** SHA-256 (hex) of the key; preferred, so the file never holds the key itself. */
    sha256: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{64}$' })),
    /** The key in clear (hashed at load, then dropped); for development only. */
    key: Type.Optional(Type.String({ minLength: 16 })),
    /** The agent this key speaks for; absent for a reviewer or admin key not bound to an agent. */
    agentId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    /** The tenant the key belongs to; "*" (admin only) for every tenant. */
    tenantId: Type.String({ minLength: 1, maxLength: 64 }),
    roles: Type.Optional(Type.Array(Role, { maxItems: 3 })),
    /** Approver roles a reviewer holds for deliberation policies (e.g. security_team, compliance_team). */
    approverRoles: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32 })),
    /** A name for logs (never the key). */
    name: Type.Optional(Type.String({ maxLength: 128 })),
  },
  { additionalProperties: false },
);

const RateSchema = Type.Object(
  {
    /** Sustained requests (messages) per second; 0 disables the limit. */
    ratePerSec: Type.Number({ minimum: 0 }),
    /** Bucket size: how many may arrive at once after a quiet period. */
    burst: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

export const ServerConfigSchema = Type.Object(
  {
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 0, maximum: 65535 }),
    dataDir: Type.String({ minLength: 1 }),
    logLevel: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    /** Serving a non-loopback address without authentication is refused unless this is true. */
    insecure: Type.Boolean(),
    /** Largest HTTP body and WebSocket frame accepted, in bytes. */
    bodyLimitBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 }),
    auth: Type.Object(
      {
        apiKeys: Type.Array(ApiKeyEntry, { maxItems: 100_000 }),
        jwt: Type.Optional(
          Type.Object(
            {
              /** HS256 secret, at least 32 bytes. */
              secret: Type.String({ minLength: 32 }),
              issuer: Type.Optional(Type.String({ minLength: 1 })),
              audience: Type.Optional(Type.String({ minLength: 1 })),
              clockSkewSec: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
              /** Tokens whose exp - iat exceeds this are refused (0 = no limit). */
              maxLifetimeSec: Type.Integer({ minimum: 0, default: 86_400 }),
              /** Where a token's jti may be used only once: 'websocket' (default), 'always', 'never'. */
              oneTimeJti: Type.Union([Type.Literal('websocket'), Type.Literal('always'), Type.Literal('never')], { default: 'websocket' }),
              /** jti entries remembered at most (oldest forgotten first; each is kept until its token's exp). */
              maxTrackedJti: Type.Integer({ minimum: 1, default: 100_000 }),
            },
            { additionalProperties: false },
          ),
        ),
      },
      { additionalProperties: false },
    ),
    quotas: Type.Object(
      {
        tenant: RateSchema,
        agent: RateSchema,
        /** Requests of one tenant being processed at once (sends awaiting a reply, long polls); 0 = unlimited. */
        maxInFlightPerTenant: Type.Integer({ minimum: 0 }),
        maxInFlightPerAgent: Type.Integer({ minimum: 0 }),
        /** Unacknowledged pushed messages of one tenant across its WebSocket sessions; 0 = unlimited. */
        maxUnackedPerTenant: Type.Integer({ minimum: 0 }),
        /** Buckets kept (per tenant + per agent); the least recently created is dropped beyond. */
        maxBuckets: Type.Integer({ minimum: 16 }),
      },
      { additionalProperties: false },
    ),
    delivery: Type.Object(
      {
        /** Messages an agent's session holds (queued + leased) before the bus inbox takes the overflow. */
        sessionCapacity: Type.Integer({ minimum: 1 }),
        /** An unacknowledged message older than this is expired (counted and logged). */
        retentionMs: Type.Integer({ minimum: 1000 }),
        /** Lease of a message pushed over WebSocket; redelivered when not acked within it. */
        ackTimeoutMs: Type.Integer({ minimum: 50 }),
        /** Default and maximum lease of a pulled message. */
        pullLeaseMs: Type.Integer({ minimum: 50 }),
        maxPullLeaseMs: Type.Integer({ minimum: 50 }),
        /** Longest long-poll wait. */
        maxPullWaitMs: Type.Integer({ minimum: 0, maximum: 300_000 }),
        /** Unacknowledged messages pushed to one WebSocket at once. */
        pushWindow: Type.Integer({ minimum: 1 }),
        /** How often leases and retention are checked. */
        sweepIntervalMs: Type.Integer({ minimum: 10 }),
        /**
         * The delivery ledger under `<dataDir>/delivery` (agent-bus serve): messages accepted and not
         * yet acknowledged survive a crash or a restart and are delivered again.
         */
        ledger: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    bus: Type.Object(
      {
        inboxCapacity: Type.Integer({ minimum: 1 }),
        drainTimeoutMs: Type.Integer({ minimum: 1 }),
        requestTimeoutMs: Type.Integer({ minimum: 1 }),
        maxAgents: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    /** Fault injection through the admin API and `agent-bus chaos`: refused unless enabled. */
    chaos: Type.Object(
      {
        enabled: Type.Boolean(),
        /** Also required when NODE_ENV is production. */
        allowInProduction: Type.Boolean(),
        /** Longest scenario (at most 300,000 ms). */
        maxDurationMs: Type.Integer({ minimum: 1, maximum: 300_000 }),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export type ServerConfig = Static<typeof ServerConfigSchema>;
export type ApiKeyConfig = Static<typeof ApiKeyEntry>;
export type JwtConfig = NonNullable<ServerConfig['auth']['jwt']>;
export type QuotaConfig = ServerConfig['quotas'];
export type DeliveryConfig = ServerConfig['delivery'];

export const DEFAULT_CONFIG: ServerConfig = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  dataDir: './data/runtime',
  logLevel: 'info',
  insecure: false,
  bodyLimitBytes: 1024 * 1024,
  auth: { apiKeys: [] },
  quotas: {
    tenant: { ratePerSec: 50_000, burst: 100_000 },
    agent: { ratePerSec: 20_000, burst: 40_000 },
    maxInFlightPerTenant: 10_000,
    maxInFlightPerAgent: 1_000,
    maxUnackedPerTenant: 100_000,
    maxBuckets: 100_000,
  },
  delivery: {
    sessionCapacity: 10_000,
    retentionMs: 300_000,
    ackTimeoutMs: 30_000,
    pullLeaseMs: 30_000,
    maxPullLeaseMs: 600_000,
    maxPullWaitMs: 30_000,
    pushWindow: 1_000,
    sweepIntervalMs: 250,
    ledger: true,
  },
  bus: { inboxCapacity: 10_000, drainTimeoutMs: 5_000, requestTimeoutMs: 30_000, maxAgents: 0 },
  chaos: { enabled: false, allowInProduction: false, maxDurationMs: 300_000 },
}) as ServerConfig;

/** A configuration problem: names the key (JSON pointer) and what was expected. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validateConfig = ajv.compile(ServerConfigSchema);

function describeError(e: ErrorObject, source: string): string {
  const key = e.instancePath === '' ? '(root)' : e.instancePath.slice(1).replaceAll('/', '.');
  switch (e.keyword) {
    case 'additionalProperties':
      return `${source}: unknown key "${key === '(root)' ? '' : key + '.'}${String(e.params.additionalProperty)}"`;
    case 'required':
      return `${source}: "${key === '(root)' ? '' : key + '.'}${String(e.params.missingProperty)}" is required`;
    case 'type':
      return `${source}: "${key}" must be of type ${String(e.params.type)}`;
    case 'anyOf':
      return `${source}: "${key}" must be one of the allowed values`;
    case 'const':
      return '';
    default:
      return `${source}: "${key}" ${e.message ?? 'is invalid'}`;
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge of plain objects (arrays and scalars replace). Keys like __proto__ are ignored. */
export function mergeConfig(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const key of Object.keys(over)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    const a = out[key];
    const b = over[key];
    out[key] = isObject(a) && isObject(b) ? mergeConfig(a, b) : b;
  }
  return out;
}

/** Environment variables and the key each sets; numbers and booleans are parsed. */
export const ENV_KEYS: Readonly<Record<string, { path: string[]; kind: 'string' | 'int' | 'bool' | 'float' }>> = Object.freeze({
  AGENT_BUS_HOST: { path: ['host'], kind: 'string' },
  AGENT_BUS_PORT: { path: ['port'], kind: 'int' },
  AGENT_BUS_DATA_DIR: { path: ['dataDir'], kind: 'string' },
  AGENT_BUS_LOG_LEVEL: { path: ['logLevel'], kind: 'string' },
  AGENT_BUS_INSECURE: { path: ['insecure'], kind: 'bool' },
  AGENT_BUS_BODY_LIMIT_BYTES: { path: ['bodyLimitBytes'], kind: 'int' },
  AGENT_BUS_JWT_SECRET: { path: ['auth', 'jwt', 'secret'], kind: 'string' },
  AGENT_BUS_JWT_ISSUER: { path: ['auth', 'jwt', 'issuer'], kind: 'string' },
  AGENT_BUS_JWT_AUDIENCE: { path: ['auth', 'jwt', 'audience'], kind: 'string' },
  AGENT_BUS_TENANT_RATE: { path: ['quotas', 'tenant', 'ratePerSec'], kind: 'float' },
  AGENT_BUS_TENANT_BURST: { path: ['quotas', 'tenant', 'burst'], kind: 'int' },
  AGENT_BUS_AGENT_RATE: { path: ['quotas', 'agent', 'ratePerSec'], kind: 'float' },
  AGENT_BUS_AGENT_BURST: { path: ['quotas', 'agent', 'burst'], kind: 'int' },
  AGENT_BUS_ACK_TIMEOUT_MS: { path: ['delivery', 'ackTimeoutMs'], kind: 'int' },
  AGENT_BUS_RETENTION_MS: { path: ['delivery', 'retentionMs'], kind: 'int' },
  AGENT_BUS_DELIVERY_LEDGER: { path: ['delivery', 'ledger'], kind: 'bool' },
  AGENT_BUS_DRAIN_TIMEOUT_MS: { path: ['bus', 'drainTimeoutMs'], kind: 'int' },
  AGENT_BUS_CHAOS_ENABLED: { path: ['chaos', 'enabled'], kind: 'bool' },
});

function parseEnvValue(name: string, raw: string, kind: 'string' | 'int' | 'bool' | 'float'): unknown {
  if (kind === 'string') return raw;
  if (kind === 'bool') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
    throw new ConfigError(`${name}: expected a boolean (true/false/1/0/yes/no/on/off), got ${JSON.stringify(raw)}`, [name]);
  }
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) {
    throw new ConfigError(`${name}: expected ${kind === 'int' ? 'an integer' : 'a number'}, got ${JSON.stringify(raw)}`, [name]);
  }
  return n;
}

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1]!] = value;
}

export function configFromEnv(env: NodeJS.ProcessEnv): Json {
  const out: Json = {};
  for (const [name, spec] of Object.entries(ENV_KEYS)) {
    const raw = env[name];
    if (raw === undefined) continue;
    setPath(out, spec.path, parseEnvValue(name, raw, spec.kind));
  }
  return out;
}

export function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, [file]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${(error as Error).message})`, [file]);
  }
  if (!isObject(parsed)) throw new ConfigError(`${file}: the top level must be a JSON object`, [file]);
  return parsed;
}

/** Validates a merged configuration; throws ConfigError naming each bad key. */
export function validateServerConfig(candidate: Json, source = 'config'): ServerConfig {
  const copy = structuredClone(candidate);
  if (!validateConfig(copy)) {
    const problems = [...new Set((validateConfig.errors ?? []).map((e) => describeError(e, source)).filter((p) => p !== ''))];
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, problems);
  }
  const config = copy as ServerConfig;
  for (const [i, key] of config.auth.apiKeys.entries()) {
    if ((key.sha256 === undefined) === (key.key === undefined)) {
      throw new ConfigError(`${source}: "auth.apiKeys.${i}" needs exactly one of "sha256" or "key"`, [`auth.apiKeys.${i}`]);
    }
    if (key.tenantId === '*' && !(key.roles ?? []).includes('admin')) {
      throw new ConfigError(`${source}: "auth.apiKeys.${i}.tenantId" may be "*" only for a key with the admin role`, [`auth.apiKeys.${i}.tenantId`]);
    }
  }
  if (config.delivery.pullLeaseMs > config.delivery.maxPullLeaseMs) {
    throw new ConfigError(`${source}: "delivery.pullLeaseMs" must not exceed "delivery.maxPullLeaseMs"`, ['delivery.pullLeaseMs']);
  }
  return config;
}

export interface LoadConfigInput {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line overrides (highest precedence). */
  overrides?: Json;
}

/** Defaults ← file ← environment ← overrides, validated. */
export function loadServerConfig(input: LoadConfigInput = {}): ServerConfig {
  let merged = structuredClone(DEFAULT_CONFIG) as unknown as Json;
  if (input.file !== undefined) merged = mergeConfig(merged, readConfigFile(input.file));
  merged = mergeConfig(merged, configFromEnv(input.env ?? {}));
  if (input.overrides !== undefined) merged = mergeConfig(merged, input.overrides);
  return validateServerConfig(merged, input.file ?? 'config');
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/** The configuration without secrets, for GET /v1/config and logs. */
export function redactConfig(config: ServerConfig): Record<string, unknown> {
  return {
    ...config,
    auth: {
      apiKeys: config.auth.apiKeys.map((k) => ({ name: k.name, agentId: k.agentId, tenantId: k.tenantId, roles: k.roles ?? ['agent'], approverRoles: k.approverRoles })),
      jwt: config.auth.jwt === undefined ? undefined : { ...config.auth.jwt, secret: '[redacted]' },
    },
  };
}
