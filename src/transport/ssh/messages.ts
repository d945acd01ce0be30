import type { ExecResult, SshTarget } from '../types.js';

/** How the SSH transport words what it tells the operator: every message names the target. */

/** `user@host:port`, plus the deploy.yaml name when it differs from the address. */
export function targetLabel(t: Pick<SshTarget, 'user' | 'hostname' | 'port' | 'name'>): string {
  const base = `${t.user}@${t.hostname}:${t.port}`;
  return t.name === t.hostname ? base : `${base} (${t.name})`;
}

/** A command's result when the connection dropped under it: exit 255, with why on stderr. */
export function lostResult(stdout: string, stderr: string, label: string, reason: string): ExecResult {
  const sep = stderr === '' || stderr.endsWith('\n') ? '' : '\n';
  return { exitCode: 255, stdout, stderr: `${stderr}${sep}[ship] connection to ${label} lost: ${reason}\n` };
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The last lines of a command's stderr, for an error message. */
export function tail(text: string, lines = 5): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** A path under the home directory as `~/...`, the way the operator wrote it. */
export function tildify(p: string, home: string): string {
  return home !== '' && p.startsWith(`${home}/`) ? `~/${p.slice(home.length + 1)}` : p;
}
