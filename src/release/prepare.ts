import { posix } from 'node:path';
import { and, cmd, fail, or, pipe, redirect, script, seq, test, when, type Command } from '../shell/command.js';
import { quote } from '../shell/render.js';
import { FAILED_MARKER, MIGRATED_MARKER, PREPARING_MARKER, type ServerPaths } from './paths.js';

/** Builders for the prepare phase (DESIGN section 4, step 3). All pure: they return commands. */

const treeish = (sha: string, tree?: string) => (tree ? `${sha}:${tree.replace(/^\/+|\/+$/g, '')}` : sha);

/** Command line (no secrets: it is visible in `ps`) that unpacks an uploaded tar from stdin into a new release. */
export function unpackUpload(paths: ServerPaths, id: string): Command {
  const dir = paths.release(id);
  return and(
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
  const git = (...args: string[]) => cmd('git', '-C', paths.repo, ...args);
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
  // few processes however many links: one check per file, one mkdir, one rm, one ln per link
  const parts: Command[] = files.map((f) =>
    or(test('-e', posix.join(paths.shared, f)), fail(`shared file ${posix.join(paths.shared, f)} does not exist: create it (ship setup makes an empty one) or remove it from shared.files`, 1)),
  );
  const parents = [...new Set(all.map((p) => posix.dirname(posix.join(release, p))))];
  parts.push(
    cmd('mkdir', '-p', '--', ...dirs.map((d) => posix.join(paths.shared, d)), ...parents),
    cmd('rm', '-rf', '--', ...all.map((p) => posix.join(release, p))),
    ...all.map((p) => cmd('ln', '-s', '--', posix.join(paths.shared, p), posix.join(release, p))),
  );
  return and(...parts);
}

/** Shared paths are relative and may not climb out of shared/. */
function clean(p: string): string {
  const n = posix.normalize(p).replace(/^\/+|\/+$/g, '');
  if (!n || n === '.' || n.startsWith('..')) throw new Error(`shared path ${JSON.stringify(p)} must stay inside shared/`);
  return n;
}

export const finishPreparing = (paths: ServerPaths, id: string): Command => cmd('rm', '-f', '--', `${paths.release(id)}/${PREPARING_MARKER}`);

export const markFailed = (paths: ServerPaths, id: string): Command =>
  when(test('-d', paths.release(id)), redirect(cmd(':'), { op: '>', target: `${paths.release(id)}/${FAILED_MARKER}` }));

export const markMigrated = (paths: ServerPaths, id: string): Command =>
  redirect(cmd(':'), { op: '>', target: `${paths.release(id)}/${MIGRATED_MARKER}` });

/** Removes releases by id; never anything outside releases/. */
export function removeReleases(paths: ServerPaths, ids: string[]): Command | undefined {
  if (ids.length === 0) return undefined;
  return cmd('rm', '-rf', '--', ...ids.map((id) => paths.release(id)));
}

/** Removes a release only while it is not what `current` points at (a guard against any mix-up). */
export function removeReleaseUnlessCurrent(paths: ServerPaths, id: string): Command {
  const dir = paths.release(id);
  return script(`if [ "$(readlink ${quote(paths.current)} 2>/dev/null)" != ${quote(dir)} ]; then rm -rf -- ${quote(dir)}; fi`);
}

export const noop = (): Command => seq(cmd(':'));
