import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { JSON_SCHEMA_PATH, renderJsonSchema, toJsonSchema } from '../../src/config/json-schema.js';

describe('templates/deploy.schema.json', () => {
  test('is what schema.ts generates', async () => {
    const committed = await readFile(JSON_SCHEMA_PATH, 'utf8').catch(() => '(missing)');
    expect(
      committed,
      'templates/deploy.schema.json is out of date with src/config/schema.ts: regenerate it with\n' + '  npm run build && node dist/config/write-schema.js',
    ).toBe(renderJsonSchema());
  });

  test('is draft-07 with required keys, shared definitions, defaults and descriptions', () => {
    const schema = toJsonSchema() as {
      $schema: string;
      required: string[];
      properties: Record<string, { $ref?: string; default?: unknown; description?: string }>;
      patternProperties: Record<string, unknown>;
      definitions: Record<string, { properties?: Record<string, { default?: unknown }>; not?: unknown; anyOf?: unknown }>;
    };
    expect(schema.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(schema.required).toEqual(['app', 'repo', 'stages']);
    expect(schema.patternProperties).toEqual({ '^x-': {} });
    expect(Object.keys(schema.definitions).sort()).toEqual([
      'check',
      'env',
      'health',
      'healthCheck',
      'hookEntry',
      'hooks',
      'host',
      'hostObject',
      'loadBalancer',
      'notify',
      'rollout',
      'shared',
      'ssh',
      'stage',
      'task',
      'taskObject',
      'tasks',
      'vars',
    ]);
    expect(schema.properties.ssh).toEqual({ $ref: '#/definitions/ssh' });
    expect(schema.properties.keep_releases?.default).toBe(5);
    expect(schema.definitions.ssh?.properties?.connect_timeout?.default).toBe('10s');
    expect(schema.definitions.rollout?.not).toEqual({ required: ['batch', 'canary'] });
    expect(schema.definitions.healthCheck?.anyOf).toEqual([{ required: ['http'] }, { required: ['tcp'] }, { required: ['command'] }]);
    const undocumented = Object.entries(schema.properties).filter(([, p]) => !p.$ref && !p.description);
    expect(undocumented).toEqual([]);
  });
});
