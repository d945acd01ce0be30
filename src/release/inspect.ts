import { raw, type Command } from '../shell/command.js';
import { sh } from '../shell/sh.js';
import type { HostState, ReleaseInfo } from './choose.js';
import { isReleaseId, releaseIdProblem } from './id.js';
import { FAILED_MARKER, MIGRATED_MARKER, PREPARING_MARKER, type ServerPaths } from './paths.js';

/**
 * One command that reports what a host holds, as lines a parser reads back:
 *   current <link target or nothing>
 *   installs (when deps/ exists: shared dependency installs live here)
 *   release <id> <failed 0|1> <preparing 0|1> <migrated 0|1> <revision or -> <node_modules link or nothing>
 * Shell builtins only, but for one readlink, and one per release whose node_modules is a link
 * (a shared dependency install): a host with five releases used to cost 17 programs.
 */
export function inspectHost(paths: ServerPaths): Command {
  // the marker names are fixed words, written inside the double quotes that keep "$__d" whole
  const [failed, preparing, migrated] = [raw(FAILED_MARKER), raw(PREPARING_MARKER), raw(MIGRATED_MARKER)] as const;
  return sh`printf 'current '
if [ -L ${paths.current} ]; then readlink -- ${paths.current} 2>/dev/null || echo; else echo; fi
if [ -e ${paths.current} ] && [ ! -L ${paths.current} ]; then echo current-is-directory; fi
if [ -d ${paths.deps} ]; then echo installs; fi
for __d in ${paths.releases}/*/; do
  [ -d "$__d" ] || continue
  __id=\${__d%/}; __id=\${__id##*/}
  __f=0; [ -e "$__d${failed}" ] && __f=1
  __p=0; [ -e "$__d${preparing}" ] && __p=1
  __m=0; [ -e "$__d${migrated}" ] && __m=1
  __r=; [ -f "$__d"REVISION ] && { IFS= read -r __r < "$__d"REVISION; } 2>/dev/null
  case $__r in ''|*[!0-9a-f]*) __r=- ;; esac
  __n=; [ -L "$__d"node_modules ] && __n=$(readlink -- "$__d"node_modules 2>/dev/null)
  printf 'release %s %s %s %s %s %s\\n' "$__id" "$__f" "$__p" "$__m" "$__r" "$__n"
done`;
}

export interface InspectedHost extends HostState {
  /** Target of `current` as written, for messages when it is not a release of this deploy_to. */
  currentTarget: string | undefined;
  /** `current` exists and is not a symlink: ship refuses to touch such a host. */
  currentIsDirectory: boolean;
  migrated: Set<string>;
  /** deps/ exists: the host holds shared dependency installs, which the finish phase prunes. */
  installs: boolean;
  /** Directories of releases/ left out of `releases` (see releaseIdProblem), with why. */
  ignored: { id: string; why: string }[];
}

/** What a host holds, from inspectHost's output; `now` (this machine's clock) judges the ids. */
export function parseInspection(host: string, paths: ServerPaths, output: string, now: Date): InspectedHost {
  let currentTarget: string | undefined;
  let currentIsDirectory = false;
  let installs = false;
  const releases: ReleaseInfo[] = [];
  const migrated = new Set<string>();
  const ignored: { id: string; why: string }[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('current ')) currentTarget = line.slice(8).trim() || undefined;
    if (line === 'current-is-directory') currentIsDirectory = true;
    if (line === 'installs') installs = true;
    const m = /^release (\S+) ([01]) ([01]) ([01]) (\S+)(?: (.*))?$/.exec(line);
    const why = m ? releaseIdProblem(m[1]!, now) : undefined;
    if (m && why && isReleaseId(m[1]!)) ignored.push({ id: m[1]!, why });
    else if (m && !why) {
      const info: ReleaseInfo = { id: m[1]!, failed: m[2] === '1', preparing: m[3] === '1' };
      if (m[5] !== '-') info.revision = m[5]!;
      const deps = installName(paths, m[6]);
      if (deps) info.deps = deps;
      if (m[4] === '1') migrated.add(info.id);
      releases.push(info);
    }
  }
  releases.sort((a, b) => (a.id < b.id ? -1 : 1));
  let current: string | undefined;
  if (currentTarget) {
    const base = currentTarget.replace(/\/+$/, '').split('/').at(-1)!;
    const underReleases = currentTarget.startsWith(`${paths.releases}/`) || currentTarget.startsWith('releases/');
    if (underReleases && isReleaseId(base)) current = base;
  }
  return { host, current, currentTarget, currentIsDirectory, releases, migrated, installs, ignored };
}

/** The name of the shared install a release's node_modules links to (deps/<name>/node_modules), if it does. */
function installName(paths: ServerPaths, target: string | undefined): string | undefined {
  const prefix = `${paths.deps}/`;
  if (!target?.startsWith(prefix) || !target.endsWith('/node_modules')) return undefined;
  const name = target.slice(prefix.length, -'/node_modules'.length);
  return name && !name.includes('/') ? name : undefined;
}
