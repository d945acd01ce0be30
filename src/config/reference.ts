/**
 * deploy.yaml's reference for people: every key with its type, default and meaning, as
 * markdown tables, generated from schema.ts like the JSON Schema. docs/configuration.md holds
 * it between two marker lines; write-schema.ts rewrites that part, and a test fails when the
 * committed page differs from what this makes.
 */
import { fileURLToPath } from 'node:url';
import { type Schema, describe } from './dsl.js';
import { configSchema } from './schema.js';
import { formatDuration, formatSize } from './units.js';

/** Where the page lives (the same relative path from src/config and dist/config). */
export const REFERENCE_PATH = fileURLToPath(new URL('../../docs/configuration.md', import.meta.url));
export const REFERENCE_START = '<!-- reference: generated from src/config/schema.ts; regenerate with: npm run build && node dist/config/write-schema.js -->';
export const REFERENCE_END = '<!-- reference: end -->';

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

/** The key a map's entries stand for in a path: `env.<NAME>`, `tasks.<name>`. */
const ENTRY_NAMES: Record<string, string> = { env: '<NAME>', vars: '<name>', hooks: '<before:X or after:X>' };

/** Named shapes already documented, by id, with the path they are documented at. */
type Seen = Map<string, string>;

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function typeOf(schema: Schema, seen: Seen): string {
  switch (schema.kind) {
    case 'string':
      return schema.pattern && schema.patternHint ? schema.patternHint : 'string';
    case 'enum':
      return schema.values.map((v) => `\`${v}\``).join(' or ');
    case 'duration':
      return 'duration (`500ms`, `10s`, `2m`, `1h`)';
    case 'size':
      return 'size (`500MB`, `1GB`)';
    case 'list':
      return `list of ${typeOf(schema.items, seen)}`;
    case 'map':
      return `map of ${schema.keys?.hint ?? 'names'} → ${typeOf(schema.values, seen)}`;
    case 'object':
      return schema.id !== undefined && seen.has(schema.id) ? `map (as \`${seen.get(schema.id)}\`)` : 'map';
    case 'oneOf':
      return schema.options.map((o) => typeOf(o, seen)).join(', or ');
    default:
      return describe(schema);
  }
}

function defaultOf(schema: Schema): string {
  if (schema.required) return '**required**';
  if (!('default' in schema) || schema.default === undefined) return '';
  if (schema.kind === 'duration') return `\`${formatDuration(schema.default)}\``;
  if (schema.kind === 'size') return `\`${formatSize(schema.default)}\``;
  return `\`${String(schema.default)}\``;
}

function row(key: string, schema: Schema, seen: Seen): Row {
  return { key: `\`${key}\``, type: typeOf(schema, seen), default: defaultOf(schema), description: schema.description ?? '' };
}

/** A top-level key a stage repeats (same meaning): listed once, at the top level. */
function repeatsTopLevel(key: string, schema: Schema, owner: Schema): boolean {
  const top = configSchema.fields[key as keyof typeof configSchema.fields] as Schema | undefined;
  return owner.id === 'stage' && top !== undefined && top.description === schema.description;
}

/** The rows under `path` that describe what `schema` holds (not `schema` itself). */
function childRows(schema: Schema, path: string, seen: Seen): Row[] {
  if (schema.id !== undefined) {
    if (seen.has(schema.id)) return [];
    seen.set(schema.id, path);
  }
  switch (schema.kind) {
    case 'object': {
      return Object.entries(schema.fields).flatMap(([key, field]) => {
        if (repeatsTopLevel(key, field, schema)) return [];
        const fieldPath = path ? `${path}.${key}` : key;
        return [row(fieldPath, field, seen), ...childRows(field, fieldPath, seen)];
      });
    }
    case 'map':
      return entryRows(schema.values, `${path}.${ENTRY_NAMES[path.split('.').at(-1)!] ?? '<name>'}`, seen);
    case 'list':
      return entryRows(schema.items, `${path}[]`, seen);
    case 'oneOf':
      return schema.options.flatMap((option) => childRows(option, path, seen));
    default:
      return [];
  }
}

/** A map's entry or a list's item: a row of its own when it holds more than a value. */
function entryRows(schema: Schema, path: string, seen: Seen): Row[] {
  const own = row(path, schema, seen);
  const below = childRows(schema, path, seen);
  return below.length ? [own, ...below] : [];
}

function table(rows: Row[]): string {
  const lines = ['| key | type | default | meaning |', '|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${[r.key, r.type, r.default, r.description].map(cell).join(' | ')} |`);
  return lines.join('\n');
}

/** The generated part of docs/configuration.md: the top-level keys, then what each holds. */
export function renderConfigReference(): string {
  const seen: Seen = new Map();
  const fields = Object.entries(configSchema.fields);
  const sections = [`## Every key\n\n${configSchema.description ?? ''}\n\n${table(fields.map(([key, field]) => row(key, field, seen)))}`];
  for (const [key, field] of fields) {
    const rows = childRows(field, key, seen);
    if (rows.length) sections.push(`### \`${key}\`\n\n${table(rows)}`);
  }
  return `${REFERENCE_START}\n\n${sections.join('\n\n')}\n\n${REFERENCE_END}`;
}

/** `page` with its generated part replaced by what schema.ts makes now. */
export function withConfigReference(page: string): string {
  const start = page.indexOf(REFERENCE_START);
  const end = page.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error(`docs/configuration.md lacks the marker lines of its generated part:\n${REFERENCE_START}\n${REFERENCE_END}`);
  return page.slice(0, start) + renderConfigReference() + page.slice(end + REFERENCE_END.length);
}
