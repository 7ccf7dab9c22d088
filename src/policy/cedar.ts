import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import v8 from 'node:v8';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { lineColumnAt, PolicyBundleError, type BundleIssue } from './bundle-error.js';
import type { KeyProfile } from './key.js';
import { PolicyEngineError, PolicyFailureKind, type PolicyDecision, type PolicyRequest, type SynchronousPolicyEngine } from './types.js';

/**
 * Embedded Cedar engine. Policies are validated against the schema when loaded (an invalid set is
 * refused with file, line and message) and pre-parsed once into the wasm module's policy store, so
 * a decision only converts the request. Policy ids come from each policy's `@id("…")` annotation.
 *
 * Entity model (the schema must declare these): principal `Agent` {tenant, agentType, roles},
 * resource `Target` {kind, tenant, agentType, roles, capabilities}, action `Action::"<messageType>"`,
 * context as PolicyContext.
 */

export interface BundleFile {
  readonly name: string;
  readonly text: string;
}

export interface CedarBundleInput {
  /** `*.cedar` files. */
  readonly policies: readonly BundleFile[];
  /** A `*.cedarschema` (Cedar syntax) or `*.cedarschema.json` / `*.json` (JSON syntax) file. */
  readonly schema: BundleFile;
}

export interface CedarEngineOptions {
  /** Engine name in decisions and cache keys (default 'cedar'). */
  name?: string;
  /** Stamped on every decision (default: '' — the ConstitutionManager supplies the bundle hash). */
  bundleHash?: string;
}

/*
 * Node 20.20 (V8 11.3) aborts the process ("Fatal error … unreachable code" in
 * Deoptimizer::DoComputeBuiltinContinuation) when optimised code that inlined a JS-to-Wasm call is
 * lazily deoptimised while the Wasm call is on the stack — which happens to CedarEngine.evaluate
 * under a mixed workload (reproduced in 3 of 4 runs of bench/policy.bench.ts; 0 of 4 with this flag).
 * The flag only stops TurboFan from inlining JS-to-Wasm calls; it affects code compiled from now on.
 */
v8.setFlagsFromString('--no-turbo-inline-js-wasm-calls');

export const PRINCIPAL_TYPE = 'Agent';
export const RESOURCE_TYPE = 'Target';

let storeSequence = 0;

function issuesOf(file: BundleFile, errors: readonly cedar.DetailedError[], policyId?: string): BundleIssue[] {
  return errors.map((e) => {
    const at = e.sourceLocations?.[0];
    const { line, column } = at === undefined ? { line: 0, column: 0 } : lineColumnAt(file.text, at.start);
    const help = e.help === null ? '' : ` (${e.help})`;
    const label = at?.label ? ` — ${at.label}` : '';
    return { file: file.name, line, column, message: e.message + label + help, ...(policyId === undefined ? {} : { policyId }) };
  });
}

function isJsonSchemaFile(name: string): boolean {
  return name.endsWith('.json');
}

function parseSchema(
  file: BundleFile,
): { schema: cedar.Schema; actionEntities: Map<string, cedar.EntityJson[]> } | { issues: BundleIssue[] } {
  let schema: cedar.Schema = file.text;
  if (isJsonSchemaFile(file.name)) {
    try {
      schema = JSON.parse(file.text) as cedar.Schema;
    } catch (error) {
      const m = /position (\d+)/.exec(error instanceof Error ? error.message : '');
      const loc = m === null ? { line: 0, column: 0 } : lineColumnAt(file.text, Buffer.byteLength(file.text.slice(0, Number(m[1]))));
      return { issues: [{ file: file.name, ...loc, message: `schema is not JSON: ${(error as Error).message}` }] };
    }
  }
  // checkParseSchema locates errors correctly; schemaToJson's source offsets are not reliable.
  const checked = cedar.checkParseSchema(schema);
  if (checked.type === 'failure') return { issues: issuesOf(file, checked.errors) };
  const parsed = cedar.schemaToJson(schema);
  if (parsed.type === 'failure') return { issues: issuesOf(file, parsed.errors) };
  return { schema, actionEntities: actionEntitiesOf(parsed.json) };
}

/**
 * For each action of the (empty-namespace) schema: the action entity and its ancestor groups, with
 * their parents. Passing these with each request is cheaper than having Cedar re-derive them from
 * the schema on every call.
 */
function actionEntitiesOf(json: cedar.SchemaJson<string>): Map<string, cedar.EntityJson[]> {
  const actions = json['']?.actions ?? {};
  const parentsOf = (id: string): cedar.EntityUidJson[] =>
    (actions[id]?.memberOf ?? []).map((m) => ({ type: 'Action', id: m.id }));
  const out = new Map<string, cedar.EntityJson[]>();
  for (const id of Object.keys(actions)) {
    const chain: cedar.EntityJson[] = [];
    const seen = new Set<string>();
    const queue = [id];
    while (queue.length > 0) {
      const next = queue.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      const parents = parentsOf(next);
      chain.push({ uid: { type: 'Action', id: next }, attrs: {}, parents });
      for (const parent of parents) queue.push((parent as cedar.TypeAndId).id);
    }
    out.set(id, chain);
  }
  return out;
}

