import { raw, type Command, type Raw } from './command.js';
import { isShellName, quote } from './quote.js';
import { render } from './render.js';

/** What may stand in a `${}` of sh`...`: each becomes shell text in its own way, never unquoted. */
export type ShValue = string | number | Raw | Command | readonly string[];

/**
 * Hand-written shell with every interpolated value quoted by construction:
 *
 *   sh`if mkdir -- ${paths.lock} 2>/dev/null; then echo ok; fi`
 *
 * A string becomes one quoted word, an array one quoted word per item, a number its digits,
 * a Command its rendering, and a Raw (`raw('$HOME')`) its text: the only way to put shell
 * syntax in a value is to say so. The result is a Command like any other.
 */
export function sh(strings: TemplateStringsArray, ...values: ShValue[]): Command {
  return { kind: 'raw', text: shText(strings, ...values) };
}

/** The same, as text: for the few places that need shell text, not a Command (a transport's exec line). */
export function shText(strings: TemplateStringsArray, ...values: ShValue[]): string {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += word(v) + strings[i + 1]!;
  });
  return out;
}

function word(v: ShValue): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`sh: ${v} is not a number a shell can take`);
    return String(v);
  }
  if (Array.isArray(v)) return (v as readonly string[]).map(quote).join(' ');
  if ('raw' in v) return v.raw;
  return render(v as Command);
}

/** Several commands as one script, one per line: a newline ends a command as `;` does. */
export const lines = (...commands: Command[]): Command => ({ kind: 'raw', text: commands.map(render).join('\n') });

/**
 * `NAME=<first line of file>`, empty when the file is missing or unreadable: the shell's own
 * `read`, no program started.
 */
export function readFirstLine(name: string, file: string): Command {
  if (!isShellName(name)) throw new Error(`not a shell variable name: ${JSON.stringify(name)}`);
  const variable = raw(name);
  return sh`${variable}=; { IFS= read -r ${variable} < ${file}; } 2>/dev/null`;
}
