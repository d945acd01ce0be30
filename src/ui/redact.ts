import { shText } from '../shell/sh.js';

export const REDACTED = '[REDACTED]';

export type Redact = (text: string) => string;

/**
 * Replaces every secret value, and its shell-quoted form, with [REDACTED]. Longest first so a
 * secret that contains another is hidden whole. Values shorter than 4 characters are still
 * redacted: a short password is still a password.
 */
export function makeRedactor(secretValues: string[]): Redact {
  const forms = new Set<string>();
  for (const v of secretValues) {
    if (!v) continue;
    forms.add(v);
    forms.add(shText`${v}`); // as a rendered command holds it
    forms.add(JSON.stringify(v).slice(1, -1)); // as it appears inside JSON strings
  }
  const sorted = [...forms].filter(Boolean).sort((a, b) => b.length - a.length);
  if (sorted.length === 0) return (t) => t;
  return (text) => {
    let out = text;
    for (const f of sorted) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  };
}