/** What a policy set can observe of a request; turned into the cache key profile. */
class Observed {
  ids = false;
  readonly principal = new Set<string>();
  readonly resource = new Set<string>();
  readonly context = new Set<string>();
  contextWhole = false;

  profile(): KeyProfile {
    return Object.freeze({
      ids: this.ids,
      principal: this.principal,
      resource: this.resource,
      ...(this.contextWhole ? {} : { context: this.context }),
    });
  }
}

function varOf(node: unknown): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const v = (node as Record<string, unknown>)['Var'];
  return typeof v === 'string' ? v : undefined;
}

/** Records which attributes of principal, resource and context an expression reads. */
function observeExpr(node: unknown, seen: Observed): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) observeExpr(item, seen);
    return;
  }
  const obj = node as Record<string, unknown>;
  const v = varOf(obj);
  if (v !== undefined) {
    // A variable used as a whole: principal/resource by identity, context entirely.
    if (v === 'principal' || v === 'resource') seen.ids = true;
    if (v === 'context') seen.contextWhole = true;
    return;
  }
  for (const [op, arg] of Object.entries(obj)) {
    if ((op === '.' || op === 'has') && arg !== null && typeof arg === 'object') {
      const a = arg as { left?: unknown; attr?: unknown };
      const target = varOf(a.left);
      const attr = Array.isArray(a.attr) ? a.attr[0] : a.attr;
      if (target !== undefined && typeof attr === 'string') {
        if (target === 'principal') seen.principal.add(attr);
        else if (target === 'resource') seen.resource.add(attr);
        else if (target === 'context') seen.context.add(attr);
        continue;
      }
    }
    if (op === 'is' && arg !== null && typeof arg === 'object') {
      const a = arg as { left?: unknown; in?: unknown };
      // `principal is Agent` depends on the entity type only, which is fixed.
      if (varOf(a.left) !== undefined && a.in === undefined) continue;
    }
    observeExpr(arg, seen);
  }
}

function observePolicy(json: cedar.PolicyJson, seen: Observed): void {
  if (json.principal.op !== 'All' && !(json.principal.op === 'is' && json.principal.in === undefined)) seen.ids = true;
  if (json.resource.op !== 'All' && !(json.resource.op === 'is' && json.resource.in === undefined)) seen.ids = true;
  for (const c of json.conditions) observeExpr(c.body, seen);
}

export class CedarEngine implements SynchronousPolicyEngine {
  readonly name: string;
  readonly bundleHash: string;
  readonly synchronous = true;
  readonly usesEntityIds: boolean;
  /** The attributes the policies read: the decision cache keys on these only. */
  readonly keyProfile: KeyProfile;
  /** Policy ids in load order. */
  readonly policyIds: readonly string[];
  private readonly storeId: string;
  private readonly actionEntities: Map<string, cedar.EntityJson[]>;
  private closed = false;

  private constructor(
    name: string,
    bundleHash: string,
    storeId: string,
    actionEntities: Map<string, cedar.EntityJson[]>,
    policyIds: string[],
    keyProfile: KeyProfile,
  ) {
    this.name = name;
    this.bundleHash = bundleHash;
    this.storeId = storeId;
    this.actionEntities = actionEntities;
    this.policyIds = Object.freeze(policyIds);
    this.keyProfile = keyProfile;
    this.usesEntityIds = keyProfile.ids;
  }

  /** Validates and pre-parses a policy set. Throws PolicyBundleError (file, line, message) when invalid. */
  static load(input: CedarBundleInput, options: CedarEngineOptions = {}): CedarEngine {
    const issues: BundleIssue[] = [];
    const parsedSchema = parseSchema(input.schema);
    if ('issues' in parsedSchema) throw new PolicyBundleError(parsedSchema.issues);
    const schema = parsedSchema.schema;
    if (input.policies.length === 0) {
      throw new PolicyBundleError([{ file: input.schema.name, line: 0, column: 0, message: 'the bundle has no *.cedar policy file' }]);
    }

    const byId: Record<string, string> = {};
    const where = new Map<string, string>();
    const observed = new Observed();
    for (const file of input.policies) {
      const validation = cedar.validate({ schema, policies: { staticPolicies: file.text }, validationSettings: { mode: 'strict' } });
      if (validation.type === 'failure') {
        issues.push(...issuesOf(file, validation.errors));
        continue;
      }
      for (const v of validation.validationErrors) issues.push(...issuesOf(file, [v.error], v.policyId));
      const parts = cedar.policySetTextToParts(file.text);
      if (parts.type === 'failure') {
        issues.push(...issuesOf(file, parts.errors));
        continue;
      }
      if (parts.policy_templates.length > 0) {
        issues.push({ file: file.name, line: 0, column: 0, message: 'policy templates are not supported in bundles' });
      }
      let cursor = 0;
      for (const text of parts.policies) {
        const found = file.text.indexOf(text, cursor);
        const loc = found < 0 ? { line: 0, column: 0 } : lineColumnAt(file.text, Buffer.byteLength(file.text.slice(0, found)));
        if (found >= 0) cursor = found + text.length;
        const json = cedar.policyToJson(text);
        if (json.type === 'failure') {
          issues.push(...issuesOf({ name: file.name, text }, json.errors));
          continue;
        }
        const id = json.json.annotations?.['id'];
        if (id === undefined || id === '') {
          issues.push({ file: file.name, ...loc, message: 'policy has no @id("…") annotation' });
          continue;
        }
        const previous = where.get(id);
        if (previous !== undefined) {
          issues.push({ file: file.name, ...loc, message: `duplicate policy id "${id}" (also in ${previous})`, policyId: id });
          continue;
        }
        where.set(id, file.name);
        byId[id] = text;
        observePolicy(json.json, observed);
      }
    }
    if (issues.length > 0) throw new PolicyBundleError(issues);

    const seq = ++storeSequence;
    const storeId = `eab-policies-${seq}`;
    const preparsed = cedar.preparsePolicySet(storeId, { staticPolicies: byId });
    if (preparsed.type === 'failure') throw new PolicyBundleError(issuesOf(input.schema, preparsed.errors));
    return new CedarEngine(options.name ?? 'cedar', options.bundleHash ?? '', storeId, parsedSchema.actionEntities, Object.keys(byId), observed.profile());
  }

