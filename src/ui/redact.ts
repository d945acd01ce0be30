import { MIN_SECRET_LENGTH } from '../config/resolve-env.js';
import { shText } from '../shell/sh.js';

export const REDACTED = '[REDACTED]';

export type Redact = (text: string) => string;

/**
 * Lines of a multi-line secret (a PEM key, a JSON credential) shorter than this, once trimmed,
 * are not redacted on their own: `-----`, `{` or `},` carry nothing secret and are everywhere.
 */
export const MIN_SECRET_LINE = 8;

/**
 * Replaces every secret value, and its shell-quoted and JSON-string forms, with [REDACTED].
 * Output is read line by line, so a secret that spans lines is also hidden line by line: each
 * of its lines of useful length is a form of its own. Longest first, so a secret that contains
 * another is hidden whole. Values shorter than MIN_SECRET_LENGTH are ignored (configuration
 * refuses them).
 */
export function makeRedactor(secretValues: string[]): Redact {
  const forms = new Set<string>();
  for (const v of secretValues) {
    if (v.length < MIN_SECRET_LENGTH) continue;
    for (const form of formsOf(v)) forms.add(form);
    if (!/[\r\n]/.test(v)) continue;
    for (const line of v.split(/\r?\n|\r/)) {
      const t = line.trim();
      if (t.length >= MIN_SECRET_LINE) for (const form of formsOf(t)) forms.add(form);
    }
  }
  const sorted = [...forms].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  if (sorted.length === 0) return (t) => t;
  return (text) => {
    let out = text;
    for (const f of sorted) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  };
}

/** A value as output may hold it: as it is, as a rendered command quotes it, inside a JSON string. */
function formsOf(v: string): string[] {
  return [v, shText`${v}`, JSON.stringify(v).slice(1, -1)];
}

/**
 * A copy of a value to serialise as JSON with every string in it (keys too) redacted: redacting
 * the serialised text instead could replace JSON's own words (a secret `true` or `null`).
 */
export function redactValues<T>(value: T, redact: Redact): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactValues(v, redact)) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactValues(v, redact)])) as T;
  return value;
}
