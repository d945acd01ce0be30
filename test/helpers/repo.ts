import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=ship tests', '-c', 'user.email=tests@ship.invalid', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

export interface FixtureRepo {
  dir: string;
  /** Writes files, commits them, returns the new full sha. */
  commit(files: Record<string, string>, message?: string): string;
  head(): string;
  /** Removes files, commits, returns the new full sha. */
  remove(...files: string[]): string;
}

/** A throwaway git repository holding the example app (readable by every user, for sshd hosts). */
export function fixtureRepo(opts: { withApp?: boolean } = {}): FixtureRepo {
  const dir = mkdtempSync(join(tmpdir(), 'ship-repo-'));
  chmodSync(dir, 0o755);
  git(dir, 'init', '-q', '-b', 'main');
  if (opts.withApp !== false) cpSync(join(ROOT, 'templates', 'example-app'), dir, { recursive: true });
  else writeFileSync(join(dir, 'README'), 'fixture\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'first');
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  return {
    dir,
    commit(files, message = 'change') {
      for (const [name, content] of Object.entries(files)) {
        mkdirSync(dirname(join(dir, name)), { recursive: true });
        writeFileSync(join(dir, name), content);
      }
      git(dir, 'add', '-A');
      git(dir, 'commit', '-q', '-m', message);
      execFileSync('chmod', ['-R', 'a+rX', dir]);
      return git(dir, 'rev-parse', 'HEAD');
    },
    head: () => git(dir, 'rev-parse', 'HEAD'),
    remove(...files) {
      git(dir, 'rm', '-q', '--', ...files);
      git(dir, 'commit', '-q', '-m', `remove ${files.join(' ')}`);
      return git(dir, 'rev-parse', 'HEAD');
    },
  };
}

export interface Checkout {
  /** A bare repository standing for the remote. */
  remote: string;
  /** A clone of it, with a first commit pushed. */
  dir: string;
  /** git in the clone; returns its output, trimmed. */
  git(...args: string[]): string;
  /** Writes files and commits them (not pushed); returns the new full sha. */
  commit(files: Record<string, string>, message?: string): string;
}

/** A bare "remote" and a checkout of it under `parent`, holding `files` as a pushed first commit. */
export function pushedCheckout(parent: string, files: Record<string, string>): Checkout {
  const remote = join(parent, 'remote.git');
  const dir = join(parent, 'checkout');
  git(parent, 'init', '-q', '--bare', '-b', 'main', remote);
  git(parent, 'clone', '-q', remote, dir);
  const commit = (more: Record<string, string>, message = 'change') => {
    for (const [name, content] of Object.entries(more)) writeFileSync(join(dir, name), content);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', message);
    return git(dir, 'rev-parse', 'HEAD');
  };
  commit(files, 'first');
  git(dir, 'push', '-q', 'origin', 'main');
  return { remote, dir, git: (...args) => git(dir, ...args), commit };
}
