import { createHash, timingSafeEqual } from 'node:crypto';
import { TENANT_ID_PATTERN } from '../message/constants.js';
import { normalizeTenantId } from '../message/tenant.js';
import type { ApiKeyConfig, KeyProblem, ServerConfig } from './config.js';
import { failure, ServerErrorCode, type HttpFailure } from './errors.js';
import { verifyJwtHs256, type JwtClaims } from './jwt.js';

export const Role = { AGENT: 'agent', REVIEWER: 'reviewer', ADMIN: 'admin' } as const;
export type Role = (typeof Role)[keyof typeof Role];
const ROLES: ReadonlySet<string> = new Set(Object.values(Role));

/** Who is calling. In dev mode (no credentials configured) the caller may act as anyone. */
export interface Principal {
  readonly kind: 'api-key' | 'jwt' | 'dev';
  /** For logs and reviewer ids: the agent id, the key name or the token subject. */
  readonly subject: string;
  /** The agent this credential speaks for (undefined: none, or anyone in dev mode). */
  readonly agentId: string | undefined;
  /** The tenant the credential belongs to; '*' for every tenant (admin); undefined in dev mode. */
  readonly tenantId: string | undefined;
  readonly roles: ReadonlySet<Role>;
  /** Approver roles for deliberation policies (security_team, ...), passed to the deliberation service. */
  readonly approverRoles: readonly string[];
}

export const DEV_PRINCIPAL: Principal = Object.freeze({
  kind: 'dev',
  subject: 'dev',
  agentId: undefined,
  tenantId: undefined,
  roles: new Set<Role>([Role.AGENT, Role.REVIEWER, Role.ADMIN]),
  approverRoles: [],
});

export type AuthScope = 'http' | 'websocket';

export interface AuthStats {
  accepted: number;
  refused: number;
  replayed: number;
  jtiTracked: number;
  jtiEvictedEarly: number;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The SHA-256 (lower-case hex) an API key is found by: given as `sha256`, or computed from `key`. */
export function apiKeyDigest(entry: ApiKeyConfig): string {
  return (entry.sha256 ?? sha256Hex(entry.key ?? '')).toLowerCase();
}

function describeEntry(key: string, entry: ApiKeyConfig): string {
  return entry.name === undefined ? `"${key}"` : `"${key}" (${JSON.stringify(entry.name)})`;
}

/** What is wrong with one API-key entry that the schema cannot say; `key` is where it is (`auth.apiKeys[2]`). */
function apiKeyEntryProblems(entry: ApiKeyConfig, key: string): KeyProblem[] {
  const problems: KeyProblem[] = [];
  const roles = entry.roles ?? [Role.AGENT];
  if ((entry.sha256 === undefined) === (entry.key === undefined)) problems.push({ key, text: `"${key}" needs exactly one of "sha256" or "key"` });
  if (entry.tenantId === '*') {
    if (!roles.includes(Role.ADMIN)) problems.push({ key: `${key}.tenantId`, text: `"${key}.tenantId" may be "*" only for a key with the admin role` });
  } else if (normalizeTenantId(entry.tenantId) === undefined) {
    problems.push({ key: `${key}.tenantId`, text: `"${key}.tenantId" must match ${TENANT_ID_PATTERN} once trimmed and lower-cased (or be "*" for an admin key), got ${JSON.stringify(entry.tenantId)}` });
  }
  if (roles.includes(Role.AGENT) && entry.agentId === undefined) {
    problems.push({ key: `${key}.agentId`, text: `"${key}.agentId" is required: the key has the agent role${entry.roles === undefined ? ' (the default when "roles" is not given)' : ''}` });
  }
  return problems;
}

/**
 * Every API-key entry the Authenticator would refuse, and every key listed twice (one key cannot
 * stand for two principals), each named by its place under `prefix` (`auth.apiKeys[2].agentId`).
 */
export function apiKeyProblems(entries: readonly ApiKeyConfig[], prefix: string): KeyProblem[] {
  const problems: KeyProblem[] = [];
  const firstByDigest = new Map<string, number>();
  for (const [i, entry] of entries.entries()) {
    const key = `${prefix}[${i}]`;
    problems.push(...apiKeyEntryProblems(entry, key));
    const digest = apiKeyDigest(entry);
    const first = firstByDigest.get(digest);
    if (first === undefined) firstByDigest.set(digest, i);
    else problems.push({ key, text: `${describeEntry(key, entry)} is the same key as ${describeEntry(`${prefix}[${first}]`, entries[first]!)}: list each key once` });
  }
  return problems;
}

/**
 * Verifies API keys and JWTs and turns them into principals.
 *
 * API keys are held only as SHA-256 digests. A presented key is hashed and looked up by its
 * digest (the lookup reveals nothing usable: finding a key from its digest needs a preimage), and
 * the stored digest is then compared with timingSafeEqual.
 *
 * JWT `jti` values are one-time where configured (default: for WebSocket authentication): a jti
 * seen once is refused until its token expires. The set is bounded; the oldest entry is dropped
 * beyond the limit and counted in `jtiEvictedEarly` when its token had not yet expired.
 */
export class Authenticator {
  readonly enabled: boolean;
  private readonly keys = new Map<string, { digest: Buffer; principal: Principal }>();
  private readonly jwt: ServerConfig['auth']['jwt'];
  private readonly jwtSecret: Buffer | undefined;
  private readonly seenJti = new Map<string, number>();
  private readonly stats_: AuthStats = { accepted: 0, refused: 0, replayed: 0, jtiTracked: 0, jtiEvictedEarly: 0 };

