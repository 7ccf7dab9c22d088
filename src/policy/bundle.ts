import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { canonicalJson, sha256Hex } from '../message/canonical.js';
import { CONSTITUTIONAL_HASH } from '../message/constants.js';
import { jsonErrorLocation, PolicyBundleError, type BundleIssue } from './bundle-error.js';
import type { BundleFile } from './cedar.js';

/**
 * A constitution bundle: Cedar policies + schema + the bus governance settings of `bundle.json`.
 * Its hash is the first 16 hex characters of the SHA-256 of the canonical JSON of
 * { files: [{ name, text }] sorted by name, settings }.
 */

/** Governance settings a bundle carries for the bus. Unknown keys are kept and passed through. */
export interface BundleSettings {
  readonly description?: string;
  /** Impact score at or above which a message goes to deliberation (0–1). */
  readonly impactThreshold?: number;
  /** Content screening on/off. */
  readonly screen?: boolean;
  /** How long the previous constitutional hash stays accepted after this bundle activates. */
  readonly rotationGraceSeconds?: number;
  readonly [key: string]: unknown;
}

export interface BundleSource {
  /** Policy (`*.cedar`) and schema files, by file name. */
  readonly files: readonly BundleFile[];
  readonly settings: BundleSettings;
}

export const BUNDLE_SETTINGS_FILE = 'bundle.json';

/**
 * The shipped default constitution, resolved from this module's location: src/policy/ (tsx) and
 * dist/policy/ (built) are both two levels below the package root.
 */
export const DEFAULT_BUNDLE_DIR = fileURLToPath(new URL('../../policies/default/', import.meta.url));

/**
 * Content hash of the shipped default constitution. That exact content is identified by the
 * legacy hash CONSTITUTIONAL_HASH ('cdd01ef066bc6cf2') instead, for compatibility with agents of the
 * original bus; a test keeps this pin equal to the files in policies/default/.
 */
export const DEFAULT_BUNDLE_CONTENT_HASH = '74d9a6bb92007b0c';

export const LEGACY_HASH_ALIASES: ReadonlyMap<string, string> = new Map([[DEFAULT_BUNDLE_CONTENT_HASH, CONSTITUTIONAL_HASH]]);

export function isPolicyFile(name: string): boolean {
  return name.endsWith('.cedar');
}

export function isSchemaFile(name: string): boolean {
  return name.endsWith('.cedarschema') || name.endsWith('.cedarschema.json');
}

export function bundleContentHash(source: BundleSource): string {
  const files = [...source.files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((f) => ({ name: f.name, text: f.text }));
  return sha256Hex(canonicalJson({ files, settings: source.settings })).slice(0, 16);
}

/** The hash a bundle is identified by: its content hash, or the legacy alias of the shipped default. */
export function bundleHashOf(source: BundleSource): { hash: string; contentHash: string } {
  const contentHash = bundleContentHash(source);
  return { hash: LEGACY_HASH_ALIASES.get(contentHash) ?? contentHash, contentHash };
}

export function checkSettings(settings: unknown, file = BUNDLE_SETTINGS_FILE): BundleIssue[] {
  const issue = (message: string): BundleIssue => ({ file, line: 0, column: 0, message });
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) return [issue('settings must be a JSON object')];
  const s = settings as Record<string, unknown>;
  const issues: BundleIssue[] = [];
  const t = s['impactThreshold'];
  if (t !== undefined && !(typeof t === 'number' && t >= 0 && t <= 1)) issues.push(issue('impactThreshold must be a number between 0 and 1'));
  if (s['screen'] !== undefined && typeof s['screen'] !== 'boolean') issues.push(issue('screen must be true or false'));
  const g = s['rotationGraceSeconds'];
  if (g !== undefined && !(typeof g === 'number' && Number.isFinite(g) && g >= 0)) {
    issues.push(issue('rotationGraceSeconds must be a non-negative number'));
  }
  if (s['description'] !== undefined && typeof s['description'] !== 'string') issues.push(issue('description must be a string'));
  return issues;
}

/** Reads a bundle directory: every `*.cedar`, the schema, and `bundle.json` (optional; `{}` when absent). */
export async function readBundleDirectory(dir: string): Promise<BundleSource> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (error) {
    throw new PolicyBundleError([{ file: dir, line: 0, column: 0, message: `cannot read bundle directory: ${(error as Error).message}` }]);
  }
  const files: BundleFile[] = [];
  for (const name of names) {
    if (isPolicyFile(name) || isSchemaFile(name)) files.push({ name, text: await readFile(path.join(dir, name), 'utf8') });
  }
  let settings: BundleSettings = {};
  if (names.includes(BUNDLE_SETTINGS_FILE)) {
    const text = await readFile(path.join(dir, BUNDLE_SETTINGS_FILE), 'utf8');
    try {
      settings = JSON.parse(text) as BundleSettings;
    } catch (error) {
      throw new PolicyBundleError([{ file: BUNDLE_SETTINGS_FILE, ...jsonErrorLocation(text, error), message: (error as Error).message }]);
    }
  }
  return { files, settings };
}
