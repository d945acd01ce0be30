/**
 * ${NAME} in env values: read from the environment of the machine running ship.
 * `${NAME:-fallback}` uses the fallback when NAME is unset or empty; `$${` is a literal `${`.
 * Anything else (`$HOME`, a lone `$`) is kept as written: env values are exported verbatim.
 */

export type EnvTemplatePart = string | { name: string; fallback?: string };

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

export function parseEnvTemplate(value: string): { ok: true; parts: EnvTemplatePart[] } | { ok: false; error: string } {
  const parts: EnvTemplatePart[] = [];
  let text = '';
  let i = 0;
  while (i < value.length) {
    if (value.startsWith('$${', i)) {
      text += '${';
      i += 3;
    } else if (value.startsWith('${', i)) {
      const end = value.indexOf('}', i + 2);
      const inner = end < 0 ? undefined : value.slice(i + 2, end);
      const match = inner === undefined ? null : REFERENCE.exec(inner);
      if (!match || match[1] === undefined) {
        const written = end < 0 ? value.slice(i) : value.slice(i, end + 1);
        return {
          ok: false,
          error: `invalid reference ${JSON.stringify(written)}: write \${NAME} or \${NAME:-default}, or $\${ for a literal "\${"`,
        };
      }
      if (text !== '') parts.push(text);
      text = '';
      parts.push(match[2] === undefined ? { name: match[1] } : { name: match[1], fallback: match[2] });
      i = end + 1;
    } else {
      text += value[i];
      i += 1;
    }
  }
  if (text !== '') parts.push(text);
  return { ok: true, parts };
}

export interface Expanded {
  value: string;
  /** Variables referenced (with or without a fallback). */
  references: string[];
  /** Variables referenced without a fallback that are not set. */
  missing: string[];
}

export function expandEnvTemplate(parts: readonly EnvTemplatePart[], env: Readonly<Record<string, string | undefined>>): Expanded {
  const result: Expanded = { value: '', references: [], missing: [] };
  for (const part of parts) {
    if (typeof part === 'string') {
      result.value += part;
      continue;
    }
    result.references.push(part.name);
    const set = env[part.name];
    if (part.fallback !== undefined) {
      result.value += set === undefined || set === '' ? part.fallback : set;
    } else if (set === undefined) {
      result.missing.push(part.name);
    } else {
      result.value += set;
    }
  }
  return result;
}
