import type { Command } from '../shell/command.js';
import { raw } from '../shell/command.js';
import { sh } from '../shell/sh.js';
import type { ServerPaths } from './paths.js';

/**
 * Shared dependency installs (recipe node with `deps: shared`): deps/<name>/node_modules, one
 * per lockfile, Node version and platform, linked into every release that matches. The build
 * task makes them under deps/.partial-<name> and renames them when complete; nothing here
 * writes into one, so a release's dependencies never change once it is built.
 */

/** A newline, as the case patterns below need it inside double quotes. */
const NL = raw("'\n'");

/**
 * Removes every install under deps/ that no release under releases/ links to, and every
 * temporary one (a run killed between its install and the rename). Run under the lock, after
 * old releases were pruned: the releases left are those kept, the new one included.
 */
export function pruneInstalls(paths: ServerPaths): Command {
  return sh`if [ -d ${paths.deps} ]; then
  __nl=${NL}; __used=$__nl
  for __d in ${paths.releases}/*/; do
    if [ -L "$__d"node_modules ]; then __used="$__used$(readlink -- "$__d"node_modules)$__nl"; fi
  done
  for __i in ${paths.deps}/*/ ${paths.deps}/.partial-*/; do
    [ -d "$__i" ] || continue
    __i=\${__i%/}
    case $__used in *"$__nl$__i/node_modules$__nl"*) ;; *) rm -rf -- "$__i" ;; esac
  done
fi`;
}