  /** Throws on an API-key entry validateServerConfig refuses (a configuration that was not loaded through it). */
  constructor(config: ServerConfig['auth']) {
    const [problem] = apiKeyProblems(config.apiKeys, 'auth.apiKeys');
    if (problem !== undefined) throw new Error(`invalid configuration: ${problem.text}`);
    for (const entry of config.apiKeys) {
      const hex = apiKeyDigest(entry);
      const roles = new Set<Role>((entry.roles ?? [Role.AGENT]) as Role[]);
      const tenantId = entry.tenantId === '*' ? '*' : normalizeTenantId(entry.tenantId)!;
      this.keys.set(hex, {
        digest: Buffer.from(hex, 'hex'),
        principal: Object.freeze({ kind: 'api-key', subject: entry.agentId ?? entry.name ?? `key:${hex.slice(0, 8)}`, agentId: entry.agentId, tenantId, roles, approverRoles: Object.freeze([...(entry.approverRoles ?? [])]) }),
      });
    }
    this.jwt = config.jwt;
    this.jwtSecret = config.jwt === undefined ? undefined : Buffer.from(config.jwt.secret, 'utf8');
    this.enabled = this.keys.size > 0 || this.jwt !== undefined;
  }

  stats(): AuthStats {
    return { ...this.stats_, jtiTracked: this.seenJti.size };
  }

  /** Reads `Authorization: Bearer <jwt|key>`, `Authorization: ApiKey <key>` or `X-API-Key`. */
  authenticateHeaders(headers: Record<string, string | string[] | undefined>, scope: AuthScope): Principal | HttpFailure {
    if (!this.enabled) return DEV_PRINCIPAL;
    const authorization = headers.authorization;
    const apiKey = headers['x-api-key'];
    if (typeof authorization === 'string') {
      const space = authorization.indexOf(' ');
      const scheme = space < 0 ? '' : authorization.slice(0, space).toLowerCase();
      const value = space < 0 ? '' : authorization.slice(space + 1).trim();
      if (scheme === 'bearer') return this.authenticateCredential(value, scope);
      if (scheme === 'apikey') return this.authenticateApiKey(value);
      return this.refuse('unsupported Authorization scheme (use Bearer or ApiKey)');
    }
    if (typeof apiKey === 'string') return this.authenticateApiKey(apiKey);
    return this.refuse('authentication required: send Authorization: Bearer <token> or X-API-Key');
  }

  /** A bare credential: a JWT (three dot-separated parts) or an API key. */
  authenticateCredential(credential: string, scope: AuthScope): Principal | HttpFailure {
    if (!this.enabled) return DEV_PRINCIPAL;
    if (typeof credential !== 'string' || credential.length === 0) return this.refuse('empty credential');
    let dots = 0;
    for (let i = 0; i < credential.length && dots < 3; i++) if (credential.charCodeAt(i) === 46) dots++;
    return dots === 2 ? this.authenticateJwt(credential, scope) : this.authenticateApiKey(credential);
  }

  authenticateApiKey(key: string): Principal | HttpFailure {
    if (typeof key !== 'string' || key.length === 0 || key.length > 1024) return this.refuse('malformed API key');
    const hex = sha256Hex(key);
    const found = this.keys.get(hex);
    if (found === undefined || !timingSafeEqual(found.digest, Buffer.from(hex, 'hex'))) return this.refuse('unknown API key');
    this.stats_.accepted++;
    return found.principal;
  }

