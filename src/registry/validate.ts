import { BusError, ErrorCode } from '../errors.js';
import { CAPABILITY_PATTERN_SOURCE, DEFAULT_LIMITS, ID_PATTERN_SOURCE } from '../message/constants.js';
import { CONTENT_NOT_JSON, CONTENT_TOO_DEEP, measureJsonObject } from '../message/content.js';
import { normalizeTenantId } from '../message/tenant.js';
import type { AgentRegistration } from './types.js';

const ID = new RegExp(ID_PATTERN_SOURCE);
const CAPABILITY = new RegExp(CAPABILITY_PATTERN_SOURCE);
const AGENT_TYPE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export const AGENT_LIMITS = Object.freeze({ maxCapabilities: 64, maxMetadataBytes: 64 * 1024, maxMetadataDepth: 16 });

export interface ValidRegistration {
  agentId: string;
  tenantId: string;
  agentType: string;
  capabilities: readonly string[];
  metadata: Readonly<Record<string, unknown>>;
}

function invalid(message: string): BusError {
  return new BusError(ErrorCode.INVALID_AGENT, message);
}

/** Checks and normalises a registration; throws INVALID_AGENT naming the field. */
export function validateRegistration(input: AgentRegistration): ValidRegistration {
  if (typeof input !== 'object' || input === null) throw invalid('registration must be an object');
  const { agentId, agentType = 'default', capabilities = [], metadata = {} } = input;
  if (typeof agentId !== 'string' || agentId.length === 0 || agentId.length > DEFAULT_LIMITS.maxIdLength || !ID.test(agentId)) {
    throw invalid(`agentId must be 1-${DEFAULT_LIMITS.maxIdLength} characters of [A-Za-z0-9._:@/+=-], starting with a letter or digit`);
  }
  const tenantId = normalizeTenantId(input.tenantId);
  if (tenantId === undefined) throw invalid('tenantId must be 3-64 characters of [a-z0-9_-] after trimming and lower-casing');
  if (typeof agentType !== 'string' || !AGENT_TYPE.test(agentType)) throw invalid('agentType must be 1-64 characters of [A-Za-z0-9._:-]');
  if (!Array.isArray(capabilities) || capabilities.length > AGENT_LIMITS.maxCapabilities) {
    throw invalid(`capabilities must be an array of at most ${AGENT_LIMITS.maxCapabilities} names`);
  }
  for (const c of capabilities) {
    if (typeof c !== 'string' || !CAPABILITY.test(c)) throw invalid(`capability ${JSON.stringify(c)} must be 1-64 characters of [A-Za-z0-9._:/-]`);
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw invalid('metadata must be a JSON object');
  const size = measureJsonObject(metadata, AGENT_LIMITS.maxMetadataDepth);
  if (size === CONTENT_NOT_JSON) throw invalid('metadata must contain JSON values only');
  if (size === CONTENT_TOO_DEEP) throw invalid(`metadata is nested deeper than ${AGENT_LIMITS.maxMetadataDepth} levels`);
  if (size > AGENT_LIMITS.maxMetadataBytes && Buffer.byteLength(JSON.stringify(metadata)) > AGENT_LIMITS.maxMetadataBytes) {
    throw invalid(`metadata exceeds ${AGENT_LIMITS.maxMetadataBytes} bytes`);
  }
  return { agentId, tenantId, agentType, capabilities: Object.freeze([...new Set(capabilities)]), metadata };
}
