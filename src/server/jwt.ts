import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * JSON Web Tokens signed with HS256, verified with node:crypto only. Anything other than a
 * three-part compact token whose header says exactly `alg: "HS256"` is refused: no `none`, no
 * algorithm taken from the token to pick a key.
 */

export interface JwtClaims {
  sub?: string;
  iss?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  [claim: string]: unknown;
}

export interface JwtVerifyOptions {
  issuer?: string;
  audience?: string;
  /** Tolerance for exp / nbf / iat, in seconds. */
  clockSkewSec: number;
  /** Refuse tokens whose exp - iat exceeds this (0 = no limit). */
  maxLifetimeSec: number;
  /** Epoch seconds; defaults to now. */
  nowSec?: number;
}

export type JwtResult = { ok: true; claims: JwtClaims } | { ok: false; reason: string };

const MAX_TOKEN_LENGTH = 8192;
const B64URL = /^[A-Za-z0-9_-]*$/;

function fail(reason: string): JwtResult {
  return { ok: false, reason };
}

function decodeJsonPart(part: string): Record<string, unknown> | undefined {
  if (!B64URL.test(part)) return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function numericDate(claims: Record<string, unknown>, name: string): number | undefined | false {
  const v = claims[name];
  if (v === undefined) return undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : false;
}

export function verifyJwtHs256(token: string, secret: Buffer, options: JwtVerifyOptions): JwtResult {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_LENGTH) return fail('malformed token');
  const parts = token.split('.');
  if (parts.length !== 3) return fail('malformed token');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodeJsonPart(headerPart);
  if (header === undefined) return fail('malformed token header');
  if (header.alg !== 'HS256') return fail(`unsupported alg ${JSON.stringify(header.alg)} (only HS256)`);
  if (header.typ !== undefined && header.typ !== 'JWT') return fail('unsupported typ');
  if (header.crit !== undefined) return fail('unsupported crit header');
  if (!B64URL.test(signaturePart)) return fail('malformed signature');

  const expected = createHmac('sha256', secret).update(`${headerPart}.${payloadPart}`).digest();
  const given = Buffer.from(signaturePart, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return fail('bad signature');

  const claims = decodeJsonPart(payloadPart);
  if (claims === undefined) return fail('malformed token payload');
  const now = options.nowSec ?? Math.floor(Date.now() / 1000);
  const skew = options.clockSkewSec;
  const exp = numericDate(claims, 'exp');
  const nbf = numericDate(claims, 'nbf');
  const iat = numericDate(claims, 'iat');
  if (exp === false || nbf === false || iat === false) return fail('exp, nbf and iat must be numbers');
  if (exp === undefined) return fail('token has no exp');
  if (now > exp + skew) return fail('token expired');
  if (nbf !== undefined && now + skew < nbf) return fail('token not yet valid');
  if (iat !== undefined && now + skew < iat) return fail('token issued in the future');
  if (options.maxLifetimeSec > 0 && exp - (iat ?? now) > options.maxLifetimeSec) return fail('token lifetime exceeds the allowed maximum');
  if (options.issuer !== undefined && claims.iss !== options.issuer) return fail('wrong issuer');
  if (options.audience !== undefined) {
    const aud = claims.aud;
    const ok = typeof aud === 'string' ? aud === options.audience : Array.isArray(aud) && aud.includes(options.audience);
    if (!ok) return fail('wrong audience');
  }
  if (claims.jti !== undefined && (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 256)) return fail('malformed jti');
  return { ok: true, claims: claims as JwtClaims };
}

/** Signs claims as an HS256 JWT (for clients, tests and the CLI). */
export function signJwtHs256(claims: JwtClaims, secret: Buffer | string, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const s = createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url');
  return `${h}.${p}.${s}`;
}
