import { cmd, seq, type Command } from '../shell/command.js';
import { render } from '../shell/render.js';
import { readFirstLine, sh } from '../shell/sh.js';
import { oneLine } from './host-text.js';
import type { ServerPaths } from './paths.js';

/** Exit code of the lock script when the lock is held by someone else. */
export const LOCK_HELD = 73;

export interface LockOwner {
  user: string;
  machine: string;
  pid: number;
  started: string; // ISO time
  reason?: string;
  command: string; // "deploy", "rollback", "lock"...
  token: string; // random: only the run that took the lock releases it
}

/** Prints the lock's owner.json, or `{}` when it is not written (yet). */
const printOwner = (paths: ServerPaths): Command => sh`cat -- ${paths.lockOwner} 2>/dev/null || printf '{}\\n'`;

/** Exit code of the lock script when the lock cannot be made (not writable, full disk): not "locked". */
export const LOCK_UNWRITABLE = 74;

/**
 * mkdir is atomic: exactly one of two racing runs creates the directory. The winner writes
 * owner.json (0600, in a 0700 directory: it names who deploys); a loser prints the owner
 * (when already written) and exits LOCK_HELD. Only a lock that exists is held: any other
 * reason mkdir fails (a .ship/ owned by root, a read-only or full disk) exits LOCK_UNWRITABLE
 * with mkdir's own words. Shell builtins first: mkdir -p runs only on a host's first deploy.
 */
export function acquireLock(paths: ServerPaths, owner: LockOwner): Command {
  const cannot = `ship cannot write under ${paths.root} as`;
  const diskFull = `cannot write ${paths.lockOwner} (is the disk full? ${render(cmd('df', '-h', '--', paths.root))})`;
  const refuse = sh`{ printf '%s %s: %s\\n' ${cannot} "$(id -un)" "$__ship_e" >&2; exit ${LOCK_UNWRITABLE}; }`;
  return sh`if [ ! -d ${paths.shipDir} ] || [ ! -d ${paths.releases} ]; then
  __ship_e=$(mkdir -p -- ${[paths.shipDir, paths.releases]} 2>&1) || ${refuse}
fi
if __ship_e=$(mkdir -m 700 -- ${paths.lock} 2>&1); then
  umask 077
  __ship_e=${diskFull}
  printf '%s\\n' ${JSON.stringify(owner)} 2>/dev/null > ${paths.lockOwner} || { rm -rf -- ${paths.lock}; ${refuse}; }
elif [ -d ${paths.lock} ]; then
  ${printOwner(paths)}
  exit ${LOCK_HELD}
else
  ${refuse}
fi`;
}

/**
 * Runs `body` only while the lock carries our token: what a run cleans up under its lock
 * (its own new release) must never touch another run's. owner.json is one line, read with
 * the shell's own `read`, so the check costs no program.
 */
export function whileLocked(paths: ServerPaths, token: string, body: Command): Command {
  const mark = `"token":${JSON.stringify(token)}`;
  return sh`${readFirstLine('__ship_l', paths.lockOwner)}; case $__ship_l in *${mark}*) ${body};; esac`;
}

/**
 * Releases the lock only when it still carries our token; `first` (a run's own clean-up, as
 * removing a release it made) runs under the same check, just before.
 */
export function releaseLock(paths: ServerPaths, token: string, first?: Command): Command {
  const unlock = cmd('rm', '-rf', '--', paths.lock);
  return whileLocked(paths, token, first ? seq(first, unlock) : unlock);
}

/** Reads the lock owner (empty output when unlocked). */
export function readLock(paths: ServerPaths): Command {
  return sh`if [ -d ${paths.lock} ]; then ${printOwner(paths)}; fi`;
}

export function parseLockOwner(text: string): Partial<LockOwner> | undefined {
  const line = text.split('\n').find((l) => l.trim().startsWith('{'));
  if (!line) return undefined;
  try {
    const v = JSON.parse(line) as unknown;
    return v && typeof v === 'object' ? (v as Partial<LockOwner>) : undefined;
  } catch {
    return {};
  }
}

/** "held by alice on laptop (pid 123) since 2026-11-22T02:15:00Z (12m ago): reason" */
export function describeLock(owner: Partial<LockOwner> | undefined, now: Date): string {
  if (!owner?.user) return 'held by an unknown owner (owner.json missing or unreadable)';
  const age = owner.started ? formatAge(now.getTime() - Date.parse(owner.started)) : 'unknown time';
  // every field is the host's text: one printable line each
  const f = (v: unknown) => oneLine(String(v ?? '?')).trim();
  return (
    `held by ${f(owner.user)} on ${f(owner.machine)} (pid ${f(owner.pid)}, ${f(owner.command)})` +
    ` since ${f(owner.started)} (${age} ago)` +
    (owner.reason ? `: ${f(owner.reason)}` : '')
  );
}

export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0s';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}
