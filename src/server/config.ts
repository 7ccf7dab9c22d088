import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { fieldPath } from '../message/schema-errors.js';
import { ID_PATTERN_SOURCE } from '../message/constants.js';
import { apiKeyProblems } from './auth.js';

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
    agentId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: ID_PATTERN_SOURCE })),
    /** The tenant the key belongs to; "*" (admin only) for every tenant. */
    tenantId: Type.String({ minLength: 1, maxLength: 64 }),
    roles: Type.Optional(Type.Array(Role, { minItems: 1, maxItems: 3 })),
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

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Where a value came from. A bad value from a flag is a usage error; from elsewhere, a configuration error. */
export type ConfigOrigin = 'default' | 'file' | 'env' | 'flag' | 'override';

export interface ConfigSource {
  readonly origin: ConfigOrigin;
  /** As the user gave it: the file name, `AGENT_BUS_PORT`, `--port`. */
  readonly label: string;
}

/** What is wrong at a key, naming it (`"port" must be <= 65535`), before its source is known. */
export interface KeyProblem {
  readonly key: string;
  readonly text: string;
}

/** One bad value: its source and what is wrong, naming the key. */
export interface ConfigProblem extends ConfigSource {
  readonly text: string;
}

export function describeProblem(problem: ConfigProblem): string {
  return `${problem.label}: ${problem.text}`;
}

/** A configuration that cannot be used: each problem names the key, what was expected and where the value came from. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    const lines = [...new Set(problems.map(describeProblem))];
    super(lines.length === 1 ? `invalid configuration: ${lines[0]}` : `invalid configuration:\n  ${lines.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

const DEFAULTS_SOURCE: ConfigSource = Object.freeze({ origin: 'default', label: 'defaults' });
const OVERRIDES_SOURCE: ConfigSource = Object.freeze({ origin: 'override', label: 'overrides' });
const UNNAMED_SOURCE: ConfigSource = Object.freeze({ origin: 'override', label: 'config' });

/** The source of the value at a key (`auth.apiKeys[2].agentId`). */
export type SourceOf = (key: string) => ConfigSource;

/** A key as the documentation writes it: dots between names, brackets around array indexes. */
function joinKey(parent: string, child: string | number): string {
  if (typeof child === 'number') return `${parent}[${child}]`;
  return parent === '' ? child : `${parent}.${child}`;
}

/** `auth.apiKeys[2].agentId` → `auth.apiKeys[2]` → `auth.apiKeys` → `auth` → ''. */
function parentKey(key: string): string {
  return key.slice(0, Math.max(key.lastIndexOf('.'), key.lastIndexOf('['), 0));
}

function isWithin(key: string, ancestor: string): boolean {
  return key.startsWith(ancestor + '.') || key.startsWith(ancestor + '[');
}

/** Which source set each key, recorded in merge order so that the later source wins, as in the merge. */
class ConfigSources {
  private readonly byKey = new Map<string, ConfigSource>();

  set(key: string, source: ConfigSource): void {
    this.byKey.delete(key);
    this.byKey.set(key, source);
  }

  /** Records every value of a partial configuration (arrays are values: merging replaces them whole). */
  setAll(values: Json, source: ConfigSource, prefix = ''): void {
    for (const [name, value] of Object.entries(values)) {
      const key = joinKey(prefix, name);
      if (isObject(value)) this.setAll(value, source, key);
      else this.set(key, source);
    }
  }

  /**
   * The source that set the key or the value holding it. A missing key has neither: it is blamed
   * on the latest source that set something next to it (e.g. the variable that created `auth.jwt`
   * without its secret).
   */
  of(key: string): ConfigSource {
    for (let at = key; at !== ''; at = parentKey(at)) {
      const exact = this.byKey.get(at);
      if (exact !== undefined) return exact;
      const inside = [...this.byKey].filter(([k]) => isWithin(k, at));
      if (inside.length > 0) return inside[inside.length - 1]![1];
    }
    return DEFAULTS_SOURCE;
  }
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validateConfig = ajv.compile(ServerConfigSchema);

/** `/auth/apiKeys/2/agentId` → `auth.apiKeys[2].agentId` (with additionalProperties: false, a number in a path is an index). */
function keyOfPointer(pointer: string): string {
  return fieldPath(pointer).replace(/^\./, '');
}

/** A union of literals fails with one `const` error per literal: their values are what was expected. */
function allowedValuesByPointer(errors: readonly ErrorObject[]): Map<string, unknown[]> {
  const allowed = new Map<string, unknown[]>();
  for (const e of errors) {
    if (e.keyword === 'const') allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), e.params.allowedValue]);
  }
  return allowed;
}

function schemaProblem(e: ErrorObject, allowed: ReadonlyMap<string, unknown[]>): KeyProblem | undefined {
  const key = keyOfPointer(e.instancePath);
  switch (e.keyword) {
    case 'additionalProperties': {
      const unknownKey = joinKey(key, String(e.params.additionalProperty));
      return { key: unknownKey, text: `unknown key "${unknownKey}"` };
    }
    case 'required': {
      const missing = joinKey(key, String(e.params.missingProperty));
      return { key: missing, text: `"${missing}" is required` };
    }
    case 'type':
      return { key, text: `"${key}" must be of type ${String(e.params.type)}` };
    case 'anyOf': {
      const values = allowed.get(e.instancePath);
      return { key, text: `"${key}" must be one of the allowed values${values === undefined ? '' : ` (${values.join(', ')})`}` };
    }
    case 'const':
      return undefined;
    default:
      return { key, text: `"${key}" ${e.message ?? 'is invalid'}` };
  }
}

