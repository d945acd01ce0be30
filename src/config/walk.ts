/**
 * Structural validation: walks the YAML syntax tree along the schema, reporting every
 * mismatch with the position of the offending key or value, and builds the validated
 * data (durations in ms, sizes in bytes, env and vars values as written).
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import { describe, nodeKind, type ObjectSchema, type Schema } from './dsl.js';
import { displayPath, pathKey, type NodePosition, type Path, type Pos } from './positions.js';
import { didYouMean } from './suggest.js';
import type { ConfigProblem } from './types.js';
import { parseDuration, parseSize } from './units.js';

export interface WalkContext {
  doc: Document;
  lineCounter: LineCounter;
  file: string;
  problems: ConfigProblem[];
  positions: Map<string, NodePosition>;
}

interface Entry {
  key: string;
  keyPos: Pos;
  value: unknown; // a yaml node, or null when the pair has no value
}

/** Validates `node` against `schema`; returns the validated value, or undefined if invalid. */
export function walk(ctx: WalkContext, schema: Schema, node: unknown, path: Path, fallback: Pos): unknown {
  return new Walker(ctx).value(schema, node, path, fallback, undefined);
}

class Walker {
  /** Collections being walked: an alias back into one of them would never end. */
  private readonly open = new Set<unknown>();

  constructor(private readonly ctx: WalkContext) {}

  value(schema: Schema, raw: unknown, path: Path, fallback: Pos, keyPos: Pos | undefined, expectedAs?: string): unknown {
    const node = this.deref(raw, path, fallback);
    if (node === FAILED) return undefined;
    const pos = this.posOf(node) ?? fallback;
    this.ctx.positions.set(pathKey(path), keyPos ? { key: keyPos, value: pos } : { value: pos });
    const fail = (message: string): undefined => {
      this.report(pos, path, message);
      return undefined;
    };
    const expected = (hint = ''): undefined => fail(`expected ${expectedAs ?? describe(schema)}, got ${got(node)}${hint}`);
    const scalar = isScalar(node) ? node.value : undefined;

    switch (schema.kind) {
      case 'string':
        return this.string(schema, node, scalar, fail, expected);
      case 'int': {
        const ok =
          typeof scalar === 'number' &&
          Number.isInteger(scalar) &&
          (schema.min === undefined || scalar >= schema.min) &&
          (schema.max === undefined || scalar <= schema.max);
        return ok ? scalar : expected();
      }
      case 'bool':
        return typeof scalar === 'boolean' ? scalar : expected();
      case 'enum':
        if (typeof scalar === 'string' && schema.values.includes(scalar)) return scalar;
        return expected(typeof scalar === 'string' ? didYouMean(scalar, schema.values) : '');
      case 'duration':
      case 'size': {
        if (typeof scalar !== 'string' && typeof scalar !== 'number') return expected();
        const parsed = schema.kind === 'duration' ? parseDuration(scalar) : parseSize(scalar);
        return parsed.ok ? parsed.value : fail(parsed.error);
      }
      case 'scalar':
        if (typeof scalar === 'string') return scalar;
        if (isScalar(node) && (typeof scalar === 'number' || typeof scalar === 'boolean')) return sourceText(node);
        return expected(scalar === null || node === undefined ? ' (write "" for an empty value)' : '');
      case 'list':
        return isSeq(node) ? this.list(schema, node, path, pos, fail) : expected();
      case 'map':
        return isMap(node) ? this.map(schema, node, path, fail) : expected();
      case 'object': {
        if (!isMap(node)) return expected();
        let out: Record<string, unknown> = {};
        this.inside(node, () => {
          out = this.object(schema, node, path, pos);
        });
        return out;
      }
      case 'oneOf': {
        const kind = isMap(node) ? 'map' : isSeq(node) ? 'seq' : scalar === null || node === undefined ? undefined : 'scalar';
        const option = schema.options.find((o) => nodeKind(o) === kind);
        if (!option) return expected();
        return this.value(option, node, path, fallback, keyPos, describe(schema));
      }
    }
  }

