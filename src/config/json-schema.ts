/**
 * deploy.yaml's schema as JSON Schema (draft-07), for editors: completion and inline docs.
 * Generated from schema.ts; templates/deploy.schema.json is this, committed.
 */
import { fileURLToPath } from 'node:url';
import type { Schema } from './dsl.js';
import { configSchema } from './schema.js';
import { DURATION_PATTERN, SIZE_PATTERN, formatDuration, formatSize } from './units.js';

type JsonSchema = { [key: string]: unknown };

/** Where the committed copy lives (the same relative path from src/config and dist/config). */
export const JSON_SCHEMA_PATH = fileURLToPath(new URL('../../templates/deploy.schema.json', import.meta.url));

export function toJsonSchema(): JsonSchema {
  const definitions: Record<string, JsonSchema> = {};
  const owners = new Map<string, Schema>();
  /** A named schema becomes a definition (in first-use order) and a $ref to it. */
  const convert = (schema: Schema): JsonSchema => {
    if (schema.id === undefined) return body(schema, convert);
    const owner = owners.get(schema.id);
    if (owner === undefined) {
      owners.set(schema.id, schema);
      definitions[schema.id] = {}; // reserve the slot: definitions come out in first-use order
      definitions[schema.id] = body(schema, convert);
    } else if (owner !== schema) {
      throw new Error(`two different schemas are named ${JSON.stringify(schema.id)}`);
    }
    return { $ref: `#/definitions/${schema.id}` };
  };
  const root = convert(configSchema);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'ship deploy.yaml',
    ...root,
    definitions,
  };
}

type Convert = (schema: Schema) => JsonSchema;

function body(schema: Schema, convert: Convert): JsonSchema {
  switch (schema.kind) {
    case 'list':
    case 'map':
    case 'object':
    case 'oneOf':
      return containerBody(schema, convert);
    default:
      return leafBody(schema);
  }
}

const describe = (schema: Schema) => (schema.description !== undefined ? { description: schema.description } : {});
const orDefault = (value: unknown) => (value !== undefined ? { default: value } : {});

/** Values: strings, numbers, durations, sizes. */
function leafBody(schema: Exclude<Schema, { kind: 'list' | 'map' | 'object' | 'oneOf' }>): JsonSchema {
  const description = describe(schema);
  switch (schema.kind) {
    case 'string':
      return {
        type: 'string',
        ...description,
        ...(schema.minLength !== undefined ? { minLength: schema.minLength } : {}),
        ...(schema.pattern ? { pattern: schema.pattern.source } : {}),
        ...orDefault(schema.default),
      };
    case 'int':
      return {
        type: 'integer',
        ...description,
        ...(schema.min !== undefined ? { minimum: schema.min } : {}),
        ...(schema.max !== undefined ? { maximum: schema.max } : {}),
        ...orDefault(schema.default),
      };
    case 'bool':
      return { type: 'boolean', ...description, ...orDefault(schema.default) };
    case 'enum':
      return { type: 'string', ...description, enum: [...schema.values], ...orDefault(schema.default) };
    case 'duration':
      return {
        ...description,
        anyOf: [{ type: 'string', pattern: DURATION_PATTERN, description: 'e.g. 500ms, 10s, 2m, 1h, 7d, 1m30s' }, { const: 0 }],
        ...orDefault(schema.default !== undefined ? formatDuration(schema.default) : undefined),
      };
    case 'size':
      return {
        ...description,
        anyOf: [
          { type: 'string', pattern: SIZE_PATTERN, description: 'e.g. 500MB, 1GB (1GB = 1024^3 bytes)' },
          { type: 'integer', minimum: 0, description: 'bytes' },
        ],
        ...orDefault(schema.default !== undefined ? formatSize(schema.default) : undefined),
      };
    case 'scalar':
      return { type: ['string', 'number', 'boolean'], ...description };
  }
}

/** Lists, maps, objects and alternatives: what holds other schemas. */
function containerBody(schema: Extract<Schema, { kind: 'list' | 'map' | 'object' | 'oneOf' }>, convert: Convert): JsonSchema {
  const description = describe(schema);
  switch (schema.kind) {
    case 'list':
      return { type: 'array', ...description, items: convert(schema.items), ...(schema.minItems !== undefined ? { minItems: schema.minItems } : {}) };
    case 'map':
      return {
        type: 'object',
        ...description,
        ...(schema.keys ? { propertyNames: { pattern: schema.keys.pattern.source } } : {}),
        additionalProperties: convert(schema.values),
        ...(schema.minEntries !== undefined ? { minProperties: schema.minEntries } : {}),
      };
    case 'object': {
      const required = Object.entries(schema.fields).flatMap(([key, field]) => (field.required ? [key] : []));
      const rules: JsonSchema[] = [
        ...(schema.exclusive ?? []).map((group) => ({ not: { required: [...group] } })),
        ...(schema.atLeastOne ? [{ anyOf: schema.atLeastOne.map((key) => ({ required: [key] })) }] : []),
      ];
      return {
        type: 'object',
        ...description,
        properties: Object.fromEntries(Object.entries(schema.fields).map(([key, field]) => [key, convert(field)])),
        ...(schema.extensionKeys ? { patternProperties: { [schema.extensionKeys.source]: {} } } : {}),
        ...(required.length ? { required } : {}),
        additionalProperties: false,
        ...(rules.length === 1 ? rules[0] : rules.length > 1 ? { allOf: rules } : {}),
      };
    }
    case 'oneOf':
      return { ...description, oneOf: schema.options.map(convert) };
  }
}

/** The file's exact contents: pretty JSON and a final newline. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(toJsonSchema(), null, 2)}\n`;
}
