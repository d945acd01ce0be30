/**
 * A tiny declarative schema language. deploy.yaml is described once with it (schema.ts);
 * the validator (walk.ts) and the JSON Schema generator (json-schema.ts) both read that
 * one description, and `Infer` derives the TypeScript type of validated data from it.
 */

interface Meta {
  description?: string;
  /** Only meaningful as a field of an object. */
  required?: boolean;
  /** Name under `definitions` in the generated JSON Schema (shared shapes are emitted once). */
  id?: string;
}

export interface StringSchema extends Meta {
  kind: 'string';
  minLength?: number;
  pattern?: RegExp;
  /** What a valid value looks like, for "expected <hint>, got ..." when `pattern` fails. */
  patternHint?: string;
  /** A further check that JSON Schema cannot express; returns what is wrong, or undefined. */
  check?: (value: string) => string | undefined;
  default?: string;
}

export interface IntSchema extends Meta {
  kind: 'int';
  min?: number;
  max?: number;
  default?: number;
}

export interface BoolSchema extends Meta {
  kind: 'bool';
  default?: boolean;
}

export interface EnumSchema<T extends string = string> extends Meta {
  kind: 'enum';
  values: readonly T[];
  default?: T;
}

/** A duration ("10s"); validated data holds milliseconds. */
export interface DurationSchema extends Meta {
  kind: 'duration';
  default?: number;
}

/** A size ("1GB"); validated data holds bytes. */
export interface SizeSchema extends Meta {
  kind: 'size';
  default?: number;
}

/** A string, number or boolean, kept as the text written in the file ("1.10" stays "1.10"). */
export interface ScalarSchema extends Meta {
  kind: 'scalar';
}

export interface ListSchema<I extends Schema = Schema> extends Meta {
  kind: 'list';
  items: I;
  minItems?: number;
}

export interface MapSchema<V extends Schema = Schema> extends Meta {
  kind: 'map';
  values: V;
  keys?: { pattern: RegExp; hint: string };
  minEntries?: number;
}

export interface ObjectSchema<F extends Fields = Fields> extends Meta {
  kind: 'object';
  fields: F;
  /** Groups of keys of which at most one may be given. */
  exclusive?: readonly (readonly string[])[];
  /** At least one of these keys must be given. */
  atLeastOne?: readonly string[];
  /** Keys ignored rather than reported (`x-defaults: &defaults` holds YAML anchors). */
  extensionKeys?: RegExp;
  /** Explanations for keys that are commonly put in the wrong place. */
  misplaced?: Readonly<Record<string, string>>;
}

/** One of several shapes, told apart by YAML node kind (scalar, list or map). */
export interface OneOfSchema<O extends readonly Schema[] = readonly Schema[]> extends Meta {
  kind: 'oneOf';
  options: O;
}

export type Schema =
  | StringSchema
  | IntSchema
  | BoolSchema
  | EnumSchema
  | DurationSchema
  | SizeSchema
  | ScalarSchema
  | ListSchema
  | MapSchema
  | ObjectSchema
  | OneOfSchema;

export type Fields = { readonly [key: string]: Schema };

type Options<S> = Omit<S, 'kind' | 'required'>;

export const str = (o: Options<StringSchema> = {}): StringSchema => ({ kind: 'string', ...o });
export const int = (o: Options<IntSchema> = {}): IntSchema => ({ kind: 'int', ...o });
export const bool = (o: Options<BoolSchema> = {}): BoolSchema => ({ kind: 'bool', ...o });
export const duration = (o: Options<DurationSchema> = {}): DurationSchema => ({ kind: 'duration', ...o });
export const size = (o: Options<SizeSchema> = {}): SizeSchema => ({ kind: 'size', ...o });
export const scalar = (o: Options<ScalarSchema> = {}): ScalarSchema => ({ kind: 'scalar', ...o });

export function enumOf<const T extends string>(values: readonly T[], o: Omit<Options<EnumSchema<T>>, 'values'> = {}): EnumSchema<T> {
  return { kind: 'enum', values, ...o };
}

export function list<I extends Schema>(items: I, o: Omit<Options<ListSchema<I>>, 'items'> = {}): ListSchema<I> {
  return { kind: 'list', items, ...o };
}

export function map<V extends Schema>(values: V, o: Omit<Options<MapSchema<V>>, 'values'> = {}): MapSchema<V> {
  return { kind: 'map', values, ...o };
}

export function obj<F extends Fields>(fields: F, o: Omit<Options<ObjectSchema<F>>, 'fields'> = {}): ObjectSchema<F> {
  return { kind: 'object', fields, ...o };
}

export function oneOf<const O extends readonly Schema[]>(options: O, o: Omit<Options<OneOfSchema<O>>, 'options'> = {}): OneOfSchema<O> {
  return { kind: 'oneOf', options, ...o };
}

/** Marks a field of an object as required. */
export function req<S extends Schema>(schema: S): S & { required: true } {
  return { ...schema, required: true };
}

/** The TypeScript type of data that passed validation against S. */
export type Infer<S> = S extends StringSchema | ScalarSchema
  ? string
  : S extends IntSchema | DurationSchema | SizeSchema
    ? number
    : S extends BoolSchema
      ? boolean
      : S extends EnumSchema<infer T>
        ? T
        : S extends ListSchema<infer I>
          ? Infer<I>[]
          : S extends MapSchema<infer V>
            ? Record<string, Infer<V>>
            : S extends ObjectSchema<infer F>
              ? InferObject<F>
              : S extends OneOfSchema<infer O>
                ? Infer<O[number]>
                : never;

type RequiredKeys<F> = { [K in keyof F]: F[K] extends { required: true } ? K : never }[keyof F];

type InferObject<F> = {
  [K in RequiredKeys<F>]: Infer<F[K]>;
} & {
  [K in Exclude<keyof F, RequiredKeys<F>>]?: Infer<F[K]>;
} extends infer O
  ? { [K in keyof O]: O[K] }
  : never;

/**
 * What validation hands on while problems exist: any part may be missing, and a list
 * keeps a hole where an invalid entry was, so indexes still match the file.
 */
export type Loose<T> = T extends (infer U)[] ? (Loose<U> | undefined)[] : T extends object ? { [K in keyof T]?: Loose<T[K]> } : T;

/** "an integer ≥ 1", "a string or a list of strings": for "expected X, got Y". */
export function describe(schema: Schema): string {
  switch (schema.kind) {
    case 'string':
      return schema.pattern && schema.patternHint ? schema.patternHint : 'a string';
    case 'int':
      if (schema.min !== undefined && schema.max !== undefined) {
        return `an integer from ${schema.min} to ${schema.max}`;
      }
      if (schema.min !== undefined) return `an integer ≥ ${schema.min}`;
      if (schema.max !== undefined) return `an integer ≤ ${schema.max}`;
      return 'an integer';
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${schema.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'duration':
      return 'a duration such as "10s"';
    case 'size':
      return 'a size such as "1GB"';
    case 'scalar':
      return 'a string, number or boolean';
    case 'list':
      return schema.items.kind === 'string' ? 'a list of strings' : 'a list';
    case 'map':
    case 'object':
      return 'a map';
    case 'oneOf': {
      const parts = schema.options.map(describe);
      return parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}`;
    }
  }
}

/** Which YAML node kind a schema accepts: how `oneOf` picks its branch. */
export function nodeKind(schema: Schema): 'scalar' | 'seq' | 'map' | 'any' {
  switch (schema.kind) {
    case 'list':
      return 'seq';
    case 'map':
    case 'object':
      return 'map';
    case 'oneOf':
      return 'any';
    default:
      return 'scalar';
  }
}
