import type { Arg, Command, Redirect } from './command.js';
import { isShellName, quote } from './quote.js';

const renderArg = (a: Arg): string => (typeof a === 'string' ? quote(a) : a.raw);

function renderRedirect(r: Redirect): string {
  switch (r.op) {
    case '2>&1':
    case '>&2':
      return r.op;
    default:
      return `${r.op}${quote(r.target)}`;
  }
}

const SEPARATORS = { and: ' && ', or: ' || ', seq: '; ', pipe: ' | ' } as const;

/** Renders a command value as POSIX sh text. Compound parts are grouped so precedence is explicit. */
export function render(c: Command): string {
  switch (c.kind) {
    case 'exec':
      return [...c.argv.map(renderArg), ...c.redirects.map(renderRedirect)].join(' ');
    case 'raw':
      return c.text;
    case 'subshell':
      return c.body.kind === 'raw' && !oneLine(c.body.text) ? `( ${c.body.text}\n)` : `( ${render(c.body)} )`;
    case 'not':
      return c.body.kind === 'exec' ? `! ${render(c.body)}` : `! ${group(c.body)}`;
    case 'if':
      return `if ${render(c.cond)}; then ${render(c.then)}; ${c.else ? `else ${render(c.else)}; ` : ''}fi`;
    case 'and':
    case 'or':
    case 'seq':
    case 'pipe':
      return c.parts.map((p) => (needsGroup(c.kind, p) ? group(p) : render(p))).join(SEPARATORS[c.kind]);
  }
}

/**
 * A part needs braces when sh would otherwise bind it differently: `;` binds loosest, then
 * `&&`/`||` (equal, left to right, so one inside the other is grouped), then `|`.
 */
function needsGroup(parent: 'and' | 'or' | 'seq' | 'pipe', part: Command): boolean {
  if (part.kind === 'raw') return true; // user text may hold any operator, even a newline
  const rank = { seq: 0, and: 1, or: 1, pipe: 2 } as const;
  if (part.kind === 'and' || part.kind === 'or' || part.kind === 'seq' || part.kind === 'pipe') {
    if (part.kind === parent) return false;
    return rank[part.kind] <= rank[parent];
  }
  return false;
}

/**
 * User text that spans lines or holds a `#` comment is closed on a new line, so its last
 * line can never swallow the closing brace.
 */
const oneLine = (text: string) => !text.includes('\n') && !text.includes('#') && !/&\s*$/.test(text); // `cmd &;` is a syntax error
const group = (c: Command): string => {
  if (c.kind === 'raw') {
    const text = c.text.replace(/\s+$/, '');
    return oneLine(text) ? `{ ${text.replace(/;$/, '')}; }` : `{ ${text}\n}`;
  }
  return `{ ${render(c)}; }`;
};

/** `export NAME='value'` lines; names are checked so they cannot smuggle shell. */
export function renderExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([name, value]) => {
      if (!isShellName(name)) throw new Error(`invalid environment variable name: ${JSON.stringify(name)}`);
      return `export ${name}=${quote(value)}`;
    })
    .join('\n');
}
