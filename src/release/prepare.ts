import { posix } from 'node:path';
import { insideTreeProblem } from '../config/paths.js';
import { and, cmd, fail, not, or, pipe, raw, redirect, seq, test, when, type Command } from '../shell/command.js';
import { RELEASE_UMASK } from '../shell/script.js';
import { readFirstLine, sh } from '../shell/sh.js';
import { FAILED_MARKER, MIGRATED_MARKER, PREPARING_MARKER, type ServerPaths } from './paths.js';

/**
 * Builders for the prepare phase: the code delivered into a new release, its shared links,
 * its markers, and the guards that keep a run to releases it made. All pure: they return commands.
 */

const treeish = (sha: string, tree?: string) => (tree ? `${sha}:${tree.replace(/^\/+|\/+$/g, '')}` : sha);

/**
 * Command line (no secrets: it is visible in `ps`) that unpacks an uploaded tar from stdin into
 * a new release. It runs outside the step scripts, so it sets their umask itself: a release
 * gets the same modes from either strategy, whatever the login's umask.
 */
export function unpackUpload(paths: ServerPaths, id: string): Command {
  const dir = paths.release(id);
  return and(
    cmd('umask', RELEASE_UMASK),
    cmd('mkdir', '-p', '--', paths.releases),
    cmd('mkdir', '--', dir),
    redirect(cmd(':'), { op: '>', target: `${dir}/${PREPARING_MARKER}` }),
    cmd('tar', '-x', '-f', '-', '-C', dir),
  );
}

/**
 * Strategy `remote`: a bare mirror in <deploy_to>/repo, fetched only when it lacks the sha,
 * then `git archive | tar -x` into the new release.
 */
export function deliverFromMirror(paths: ServerPaths, id: string, repo: string, sha: string, tree?: string): Command {
  const dir = paths.release(id);
  // --git-dir, not -C: git before 1.8.5 (CentOS/RHEL 7 ships 1.8.3) has no -C
  const git = (...args: string[]) => cmd('git', `--git-dir=${paths.repo}`, ...args);
  const hasSha = redirect(git('cat-file', '-e', `${sha}^{commit}`), { op: '2>', target: '/dev/null' });
  // A redeploy of a sha the mirror has runs one git process here; the URL is updated (it may
  // have changed in deploy.yaml) only when a fetch is needed anyway.
  return and(
    or(test('-d', paths.repo), cmd('git', 'clone', '--mirror', '--quiet', '--', repo, paths.repo)),
    or(
      hasSha,
      and(
        git('remote', 'set-url', 'origin', repo),
        git('fetch', '--quiet', '--prune', 'origin'),
        or(hasSha, fail(`commit ${sha} is not in ${repo} (fetched into ${paths.repo})`, 1)),
      ),
    ),
    cmd('mkdir', '--', dir),
    redirect(cmd(':'), { op: '>', target: `${dir}/${PREPARING_MARKER}` }),
    pipe(git('archive', '--format=tar', treeish(sha, tree)), cmd('tar', '-x', '-f', '-', '-C', dir)),
  );
}

/** Exit code of guardFreshId: a release with this id, or a later one, is already on the host. */
export const ID_TAKEN = 75;

/** A case pattern matching a release id (14 digits, as formatReleaseId writes them). */
const RELEASE_ID_GLOB = raw('[0-9]'.repeat(14));

/**
 * For a release id chosen before this host was looked at: exits ID_TAKEN, changing nothing,
 * when releases/ holds that id or a later one (clock skew, a fleet that diverged), so the run
 * picks another id for the whole fleet. Otherwise the id is claimed: written into our lock
 * directory, so that undoing (removeClaimed) can never remove a release this run did not make.
 * Shell builtins only.
 */
export function guardFreshId(paths: ServerPaths, id: string): Command {
  // ids are compared in two halves of 7 digits (the second after a leading 1, so never
  // octal-looking): a 14-digit number overflows a shell whose test has 32-bit integers (mksh)
  const [high, low] = [id.slice(0, 7), `1${id.slice(7)}`];
  return sh`for __d in ${paths.releases}/*/; do __i=\${__d%/}; __i=\${__i##*/}; \
case $__i in ${RELEASE_ID_GLOB}) __h=\${__i%???????}; __l=1\${__i#???????}; \
{ [ "$__h" -lt ${high} ] || { [ "$__h" -eq ${high} ] && [ "$__l" -lt ${low} ]; }; } || exit ${ID_TAKEN};; esac; done; \
printf '%s\\n' ${id} > ${claimFile(paths)}`;
}

/** Removes release `id` only where this run claimed it (guardFreshId) and it is not current. */
export function removeClaimed(paths: ServerPaths, id: string): Command {
  return sh`${readFirstLine('__ship_c', claimFile(paths))}; if [ "$__ship_c" = ${id} ]; then ${removeReleaseUnlessCurrent(paths, id)}; fi`;
}

/** Lives in the lock directory: it is ours while the lock is, and goes with it. */
const claimFile = (paths: ServerPaths) => `${paths.lock}/claimed`;

