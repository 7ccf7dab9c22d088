import type { ErrorObject } from 'ajv';

/** The message and request validators' one way of turning an ajv error into a sentence. */

/**
 * An ajv error in plain words, naming the field under `subject`: "body.capabilities[1] must be a
 * string", "message.priority must be one of 0, 1, 2, 3". Report the last error of a failed
 * validation (a failed union lists its branches' errors first). Needs ajv's `verbose` option (the
 * expected type is read from the failing schema).
 */
export function describeSchemaError(subject: string, e: ErrorObject | undefined, member: 'field' | 'parameter' = 'field'): string {
  if (e === undefined) return `${subject} is invalid`;
  const where = subject + fieldPath(e.instancePath);
  const params = e.params as { missingProperty?: string; additionalProperty?: string; limit?: number };
  switch (e.keyword) {
    case 'required':
      return `${where}.${params.missingProperty} is required`;
    case 'additionalProperties':
      return `${where}.${params.additionalProperty} is not a known ${member}`;
    case 'type':
    case 'anyOf':
    case 'enum':
    case 'const':
      return e.parentSchema === undefined ? `${where} ${e.message ?? 'is invalid'}` : `${where} must be ${describeSchema(e.parentSchema as Record<string, unknown>)}`;
    case 'minLength':
      return params.limit === 1 ? `${where} must not be empty` : `${where} must be at least ${params.limit} characters`;
    case 'maxLength':
      return `${where} must be at most ${params.limit} characters`;
    case 'minimum':
      return `${where} must be at least ${params.limit}`;
    case 'maximum':
      return `${where} must be at most ${params.limit}`;
    case 'minItems':
      return `${where} must have at least ${params.limit} items`;
    case 'maxItems':
      return `${where} must have at most ${params.limit} items`;
    default:
      return `${where} ${e.message ?? 'is invalid'}`;
  }
}

/** A JSON pointer as a field path: "/capabilities/1" → ".capabilities[1]". */
export function fieldPath(pointer: string): string {
  let path = '';
  for (const segment of pointer.split('/').slice(1)) {
    const key = segment.replaceAll('~1', '/').replaceAll('~0', '~');
    path += /^\d+$/.test(key) ? `[${key}]` : `.${key}`;
  }
  return path;
}

const TYPE_NOUNS: Readonly<Record<string, readonly [one: string, many: string]>> = {
  string: ['a string', 'strings'],
  integer: ['an integer', 'integers'],
  number: ['a number', 'numbers'],
  boolean: ['true or false', 'booleans'],
  object: ['a JSON object', 'JSON objects'],
  array: ['an array', 'arrays'],
};

/** What a schema accepts, in words: "an array of strings", "one of approve, reject, abstain". */
function describeSchema(schema: Record<string, unknown>): string {
  const values = allowedValues(schema);
  if (values !== undefined) return values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.join(', ')}`;
  const type = String(schema.type);
  const items = schema.items as Record<string, unknown> | undefined;
  const itemNoun = items === undefined ? undefined : TYPE_NOUNS[String(items.type)]?.[1];
  if (type === 'array' && itemNoun !== undefined) return `an array of ${itemNoun}`;
  return TYPE_NOUNS[type]?.[0] ?? `of type ${type}`;
}

/** The values a const, an enum or a union of consts allows; undefined for other schemas. */
function allowedValues(schema: Record<string, unknown>): readonly unknown[] | undefined {
  if (schema.const !== undefined) return [schema.const];
  if (Array.isArray(schema.enum)) return schema.enum;
  const branches = schema.anyOf;
  if (!Array.isArray(branches) || !branches.every((b: { const?: unknown }) => b.const !== undefined)) return undefined;
  return branches.map((b: { const: unknown }) => b.const);
}
