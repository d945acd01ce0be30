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

  const convert = (schema: Schema): JsonSchema => {
    if (schema.id === undefined) return body(schema);
    const owner = owners.get(schema.id);
    if (owner === undefined) {
      owners.set(schema.id, schema);
      definitions[schema.id] = {}; // reserve the slot: definitions come out in first-use order
      definitions[schema.id] = body(schema);
    } else if (owner !== schema) {
      throw new Error(`two different schemas are named ${JSON.stringify(schema.id)}`);
    }
    return { $ref: `#/definitions/${schema.id}` };
  };

  const body = (schema: Schema): JsonSchema => {
    const description = schema.description !== undefined ? { description: schema.description } : {};
    switch (schema.kind) {
      case 'string':
        return {
          type: 'string',
          ...description,
          ...(schema.minLength !== undefined ? { minLength: schema.minLength } : {}),
          ...(schema.pattern ? { pattern: schema.pattern.source } : {}),
          ...(schema.default !== undefined ? { default: schema.default } : {}),
        };
      case 'int':
        return {
          type: 'integer',
          ...description,
          ...(schema.min !== undefined ? { minimum: schema.min } : {}),
          ...(schema.max !== undefined ? { maximum: schema.max } : {}),
          ...(schema.default !== undefined ? { default: schema.default } : {}),
        };
      case 'bool':
        return { type: 'boolean', ...description, ...(schema.default !== undefined ? { default: schema.default } : {}) };
      case 'enum':
        return {
          type: 'string',
          ...description,
          enum: [...schema.values],
          ...(schema.default !== undefined ? { default: schema.default } : {}),
        };
      case 'duration':
        return {
          ...description,
          anyOf: [
            { type: 'string', pattern: DURATION_PATTERN, description: 'e.g. 500ms, 10s, 2m, 1h, 1m30s' },
            { const: 0 },
          ],
          ...(schema.default !== undefined ? { default: formatDuration(schema.default) } : {}),
        };
      case 'size':
        return {
          ...description,
          anyOf: [
            { type: 'string', pattern: SIZE_PATTERN, description: 'e.g. 500MB, 1GB (1GB = 1024^3 bytes)' },
            { type: 'integer', minimum: 0, description: 'bytes' },
          ],
          ...(schema.default !== undefined ? { default: formatSize(schema.default) } : {}),
        };
      case 'scalar':
        return { type: ['string', 'number', 'boolean'], ...description };
      case 'list':
        return {
          type: 'array',
          ...description,
          items: convert(schema.items),
          ...(schema.minItems !== undefined ? { minItems: schema.minItems } : {}),
        };
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
  };

  const root = convert(configSchema);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'ship deploy.yaml',
    ...root,
    definitions,
  };
}

/** The file's exact contents: pretty JSON and a final newline. */
export function renderJsonSchema(): string {
  return `${JSON.stringify(toJsonSchema(), null, 2)}\n`;
}
