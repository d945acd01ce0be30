import { and, cmd, redirect, seq, type Command } from '../shell/command.js';
import { readFirstLine, sh } from '../shell/sh.js';
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

/**
 * mkdir is atomic: exactly one of two racing runs creates the directory. The winner writes
 * owner.json; a loser prints the owner (when already written) and exits LOCK_HELD. Shell
 * builtins first: mkdir -p runs only on a host's first deploy.
 */
export function acquireLock(paths: ServerPaths, owner: LockOwner): Command {
  const diskFull = `cannot write ${paths.lockOwner}: is the disk full? (df -h ${paths.root})`;
  return sh`[ -d ${paths.shipDir} ] && [ -d ${paths.releases} ] || mkdir -p -- ${[paths.shipDir, paths.releases]} || exit 1
if mkdir -- ${paths.lock} 2>/dev/null; then
  printf '%s\\n' ${JSON.stringify(owner)} > ${paths.lockOwner} || { rm -rf -- ${paths.lock}; echo ${diskFull} >&2; exit 1; }
else
  ${printOwner(paths)}
  exit ${LOCK_HELD}
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

/** `ship unlock`: removes whatever lock is there, printing who held it. */
export function forceUnlock(paths: ServerPaths): Command {
  return seq(redirect(cmd('cat', '--', paths.lockOwner), { op: '2>', target: '/dev/null' }), and(cmd('rm', '-rf', '--', paths.lock)));
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
  return (
    `held by ${owner.user} on ${owner.machine ?? '?'} (pid ${owner.pid ?? '?'}, ${owner.command ?? '?'})` +
    ` since ${owner.started ?? '?'} (${age} ago)` +
    (owner.reason ? `: ${owner.reason}` : '')
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
