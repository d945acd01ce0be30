/** env for one stage: ${NAME} expanded, and the values that must never be printed. */
import { expandEnvTemplate, parseEnvTemplate } from './interpolate.js';
import type { Path } from './positions.js';

/**
 * The shortest secret ship accepts: a shorter value would be replaced in every word that holds
 * it (a secret `abc` would mangle every line), so configuration refuses it.
 */
export const MIN_SECRET_LENGTH = 4;

export interface EnvValue {
  value: string;
  references: string[];
  /** Where it is written in deploy.yaml. */
  path: Path;
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
    out.push([key, { value: expanded.value, references: expanded.references, path: [...path, key] }]);
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
  const values = new Set(secretEntries(maps, secrets).map(([, entry]) => entry.value));
  return [...values].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
}

/**
 * Secret entries too short to redact safely (1 to MIN_SECRET_LENGTH - 1 characters): a secret
 * `abc` would be replaced inside every word that holds it. Each comes with where it is written.
 */
export function shortSecrets(
  maps: readonly Readonly<Record<string, EnvValue>>[],
  secrets: readonly string[],
  min = MIN_SECRET_LENGTH,
): { key: string; path: Path }[] {
  const seen = new Set<string>();
  const out: { key: string; path: Path }[] = [];
  for (const [key, entry] of secretEntries(maps, secrets)) {
    const where = entry.path.join('\0');
    if (entry.value.length >= min || seen.has(where)) continue;
    seen.add(where);
    out.push({ key, path: entry.path });
  }
  return out;
}

/** The non-empty env entries that are secrets: named in `secrets`, or built from one. */
function secretEntries(maps: readonly Readonly<Record<string, EnvValue>>[], secrets: readonly string[]): [string, EnvValue][] {
  return maps.flatMap((map) =>
    Object.entries(map).filter(([key, entry]) => entry.value !== '' && (secrets.includes(key) || entry.references.some((name) => secrets.includes(name)))),
  );
}
