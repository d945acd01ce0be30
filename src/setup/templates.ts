/**
 * The files `ship init` and `ship setup` write come from <package>/templates, so an operator
 * can read (and a packager can patch) them without reading code. Placeholders are `@name@`:
 * deploy.yaml itself is full of `{{name}}`, which must pass through untouched.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

export const TEMPLATES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'templates');

export const SCHEMA_FILE = resolve(TEMPLATES_DIR, 'deploy.schema.json');

export type TemplateName = 'deploy.yaml.tmpl' | 'logrotate.tmpl' | 'systemd.service.tmpl' | 'pm2.config.cjs.tmpl';

export function readTemplate(name: TemplateName, dir = TEMPLATES_DIR): string {
  return readFileSync(resolve(dir, name), 'utf8');
}

const PLACEHOLDER = /@([a-z_][a-z0-9_]*)@/g;

/**
 * Fills `@name@` placeholders. An unknown name is a bug in ship (the templates ship with it),
 * so it throws. With `singleLine`, a value holding a line break is refused: in a systemd unit
 * or a logrotate rule it would smuggle in a directive of its own.
 */
export function fillTemplate(text: string, values: Readonly<Record<string, string>>, opts: { singleLine?: boolean } = {}): string {
  return text.replace(PLACEHOLDER, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`template placeholder @${name}@ has no value (known: ${Object.keys(values).join(', ')})`);
    if (opts.singleLine && /[\r\n]/.test(value)) throw new UsageError(`${name} must be one line to go into a generated file, got ${JSON.stringify(value)}`);
    return value;
  });
}
