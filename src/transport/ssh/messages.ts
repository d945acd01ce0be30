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

/**
 * Why a session channel could not be opened, as said to the user: a refused channel open on
 * a connection that already has a session is most often sshd's MaxSessions (1 on some
 * hardened servers), so the message names it.
 */
export function sessionRefused(err: unknown): string {
  const message = errorMessage(err);
  if (!/Channel open failure/i.test(message)) return message;
  return `${message} (the server refused another session on this connection: MaxSessions in its sshd_config?)`;
}
