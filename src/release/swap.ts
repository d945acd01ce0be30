import { and, cmd, fail, not, or, seq, test, when, type Command } from '../shell/command.js';
import type { ServerPaths } from './paths.js';

/** Exit code of the swap script when `current` is a real directory (ship never deletes it). */
export const CURRENT_IS_DIRECTORY = 90;

/** Refuses, changing nothing, when `current` exists and is not a symlink. */
export function refuseRealCurrent(paths: ServerPaths): Command {
  return when(
    and(test('-e', paths.current), not(test('-L', paths.current))),
    fail(`${paths.current} is a real directory, not a symlink: move it away by hand; ship will not delete it`, CURRENT_IS_DIRECTORY),
  );
}

/**
 * The portable atomic swap: make the new link in a scratch directory, then
 * rename(2) it over `current`. At no moment is `current` absent or half-written, and no
 * GNU-only `mv -T` is needed: `mv` into the directory renames the link onto the old one.
 * Two programs run (ln, mv): the scratch directory and a stale scratch link are checked with
 * shell builtins and only made or removed when needed (each program is a fork and an exec on
 * every host, on every deploy).
 */
export function swapCurrent(paths: ServerPaths, releaseId: string): Command {
  const scratch = `${paths.next}/current`;
  return seq(
    refuseRealCurrent(paths),
    and(
      or(test('-d', paths.next), cmd('mkdir', '-p', '--', paths.next)),
      when(or(test('-e', scratch), test('-L', scratch)), cmd('rm', '-f', '--', scratch)),
      cmd('ln', '-s', '--', paths.release(releaseId), scratch),
      cmd('mv', '-f', '--', scratch, `${paths.root}/`),
    ),
  );
}

/** Removes `current` (used only to undo a first deploy, when there was no previous release). */
export function removeCurrentLink(paths: ServerPaths): Command {
  return seq(refuseRealCurrent(paths), or(not(test('-L', paths.current)), cmd('rm', '-f', '--', paths.current)));
}
