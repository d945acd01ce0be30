/**
 * Idempotent host actions for `ship setup`, as command values. Each one looks before it
 * acts and prints one line saying what it did: `changed <what>` or `unchanged <what>`, so a
 * second run can say that it changed nothing. `warn <text>` and `note <text>` lines carry
 * advice. The parser for those lines is here too, next to what prints them.
 */
import { posix } from 'node:path';
import { and, cmd, pipe, privately, raw, redirect, seq, test, when, type Command } from '../shell/command.js';

export type ActionKind = 'changed' | 'unchanged' | 'warn' | 'note';

export interface ActionLine {
  kind: ActionKind;
  text: string;
}

export const report = (kind: ActionKind, text: string): Command => cmd('printf', '%s %s\\n', kind, text);

export function parseActionLines(stdout: string): ActionLine[] {
  return stdout.split('\n').flatMap((line) => {
    const m = /^(changed|unchanged|warn|note) (.*)$/.exec(line);
    return m ? [{ kind: m[1] as ActionKind, text: m[2]! }] : [];
  });
}

export function ensureDir(path: string): Command {
  return when(test('-d', path), report('unchanged', `${path}/`), and(cmd('mkdir', '-p', '--', path), report('changed', `created ${path}/`)));
}

/**
 * A missing file is created empty and private (0600: shared files hold secrets, like .env);
 * an existing one is never touched (it holds the app's settings).
 */
export function ensureEmptyFile(path: string): Command {
  return when(
    test('-e', path),
    report('unchanged', path),
    and(cmd('mkdir', '-p', '--', posix.dirname(path)), privately(cmd('touch', '--', path)), report('changed', `created empty ${path} (fill it in, 0600)`)),
  );
}

/**
 * A file holding exactly the value of the script variable `contentVar`: compared first (cmp),
 * rewritten only when it differs. The content travels as an exported variable of the script
 * (see SetupPlan.env), so a failing command names the file, not a page of its text. As an
 * unprivileged user the file is written to a temporary name and renamed, so a reader never
 * sees half of it; with `sudo`, through `sudo -n tee` (-n: fail rather than wait for a
 * password). `onChange` runs only after a write (e.g. systemctl daemon-reload).
 */
export function ensureFile(path: string, contentVar: string, opts: { sudo?: boolean; onChange?: Command } = {}): Command {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(contentVar)) throw new Error(`not a variable name: ${contentVar}`);
  const body = cmd('printf', '%s', raw(`"$${contentVar}"`));
  const same = and(test('-f', path), pipe(body, cmd('cmp', '-s', '-', path)));
  const tmp = `${path}.ship-tmp`;
  const write = opts.sudo
    ? pipe(body, redirect(cmd('sudo', '-n', 'tee', '--', path), { op: '>', target: '/dev/null' }))
    : and(cmd('mkdir', '-p', '--', posix.dirname(path)), redirect(body, { op: '>', target: tmp }), cmd('mv', '-f', '--', tmp, path));
  return when(same, report('unchanged', path), and(write, report('changed', `wrote ${path}`), ...(opts.onChange ? [opts.onChange] : [])));
}

/**
 * One line in the user's crontab. An older line mentioning `marker` (the same rule with other
 * settings) is replaced; the user's other lines are kept as they are.
 */
export function ensureCronLine(line: string, marker: string): Command {
  const list = redirect(cmd('crontab', '-l'), { op: '2>', target: '/dev/null' });
  const present = pipe(list, cmd('grep', '-qxF', '--', line));
  const rewrite = pipe(seq(pipe(list, cmd('grep', '-vF', '--', marker)), cmd('printf', '%s\\n', line)), cmd('crontab', '-'));
  return when(
    present,
    report('unchanged', `crontab entry for ${marker}`),
    and(rewrite, report('changed', `added a crontab entry running logrotate for ${marker}`)),
  );
}