  /** Loads every `*.cedar` file and the one schema file of a directory. */
  static async fromDirectory(dir: string, options: CedarEngineOptions = {}): Promise<CedarEngine> {
    const { policies, schema } = await readCedarFiles(dir);
    return CedarEngine.load({ policies, schema }, options);
  }

  evaluate(req: PolicyRequest): PolicyDecision {
    if (this.closed) throw new PolicyEngineError(PolicyFailureKind.ERROR, 'cedar engine is closed');
    const start = performance.now();
    const p = req.principal;
    const r = req.resource;
    const principal = { type: PRINCIPAL_TYPE, id: p.id };
    const resource = { type: RESOURCE_TYPE, id: r.id };
    const actionChain = this.actionEntities.get(req.action);
    if (actionChain === undefined) {
      throw new PolicyEngineError(PolicyFailureKind.ERROR, `cedar: the schema declares no action "${req.action}"`);
    }
    const entities: cedar.EntityJson[] = actionChain.slice();
    entities.push(
      { uid: principal, attrs: { tenant: p.tenant, agentType: p.agentType, roles: p.roles as string[] }, parents: [] },
      {
        uid: resource,
        attrs: { kind: r.kind, tenant: r.tenant, agentType: r.agentType, roles: r.roles as string[], capabilities: r.capabilities as string[] },
        parents: [],
      },
    );
    const answer = cedar.statefulIsAuthorized({
      principal,
      action: actionChain[0]!.uid,
      resource,
      context: req.context as unknown as cedar.Context,
      preparsedPolicySetId: this.storeId,
      entities,
    });
    if (answer.type === 'failure') {
      let text = 'cedar:';
      for (let i = 0; i < answer.errors.length; i++) text += ' ' + answer.errors[i]!.message;
      throw new PolicyEngineError(PolicyFailureKind.ERROR, text);
    }
    const { decision, diagnostics } = answer.response;
    const allow = decision === 'allow';
    const notes: string[] = [];
    const errors = diagnostics.errors;
    for (let i = 0; i < errors.length; i++) notes.push(`${errors[i]!.policyId}: ${errors[i]!.error.message}`);
    if (!allow && diagnostics.reason.length === 0) notes.push('no policy permits this request');
    return Object.freeze({
      allow,
      policyIds: Object.freeze(diagnostics.reason),
      diagnostics: Object.freeze(notes),
      engine: this.name,
      latencyUs: (performance.now() - start) * 1000,
      bundleHash: this.bundleHash,
    });
  }

  /** Releases the pre-parsed policy set (replaced by an empty one: the wasm API has no delete). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    cedar.preparsePolicySet(this.storeId, { staticPolicies: {} });
  }
}

export interface CedarFiles {
  policies: BundleFile[];
  schema: BundleFile;
}

/** Reads `*.cedar` files (sorted by name) and exactly one schema file from a directory. */
export async function readCedarFiles(dir: string): Promise<CedarFiles> {
  const names = (await readdir(dir)).sort();
  const policyNames = names.filter((n) => n.endsWith('.cedar'));
  const schemaNames = names.filter((n) => n.endsWith('.cedarschema') || n.endsWith('.cedarschema.json'));
  if (schemaNames.length !== 1) {
    throw new PolicyBundleError([
      { file: dir, line: 0, column: 0, message: `expected exactly one *.cedarschema or *.cedarschema.json file, found ${schemaNames.length}` },
    ]);
  }
  const read = async (name: string): Promise<BundleFile> => ({ name, text: await readFile(path.join(dir, name), 'utf8') });
  return { policies: await Promise.all(policyNames.map(read)), schema: await read(schemaNames[0]!) };
}
