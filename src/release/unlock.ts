/**
 * `ship unlock`: what a lock found on a host means, and the commands that look at it and
 * remove it. A lock whose run may still be going (its process alive on this machine, or a
 * run started elsewhere a short while ago) is not removed without --force: the next deploy
 * would prune the release that run is making.
 */
import { cmd, type Command } from '../shell/command.js';
import { sh } from '../shell/sh.js';
import { describeLock, formatAge, releaseLock, type LockOwner } from './lock.js';
import type { ServerPaths } from './paths.js';

/** A lock taken on another machine is presumed alive this long: its process cannot be looked at from here. */
export const RECENT_LOCK_MS = 15 * 60_000;

/** What `readForUnlock` found on one host. */
export interface FoundLock {
  /** The lock directory exists. */
  locked: boolean;
  /** owner.json as read: undefined when missing, {} when not what ship writes. */
  owner?: Partial<LockOwner>;
  /** Why .ship/ cannot be written by the login user, when it cannot. */
  unwritable?: string;
}

/** Prints `locked`, then owner.json when there is one, and `unwritable` when .ship/ is not writable. */
export function readForUnlock(paths: ServerPaths): Command {
  return sh`if [ -d ${paths.lock} ]; then echo locked; cat -- ${paths.lockOwner} 2>/dev/null; echo; fi
if [ -e ${paths.shipDir} ] && [ ! -w ${paths.shipDir} ]; then printf 'unwritable %s\\n' "$(id -un)"; fi`;
}

export function parseFoundLock(stdout: string): FoundLock {
  const lines = stdout.split('\n');
  // the line after `locked`: owner.json's one line (empty when there is none)
  const ownerLine = lines[lines.indexOf('locked') + 1]?.trim();
  let owner: Partial<LockOwner> | undefined;
  if (lines.includes('locked') && ownerLine) {
    try {
      const v = JSON.parse(ownerLine) as unknown;
      owner = v && typeof v === 'object' ? (v as Partial<LockOwner>) : {};
    } catch {
      owner = {}; // there, but not what ship writes
    }
  }
  const unwritable = lines.find((l) => l.startsWith('unwritable '));
  return {
    locked: lines.includes('locked'),
    ...(owner ? { owner } : {}),
    ...(unwritable ? { unwritable: `.ship/ is not writable by ${unwritable.slice('unwritable '.length)}` } : {}),
  };
}

export interface Liveness {
  /** This machine's name, as runs write it into owner.json. */
  machine: string;
  now: Date;
  /** Whether a process of this machine is alive. */
  alive(pid: number): boolean;
}

/**
 * Why the lock must be left alone (without --force), or undefined when unlock may remove it:
 * no owner.json (a run stopped while taking the lock), a `ship lock` window (made to be
 * unlocked), a run on this machine whose process is gone, or one elsewhere that started
 * RECENT_LOCK_MS ago or more.
 */
export function stillHeld(owner: Partial<LockOwner> | undefined, here: Liveness): string | undefined {
  if (!owner?.user || owner.command === 'lock') return undefined;
  const pid = typeof owner.pid === 'number' ? owner.pid : undefined;
  if (owner.machine === here.machine) {
    return pid !== undefined && here.alive(pid) ? `its run is still going (pid ${pid} is alive on this machine)` : undefined;
  }
  const age = owner.started ? here.now.getTime() - Date.parse(owner.started) : Number.NaN;
  if (!(age < RECENT_LOCK_MS)) return undefined;
  return `it was taken on ${owner.machine ?? 'another machine'} ${formatAge(age)} ago: that run may still be going (ship cannot see its process from here)`;
}

/**
 * Removes the lock that was found, and only it: a lock carrying a token only while it still
 * does (a run that took the lock since is left alone); a lock without owner.json only while
 * it still has none. With `force`, whatever is there. Prints `left` when a lock remains.
 */
export function removeFoundLock(paths: ServerPaths, found: FoundLock, force: boolean): Command {
  const token = found.owner?.token;
  const remove =
    force || (!token && found.owner)
      ? cmd('rm', '-rf', '--', paths.lock)
      : token
        ? releaseLock(paths, token)
        : sh`[ -e ${paths.lockOwner} ] || rm -rf -- ${paths.lock}`;
  return sh`${remove}
if [ -d ${paths.lock} ]; then echo left; fi`;
}

/** One host's line of `ship unlock`'s report. */
export function describeUnlocked(found: FoundLock, left: boolean, now: Date): string {
  const notes = found.unwritable ? ` (note: ${found.unwritable}: deploys will fail until it is)` : '';
  if (!found.locked) return `was not locked${notes}`;
  if (left) return `a new lock was taken while unlocking: left in place (${describeLock(found.owner, now)})`;
  if (!found.owner) return `removed a lock without owner.json (a run stopped while taking the lock)${notes}`;
  if (!found.owner.user) return `removed a lock whose owner.json is unreadable${notes}`;
  return `unlocked (was ${describeLock(found.owner, now)})${notes}`;
}