function schemaProblems(errors: readonly ErrorObject[], sourceOf: SourceOf): ConfigProblem[] {
  const allowed = allowedValuesByPointer(errors);
  return errors.flatMap((e) => {
    const problem = schemaProblem(e, allowed);
    return problem === undefined ? [] : [{ ...sourceOf(problem.key), text: problem.text }];
  });
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

export type SettingKind = 'string' | 'int' | 'bool' | 'float';

/** A setting given as text (an environment variable or a command-line flag): the key it sets and how its text is read. */
export interface TextSetting {
  readonly path: readonly string[];
  readonly kind: SettingKind;
}

/** Environment variables and the key each sets; numbers and booleans are parsed. */
export const ENV_KEYS: Readonly<Record<string, TextSetting>> = Object.freeze({
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

/** A command-line flag that sets a key: `{ flag: '--port', path: ['port'], kind: 'int', text: '8080' }`. */
export interface FlagSetting extends TextSetting {
  readonly flag: string;
  readonly text: string;
}

interface GivenText {
  readonly source: ConfigSource;
  readonly setting: TextSetting;
  readonly text: string;
}

/** The value of a setting's text, or what was expected instead. */
function parseText(raw: string, kind: SettingKind): { value: unknown } | { expected: string } {
  if (kind === 'string') return { value: raw };
  if (kind === 'bool') {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return { value: true };
    if (['0', 'false', 'no', 'off', ''].includes(v)) return { value: false };
    return { expected: 'a boolean (true/false/1/0/yes/no/on/off)' };
  }
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (kind === 'int' && !Number.isInteger(n))) return { expected: kind === 'int' ? 'an integer' : 'a number' };
  return { value: n };
}

function setPath(target: Json, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Json;
  }
  node[path[path.length - 1]!] = value;
}

function envTexts(env: NodeJS.ProcessEnv): GivenText[] {
  return Object.entries(ENV_KEYS).flatMap(([name, setting]) => {
    const text = env[name];
    return text === undefined ? [] : [{ source: { origin: 'env', label: name } as const, setting, text }];
  });
}

function flagTexts(flags: readonly FlagSetting[]): GivenText[] {
  return flags.map((flag) => ({ source: { origin: 'flag', label: flag.flag } as const, setting: flag, text: flag.text }));
}

/** Sets each text's key in `target` (later texts win); throws one ConfigError naming every text that does not parse. */
function applyTexts(target: Json, texts: readonly GivenText[], sources: ConfigSources): void {
  const problems: ConfigProblem[] = [];
  for (const { source, setting, text } of texts) {
    const parsed = parseText(text, setting.kind);
    if ('expected' in parsed) {
      problems.push({ ...source, text: `expected ${parsed.expected}, got ${JSON.stringify(text)}` });
      continue;
    }
    setPath(target, setting.path, parsed.value);
    sources.set(setting.path.join('.'), source);
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

export function readConfigFile(file: string): Json {
  const problem = (text: string) => new ConfigError([{ origin: 'file', label: file, text }]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw problem(`cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw problem(`not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw problem('the top level must be a JSON object');
  return parsed;
}

/** `[::1]` → `::1`: the address as a URL writes it is accepted, and listened on without the brackets. */
function withoutBrackets(host: string): string {
  return /^\[.*\]$/.test(host) ? host.slice(1, -1) : host;
}

/**
 * Validates a merged configuration; throws ConfigError naming each bad key, what was expected and
 * where the value came from: `source` is a function of the key, or one label for every value (a
 * file name, say; default "config").
 */
export function validateServerConfig(candidate: Json, source: SourceOf | string = () => UNNAMED_SOURCE): ServerConfig {
  const sourceOf: SourceOf = typeof source === 'string' ? () => ({ origin: 'override', label: source }) : source;
  const copy = structuredClone(candidate);
  if (!validateConfig(copy)) throw new ConfigError(schemaProblems(validateConfig.errors ?? [], sourceOf));
  const config = copy as ServerConfig;
  const problems = apiKeyProblems(config.auth.apiKeys, 'auth.apiKeys');
  if (config.delivery.pullLeaseMs > config.delivery.maxPullLeaseMs) {
    problems.push({ key: 'delivery.pullLeaseMs', text: '"delivery.pullLeaseMs" must not exceed "delivery.maxPullLeaseMs"' });
  }
  if (problems.length > 0) throw new ConfigError(problems.map(({ key, text }) => ({ ...sourceOf(key), text })));
  config.host = withoutBrackets(config.host);
  return config;
}

export interface LoadConfigInput {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line flags, above the environment; errors name the flag. */
  flags?: readonly FlagSetting[];
  /** Programmatic overrides (highest precedence). */
  overrides?: Json;
}

/** Defaults ← file ← environment ← flags ← overrides, validated; errors name the source of each bad value. */
export function loadServerConfig(input: LoadConfigInput = {}): ServerConfig {
  const sources = new ConfigSources();
  let merged = structuredClone(DEFAULT_CONFIG) as unknown as Json;
  if (input.file !== undefined) {
    const fromFile = readConfigFile(input.file);
    merged = mergeConfig(merged, fromFile);
    sources.setAll(fromFile, { origin: 'file', label: input.file });
  }
  applyTexts(merged, [...envTexts(input.env ?? {}), ...flagTexts(input.flags ?? [])], sources);
  if (input.overrides !== undefined) {
    merged = mergeConfig(merged, input.overrides);
    sources.setAll(input.overrides, OVERRIDES_SOURCE);
  }
  return validateServerConfig(merged, (key) => sources.of(key));
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
