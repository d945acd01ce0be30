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
