import { TENANT_ID_PATTERN } from './constants.js';

/**
 * Tenant ids are compared only after normalisation: trimmed and lower-cased, then they must match
 * `[a-z0-9][a-z0-9_-]{2,63}`. Returns undefined for an id that cannot be a tenant.
 */
export function normalizeTenantId(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  if (TENANT_ID_PATTERN.test(raw)) return raw;
  if (raw.length > 256) return undefined;
  const normalized = raw.trim().toLowerCase();
  return TENANT_ID_PATTERN.test(normalized) ? normalized : undefined;
}
