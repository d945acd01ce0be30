import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The deploying machine's git, the only module that imports simple-git. Always argv, never a
 * shell string. Resolves what to deploy to one full sha, and makes the upload archive.
 */

const FULL_SHA = /^[0-9a-f]{40}$/;

export class GitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GitError';
  }
}

/** A repo on this machine's disk (path or file:// URL), or undefined for a network URL. */
export function localRepoPath(repo: string): string | undefined {
  if (repo.startsWith('file://')) return fileURLToPath(repo);
  if (repo.startsWith('/')) return repo;
  return undefined;
}

const cleanGitMessage = (e: unknown) =>
  String((e as Error).message ?? e)
    .trim()
    .split('\n')
    .slice(-3)
    .join(' ');

/**
 * The full sha that `ref` (a branch, tag or sha; default the repo's HEAD) names right now.
 * Every host then gets exactly this commit.
 */
export async function resolveRevision(repo: string, ref: string | undefined): Promise<string> {
  const local = localRepoPath(repo);
  if (local) {
    if (!existsSync(local)) throw new GitError(`repository ${repo} does not exist`);
    try {
      const out = await (await git())(local).raw(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref ?? 'HEAD'}^{commit}`]);
      const sha = out.trim();
      if (FULL_SHA.test(sha)) return sha;
    } catch (e) {
      throw new GitError(`cannot resolve ${ref ?? 'HEAD'} in ${repo}: ${cleanGitMessage(e)}`);
    }
    throw new GitError(`${ref ?? 'HEAD'} names no commit in ${repo}`);
  }
  if (ref && FULL_SHA.test(ref)) return ref;
  let out: string;
  try {
    out = await (await git())().raw(['ls-remote', '--', repo, ...(ref ? [ref, `refs/tags/${ref}^{}`] : ['HEAD'])]);
  } catch (e) {
    throw new GitError(`cannot reach ${repo}: ${cleanGitMessage(e)}`);
  }
  const refs = new Map(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [sha, name] = l.split('\t');
        return [name!, sha!] as const;
      }),
  );
  const wanted = ref ? [`refs/heads/${ref}`, `refs/tags/${ref}^{}`, `refs/tags/${ref}`, ref] : ['HEAD'];
  for (const name of wanted) {
    const sha = refs.get(name);
    if (sha) return sha;
  }
  if (ref && /^[0-9a-f]{7,39}$/.test(ref)) {
    throw new GitError(`${ref} looks like a short sha: give the full 40-character sha, a branch or a tag for a remote repository`);
  }
  throw new GitError(`${ref ?? 'HEAD'} was not found in ${repo}`);
}

/** Where a network repository is mirrored on this machine for the upload strategy. */
function cacheDir(repo: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'ship', 'repos', createHash('sha256').update(repo).digest('hex').slice(0, 16));
}

/** A local repository that holds `sha`: the repo itself when local, else a mirror kept in the cache. */
async function localCopyWith(repo: string, sha: string): Promise<string> {
  const local = localRepoPath(repo);
  if (local) return local;
  const dir = cacheDir(repo);
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      await (await git())().raw(['clone', '--mirror', '--quiet', '--', repo, dir]);
    } else {
      const has = await (await git())(dir)
        .raw(['cat-file', '-e', `${sha}^{commit}`])
        .then(
          () => true,
          () => false,
        );
      if (!has) await (await git())(dir).raw(['fetch', '--quiet', '--prune', 'origin']);
    }
  } catch (e) {
    throw new GitError(`cannot mirror ${repo}: ${cleanGitMessage(e)}`);
  }
  return dir;
}

/** Writes `git archive` (tar) of sha (or sha:tree) to `file`: made once, streamed to every host. */
export async function archiveToFile(repo: string, sha: string, tree: string | undefined, file: string): Promise<void> {
  const dir = await localCopyWith(repo, sha);
  const treeish = tree ? `${sha}:${tree.replace(/^\/+|\/+$/g, '')}` : sha;
  try {
    await (await git())(dir).raw(['archive', '--format=tar', '-o', file, treeish]);
  } catch (e) {
    throw new GitError(`git archive ${treeish} failed in ${repo}: ${cleanGitMessage(e)}`);
  }
}

/**
 * The local tip of `branch` in the checkout around `dir` when the commit being deployed does not
 * contain it (unpushed work the deploy leaves out); undefined when it does, when the checkout has
 * no such branch, or outside a checkout. A tip some remote-tracking branch contains counts as
 * pushed (the remote moved on, this checkout has not fetched).
 */
export async function unpushedTip(dir: string, branch: string, deployed: string): Promise<string | undefined> {
  const g = (await git())(dir);
  const run = (args: string[]) =>
    g.raw(args).then(
      (out) => out.trim(),
      () => undefined,
    );
  if ((await run(['rev-parse', '--is-inside-work-tree'])) !== 'true') return undefined;
  const local = await run(['rev-parse', '--verify', '--quiet', '--end-of-options', `refs/heads/${branch}^{commit}`]);
  if (!local || local === deployed) return undefined;
  // the tip is in the deployed commit's history: the branch is behind, nothing is left out
  if ((await run(['merge-base', local, deployed])) === local) return undefined;
  const tracking = await run(['branch', '--remotes', '--contains', local]);
  return tracking ? undefined : local;
}

/** simple-git loads on first use, not at startup. */
const git = async () => (await import('simple-git')).simpleGit;
