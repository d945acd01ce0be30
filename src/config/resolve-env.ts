/** env for one stage: ${NAME} expanded, and the values that must never be printed. */
import { expandEnvTemplate, parseEnvTemplate } from './interpolate.js';
import type { Path } from './positions.js';

export interface EnvValue {
  value: string;
  references: string[];
}

export interface MissingVariable {
  path: Path;
  name: string;
}

/** Expands each value of one env map; unset variables are collected with their path. */
export function expandEnvMap(
  map: Readonly<Record<string, string>> | undefined,
  path: Path,
  env: Readonly<Record<string, string | undefined>>,
  missing: MissingVariable[],
): Record<string, EnvValue> {
  const out: [string, EnvValue][] = [];
  for (const [key, written] of Object.entries(map ?? {})) {
    const parsed = parseEnvTemplate(written);
    if (!parsed.ok) continue; // reported by validation
    const expanded = expandEnvTemplate(parsed.parts, env);
    for (const name of expanded.missing) missing.push({ path: [...path, key], name });
    out.push([key, { value: expanded.value, references: expanded.references }]);
  }
  return Object.fromEntries(out);
}

export function envValues(map: Readonly<Record<string, EnvValue>>): Record<string, string> {
  return Object.fromEntries(Object.entries(map).map(([key, v]) => [key, v.value]));
}

/**
 * Values to redact: those of env entries named in `secrets`, and of entries built from
 * ${NAME} where NAME is a secret. Longest first, so a redactor replacing in order never
 * leaves the tail of a longer secret behind.
 */
export function secretValuesOf(maps: readonly Readonly<Record<string, EnvValue>>[], secrets: readonly string[]): string[] {
  const values = new Set<string>();
  for (const map of maps) {
    for (const [key, entry] of Object.entries(map)) {
      const secret = secrets.includes(key) || entry.references.some((name) => secrets.includes(name));
      if (secret && entry.value !== '') values.add(entry.value);
    }
  }
  return [...values].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}
