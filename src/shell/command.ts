/**
 * Remote commands as data. Builders in src/release, src/deploy... return `Command` values;
 * src/shell/render.ts is the one place they become shell text, and it quotes every argument.
 * Hand-written scripts go through sh`...` (src/shell/sh.ts), which quotes every value it is
 * given. Nothing else in ship concatenates shell.
 */

/** Shell text inserted verbatim. Only made by `raw()` for fixed fragments and user-written task commands. */
export interface Raw {
  readonly raw: string;
}

/** An argument: a plain string is always quoted; a Raw is trusted shell text. */
export type Arg = string | Raw;

export type Redirect = { op: '>' | '>>' | '<' | '2>' | '2>>'; target: string } | { op: '2>&1' | '>&2' };

export type Command =
  | { kind: 'exec'; argv: Arg[]; redirects: Redirect[] }
  | { kind: 'and' | 'or' | 'seq' | 'pipe'; parts: Command[] }
  | { kind: 'raw'; text: string }
  | { kind: 'subshell'; body: Command }
  | { kind: 'if'; cond: Command; then: Command; else?: Command }
  | { kind: 'not'; body: Command };

export const raw = (text: string): Raw => ({ raw: text });
export const isRaw = (a: Arg): a is Raw => typeof a !== 'string';

export function cmd(...argv: Arg[]): Command {
  if (argv.length === 0) throw new Error('cmd() needs a program');
  return { kind: 'exec', argv, redirects: [] };
}

/** Adds redirections to a simple command. */
export function redirect(c: Command, ...redirects: Redirect[]): Command {
  if (c.kind !== 'exec') throw new Error('only a simple command can be redirected; wrap it in a subshell');
  return { ...c, redirects: [...c.redirects, ...redirects] };
}

const join =
  (kind: 'and' | 'or' | 'seq' | 'pipe') =>
  (...parts: Command[]): Command =>
    parts.length === 1 ? parts[0]! : { kind, parts };

/** a && b && c */
export const and = join('and');
/** a || b */
export const or = join('or');
/** a; b; c (each runs whatever the previous did) */
export const seq = join('seq');
/** a | b */
export const pipe = join('pipe');

/** User-written shell (a task's `run`), already interpolated with quoted values. */
export const script = (text: string): Command => ({ kind: 'raw', text });
export const subshell = (body: Command): Command => ({ kind: 'subshell', body });
export const not = (body: Command): Command => ({ kind: 'not', body });
export const when = (cond: Command, then: Command, otherwise?: Command): Command =>
  otherwise ? { kind: 'if', cond, then, else: otherwise } : { kind: 'if', cond, then };

/**
 * `( umask 077 && body )`: what body creates is its owner's alone (files 0600, directories
 * 0700), whatever the login's umask: for secrets (shared files, backups, the lock's owner).
 */
export const privately = (body: Command): Command => subshell(and(cmd('umask', '077'), body));

/** `( cd -- DIR && body )`: runs body in DIR without changing the caller's directory. */
export const inDir = (dir: string, body: Command): Command => subshell(and(cmd('cd', '--', dir), body));

/** `[ -e path ]` and friends. */
export const test = (flag: '-e' | '-d' | '-f' | '-L' | '-s' | '-w' | '-n' | '-z', value: string): Command => cmd(raw('['), flag, value, raw(']'));

/** Exits the script with `code` after printing `message` on stderr. */
export const fail = (message: string, code: number): Command => seq(redirect(cmd('printf', '%s\\n', message), { op: '>&2' }), cmd('exit', String(code)));