  authenticateJwt(token: string, scope: AuthScope, nowSec = Math.floor(Date.now() / 1000)): Principal | HttpFailure {
    if (this.jwt === undefined || this.jwtSecret === undefined) return this.refuse('JWT authentication is not configured');
    const result = verifyJwtHs256(token, this.jwtSecret, {
      issuer: this.jwt.issuer,
      audience: this.jwt.audience,
      clockSkewSec: this.jwt.clockSkewSec,
      maxLifetimeSec: this.jwt.maxLifetimeSec,
      nowSec,
    });
    if (!result.ok) return this.refuse(result.reason);
    const principal = this.principalOf(result.claims);
    if (typeof principal === 'string') return this.refuse(principal);
    const jti = result.claims.jti;
    const oneTime = this.jwt.oneTimeJti === 'always' || (this.jwt.oneTimeJti === 'websocket' && scope === 'websocket');
    if (oneTime && jti !== undefined) {
      const key = `${principal.tenantId}\u0000${principal.subject}\u0000${jti}`;
      const until = this.seenJti.get(key);
      if (until !== undefined && until >= nowSec) {
        this.stats_.replayed++;
        return this.refuse('token already used (jti replay)');
      }
      this.rememberJti(key, (result.claims.exp ?? nowSec) + this.jwt.clockSkewSec, nowSec);
    }
    this.stats_.accepted++;
    return principal;
  }

  private principalOf(claims: JwtClaims): Principal | string {
    const rawRoles = claims.roles ?? [Role.AGENT];
    if (!Array.isArray(rawRoles) || rawRoles.length > 3 || !rawRoles.every((r) => typeof r === 'string' && ROLES.has(r))) return 'roles must be a list of agent, reviewer, admin';
    const roles = new Set(rawRoles as Role[]);
    const rawTenant = claims.tenant_id ?? claims.tid ?? claims.tenantId;
    const tenantId = rawTenant === '*' && roles.has(Role.ADMIN) ? '*' : normalizeTenantId(rawTenant);
    if (tenantId === undefined) return 'token has no valid tenant_id claim';
    const rawAgent = claims.agent_id ?? claims.agentId ?? (roles.has(Role.AGENT) ? claims.sub : undefined);
    if (rawAgent !== undefined && (typeof rawAgent !== 'string' || rawAgent.length === 0 || rawAgent.length > 128)) return 'malformed agent_id claim';
    if (roles.has(Role.AGENT) && rawAgent === undefined) return 'a token with the agent role needs sub or agent_id';
    const subject = typeof claims.sub === 'string' && claims.sub.length > 0 ? claims.sub : (rawAgent as string | undefined);
    if (subject === undefined) return 'token has no sub';
    const rawApprover = claims.approver_roles ?? [];
    if (!Array.isArray(rawApprover) || rawApprover.length > 32 || !rawApprover.every((r) => typeof r === 'string' && r.length > 0 && r.length <= 64)) return 'approver_roles must be a list of names';
    return Object.freeze({ kind: 'jwt', subject, agentId: rawAgent as string | undefined, tenantId, roles, approverRoles: Object.freeze([...(rawApprover as string[])]) });
  }

  private rememberJti(key: string, until: number, nowSec: number): void {
    const limit = this.jwt?.maxTrackedJti ?? 100_000;
    // Entries are inserted roughly in expiry order: drop expired ones from the front first.
    for (const [k, u] of this.seenJti) {
      if (u >= nowSec && this.seenJti.size < limit) break;
      this.seenJti.delete(k);
      if (u >= nowSec) this.stats_.jtiEvictedEarly++;
    }
    this.seenJti.set(key, until);
  }

  private refuse(reason: string): HttpFailure {
    this.stats_.refused++;
    return failure(ServerErrorCode.UNAUTHENTICATED, reason);
  }
}

// ---- authorisation helpers (pure; used by every route) ------------------------------------

export function hasRole(principal: Principal, role: Role): boolean {
  return principal.roles.has(role);
}

/** The principal may see or act in `tenantId`. */
export function inTenant(principal: Principal, tenantId: string): boolean {
  return principal.tenantId === undefined || principal.tenantId === '*' || principal.tenantId === tenantId;
}

/** The tenant a listing is restricted to; undefined = every tenant. */
export function tenantScope(principal: Principal): string | undefined {
  return principal.tenantId === '*' ? undefined : principal.tenantId;
}

/** Refusal unless the principal acts as `agentId` (always allowed in dev mode). */
export function actsAs(principal: Principal, agentId: string): HttpFailure | undefined {
  if (principal.kind === 'dev' || principal.agentId === agentId) return undefined;
  return failure(ServerErrorCode.IDENTITY_MISMATCH, `authenticated as ${principal.agentId ?? principal.subject}, not as ${agentId}`);
}

export function requireRole(principal: Principal, role: Role): HttpFailure | undefined {
  return principal.roles.has(role) ? undefined : failure(ServerErrorCode.FORBIDDEN, `the ${role} role is required`);
}