  private string(
    schema: Extract<Schema, { kind: 'string' }>,
    node: unknown,
    scalar: unknown,
    fail: (m: string) => undefined,
    expected: (hint?: string) => undefined,
  ): unknown {
    if (typeof scalar !== 'string') {
      const written = isScalar(node) ? sourceText(node) : '';
      const hint = typeof scalar === 'number' || typeof scalar === 'boolean' ? ` (quote it: "${written}")` : '';
      return expected(hint);
    }
    if (schema.minLength !== undefined && scalar.length < schema.minLength) {
      return fail(`expected a non-empty string, got ""`);
    }
    if (schema.pattern && !schema.pattern.test(scalar)) {
      return fail(`expected ${schema.patternHint ?? `a string matching ${schema.pattern}`}, got ${quote(scalar)}`);
    }
    const wrong = schema.check?.(scalar);
    return wrong === undefined ? scalar : fail(wrong);
  }

  private list(schema: Extract<Schema, { kind: 'list' }>, node: YAMLSeq, path: Path, pos: Pos, fail: (m: string) => undefined): unknown {
    const out: unknown[] = [];
    this.inside(node, () =>
      node.items.forEach((item, index) => {
        out.push(this.value(schema.items, item, [...path, index], pos, undefined));
      }),
    );
    if (schema.minItems !== undefined && node.items.length < schema.minItems) {
      return fail(`expected at least ${count(schema.minItems, 'entry', 'entries')}, got an empty list`);
    }
    return out;
  }

  private map(schema: Extract<Schema, { kind: 'map' }>, node: YAMLMap, path: Path, fail: (m: string) => undefined): unknown {
    const out: Record<string, unknown> = {};
    const entries = this.entries(node, path);
    this.inside(node, () => {
      for (const entry of entries) {
        const childPath = [...path, entry.key];
        if (schema.keys && !schema.keys.pattern.test(entry.key)) {
          this.report(entry.keyPos, childPath, `expected ${schema.keys.hint}, got ${quote(entry.key)}`);
        }
        const value = this.value(schema.values, entry.value, childPath, entry.keyPos, entry.keyPos);
        if (value !== undefined) setOwn(out, entry.key, value);
      }
    });
    if (schema.minEntries !== undefined && entries.length < schema.minEntries) {
      return fail(`expected at least ${count(schema.minEntries, 'entry', 'entries')}, got an empty map`);
    }
    return out;
  }

