import { PLACEHOLDER, placeholders } from '../config/placeholders.js';
import { quote } from './quote.js';

export { placeholders };

export class TemplateError extends Error {
  constructor(
    readonly missing: string[],
    readonly template: string,
    readonly known: string[],
  ) {
    super(`unknown placeholder${missing.length > 1 ? 's' : ''} ${missing.map((m) => `{{${m}}}`).join(', ')}` + ` (known: ${known.join(', ')})`);
    this.name = 'TemplateError';
  }
}

function fill(template: string, values: Record<string, string>, encode: (v: string) => string): string {
  const missing = placeholders(template).filter((name) => !Object.hasOwn(values, name));
  if (missing.length) throw new TemplateError(missing, template, Object.keys(values).sort());
  return template.replace(PLACEHOLDER, (_, name: string) => encode(values[name]!));
}

/**
 * Fills a shell command template. Every value becomes exactly one quoted shell word, so no
 * value can break out of its argument (write `echo {{release}}`, not `echo "{{release}}"`).
 */
export const interpolateShell = (template: string, values: Record<string, string>): string => fill(template, values, quote);

/** Fills a URL or plain-text template: values are inserted as they are. */
export const interpolateText = (template: string, values: Record<string, string>): string => fill(template, values, (v) => v);