export function writeRevision(paths: ServerPaths, id: string, sha: string): Command {
  return redirect(cmd('printf', '%s\\n', sha), { op: '>', target: `${paths.release(id)}/REVISION` });
}

/**
 * Links shared dirs and files into the release, in one command. Dirs are created in shared/
 * when missing; a missing shared file is an error (an empty .env would start the app
 * misconfigured): `ship setup` or the operator creates it.
 */
export function linkShared(paths: ServerPaths, id: string, shared: { dirs: string[]; files: string[] }): Command | undefined {
  const release = paths.release(id);
  const dirs = shared.dirs.map(clean);
  const files = shared.files.map(clean);
  if (dirs.length + files.length === 0) return undefined;
  const all = [...dirs, ...files];
  // Few programs however many links: missing dirs are made by one mkdir, paths the checkout
  // put where a link goes are removed by one rm (both only when needed: shell tests decide),
  // and the links are made by one ln per directory they land in.
  // Before anything is made or removed: a link in the checkout where a shared path's parent
  // should be would take mkdir and rm through it, to wherever it points.
  const parts: Command[] = linkedParents(all).map(([path, parent]) =>
    or(
      not(test('-L', posix.join(release, parent))),
      fail(
        `shared path ${path}: ${posix.join(release, parent)} is a symlink in the repository; ship will not make or remove anything through it ` +
          `(it may lead out of the release): share ${parent} itself, or remove the link from the repository`,
        1,
      ),
    ),
  );
  parts.push(
    ...files.map((f) =>
      or(
        test('-e', posix.join(paths.shared, f)),
        fail(`shared file ${posix.join(paths.shared, f)} does not exist: create it (ship setup makes an empty one) or remove it from shared.files`, 1),
      ),
    ),
  );
  const needed = [...dirs.map((d) => posix.join(paths.shared, d)), ...new Set(all.map((p) => posix.dirname(posix.join(release, p))))];
  parts.push(when(anyOf(needed.map((d) => not(test('-d', d)))), cmd('mkdir', '-p', '--', ...needed)));
  const targets = all.map((p) => posix.join(release, p));
  parts.push(when(anyOf(targets.flatMap((t) => [test('-e', t), test('-L', t)])), cmd('rm', '-rf', '--', ...targets)));
  const byParent = new Map<string, string[]>();
  for (const p of all) {
    const parent = posix.dirname(posix.join(release, p));
    byParent.set(parent, [...(byParent.get(parent) ?? []), posix.join(paths.shared, p)]);
  }
  // `ln -s SRC... DIR/` names each link after its source: shared/<p> lands on release/<p>
  for (const [parent, sources] of byParent) parts.push(cmd('ln', '-s', '--', ...sources, `${parent}/`));
  return and(...parts);
}

/** Every [shared path, parent inside the release] pair to look at: "a/b/c" has parents "a" and "a/b". */
function linkedParents(all: string[]): [string, string][] {
  const seen = new Set<string>();
  return all.flatMap((p) =>
    p
      .split('/')
      .slice(0, -1)
      .map((_, i, segs) => segs.slice(0, i + 1).join('/'))
      .filter((parent) => !seen.has(parent) && seen.add(parent))
      .map((parent): [string, string] => [p, parent]),
  );
}

const anyOf = (tests: Command[]): Command => (tests.length === 1 ? tests[0]! : or(...tests));

/** Shared paths are relative and may not climb out of shared/ (the rule validation applies). */
function clean(p: string): string {
  const n = posix.normalize(p).replace(/\/+$/g, '');
  if (n === '.' || insideTreeProblem(p)) throw new Error(`shared path ${JSON.stringify(p)} must stay inside shared/ and the release`);
  return n;
}

export const finishPreparing = (paths: ServerPaths, id: string): Command => cmd('rm', '-f', '--', `${paths.release(id)}/${PREPARING_MARKER}`);

export const markFailed = (paths: ServerPaths, id: string): Command =>
  when(test('-d', paths.release(id)), redirect(cmd(':'), { op: '>', target: `${paths.release(id)}/${FAILED_MARKER}` }));

export const markMigrated = (paths: ServerPaths, id: string): Command => redirect(cmd(':'), { op: '>', target: `${paths.release(id)}/${MIGRATED_MARKER}` });

/** Removes releases by id; never anything outside releases/. */
export function removeReleases(paths: ServerPaths, ids: string[]): Command | undefined {
  if (ids.length === 0) return undefined;
  return cmd('rm', '-rf', '--', ...ids.map((id) => paths.release(id)));
}

/** Removes a release only while it is not what `current` points at (a guard against any mix-up). */
export function removeReleaseUnlessCurrent(paths: ServerPaths, id: string): Command {
  const dir = paths.release(id);
  return sh`if [ "$(readlink ${paths.current} 2>/dev/null)" != ${dir} ]; then rm -rf -- ${dir}; fi`;
}

export const noop = (): Command => seq(cmd(':'));