  private object(schema: ObjectSchema, node: Node, path: Path, pos: Pos): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const keyPositions = new Map<string, Pos>();
    for (const entry of this.entries(node, path)) {
      const childPath = [...path, entry.key];
      const field = Object.hasOwn(schema.fields, entry.key) ? schema.fields[entry.key] : undefined;
      if (!field && schema.extensionKeys?.test(entry.key)) continue;
      if (!field) {
        const misplaced = schema.misplaced && Object.hasOwn(schema.misplaced, entry.key) ? schema.misplaced[entry.key] : undefined;
        const hint = misplaced ? ` (${misplaced})` : didYouMean(entry.key, Object.keys(schema.fields));
        this.report(entry.keyPos, childPath, `unknown key ${quote(entry.key)}${hint}`);
        continue;
      }
      keyPositions.set(entry.key, entry.keyPos);
      const value = this.value(field, entry.value, childPath, entry.keyPos, entry.keyPos);
      if (value !== undefined) setOwn(out, entry.key, value);
    }
    for (const [key, field] of Object.entries(schema.fields)) {
      if (field.required && !keyPositions.has(key)) this.report(pos, path, `missing required key ${quote(key)}`);
    }
    for (const group of schema.exclusive ?? []) {
      const given = group.filter((key) => keyPositions.has(key));
      const second = given[1];
      if (second !== undefined) {
        this.report(keyPositions.get(second) ?? pos, [...path, second], `set either ${orList(group)}, not both`);
      }
    }
    const needed = schema.atLeastOne;
    if (needed && !needed.some((key) => keyPositions.has(key))) {
      this.report(pos, path, `needs at least one of ${orList(needed)}`);
    }
    return out;
  }

  /** The pairs of a map, with `<<` merge keys applied (keys written in the map win). */
  private entries(node: Node, path: Path): Entry[] {
    if (!isMap(node)) return [];
    const entries: Entry[] = [];
    const seen = new Map<string, Pos>();
    const merges: unknown[] = [];
    for (const pair of node.items) {
      const key = this.deref(pair.key, path, this.posOf(node) ?? NO_LINE);
      if (key === FAILED) continue;
      const keyPos = this.posOf(key) ?? this.posOf(node) ?? NO_LINE;
      if (isScalar(key) && typeof key.value === 'symbol') {
        merges.push(pair.value);
        continue;
      }
      if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
        this.report(keyPos, path, `expected a plain key, got ${got(key)}`);
        continue;
      }
      const name = typeof key.value === 'string' ? key.value : sourceText(key);
      const first = seen.get(name);
      if (first) {
        this.report(keyPos, [...path, name], `duplicate key ${quote(name)} (first at line ${first.line})`);
        continue;
      }
      seen.set(name, keyPos);
      entries.push({ key: name, keyPos, value: pair.value });
    }
    for (const merge of merges) {
      const source = this.deref(merge, path, this.posOf(node) ?? NO_LINE);
      if (source === FAILED) continue;
      const maps = isSeq(source) ? source.items.map((item) => this.deref(item, path, NO_LINE)) : [source];
      for (const merged of maps) {
        if (merged === FAILED) continue;
        if (!isMap(merged)) {
          this.report(this.posOf(merged) ?? this.posOf(node) ?? NO_LINE, path, 'a "<<" merge key needs a map or a list of maps');
          continue;
        }
        if (this.open.has(merged)) continue;
        this.inside(merged, () => {
          for (const entry of this.entries(merged, path)) {
            if (seen.has(entry.key)) continue;
            seen.set(entry.key, entry.keyPos);
            entries.push(entry);
          }
        });
      }
    }
    return entries;
  }

  private inside(node: unknown, body: () => void): void {
    this.open.add(node);
    try {
      body();
    } finally {
      this.open.delete(node);
    }
  }

  /** Follows an alias to its anchored node; FAILED (reported) when it cannot be followed. */
  private deref(raw: unknown, path: Path, fallback: Pos): Node | undefined | typeof FAILED {
    if (raw === null || raw === undefined) return undefined;
    if (!isAlias(raw)) return raw as Node;
    const pos = this.posOf(raw) ?? fallback;
    const target = raw.resolve(this.ctx.doc);
    if (!target) {
      this.report(pos, path, `unknown alias *${raw.source}`);
      return FAILED;
    }
    if (this.open.has(target)) {
      this.report(pos, path, `alias *${raw.source} refers to a node that contains it`);
      return FAILED;
    }
    return target;
  }

  private posOf(node: unknown): Pos | undefined {
    const range = (node as { range?: readonly number[] | null } | undefined)?.range;
    const offset = range?.[0];
    return offset === undefined ? undefined : this.ctx.lineCounter.linePos(offset);
  }

  private report(pos: Pos, path: Path, message: string): void {
    this.ctx.problems.push({ file: this.ctx.file, line: pos.line, col: pos.col, path: displayPath(path), message });
  }
}

const FAILED = Symbol('failed');
const NO_LINE: Pos = { line: 1, col: 1 };

/** Like `out[key] = value`, but a key named "__proto__" stays a plain key. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
}

function sourceText(node: { value: unknown; source?: string }): string {
  return typeof node.source === 'string' && node.source !== '' ? node.source : String(node.value);
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

/** How a value that did not fit is named in "expected X, got Y". */
function got(node: unknown): string {
  if (node === undefined || node === null) return 'nothing';
  if (isMap(node)) {
    // `key: {{host}}:3000` is YAML for a map whose key is a map: the template needed quotes.
    const first = node.items[0]?.key;
    return isMap(first) ? 'a map (quote a value with {{...}} in it: "{{host}}:3000")' : 'a map';
  }
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (node.value === null) return 'nothing';
    if (typeof node.value === 'string') return quote(node.value);
    if (typeof node.value === 'number' || typeof node.value === 'boolean') return sourceText(node);
  }
  return 'an unsupported value';
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function orList(keys: readonly string[]): string {
  const quoted = keys.map((k) => JSON.stringify(k));
  return quoted.length <= 2 ? quoted.join(' or ') : `${quoted.slice(0, -1).join(', ')} or ${quoted.at(-1)}`;
}
