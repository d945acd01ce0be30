import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpushedTip } from '../../src/git/git.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@ship.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' }).trim();

/** A bare "remote", a checkout of it, and a commit made in the checkout. */
describe('unpushedTip: the local tip of a branch the remote does not have', () => {
  let dir: string;
  let remote: string;
  let checkout: string;
  const commit = (message: string) => {
    writeFileSync(join(checkout, 'file'), message);
    git(checkout, 'commit', '-q', '-am', message);
    return git(checkout, 'rev-parse', 'HEAD');
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ship-unpushed-'));
    remote = join(dir, 'remote.git');
    checkout = join(dir, 'checkout');
    git(dir, 'init', '-q', '--bare', '-b', 'main', remote);
    git(dir, 'clone', '-q', remote, checkout);
    writeFileSync(join(checkout, 'file'), 'first');
    git(checkout, 'add', '-A');
    git(checkout, 'commit', '-q', '-m', 'first');
    git(checkout, 'push', '-q', 'origin', 'main');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is nothing when the remote has the local tip', async () => {
    const pushed = git(checkout, 'rev-parse', 'HEAD');
    expect(await unpushedTip(checkout, 'main', pushed)).toBeUndefined();
  });

  it('is the local sha when the branch has commits that are not pushed', async () => {
    const deployed = git(checkout, 'rev-parse', 'HEAD');
    const local = commit('not pushed');
    expect(await unpushedTip(checkout, 'main', deployed)).toBe(local);
    git(checkout, 'push', '-q', 'origin', 'main');
  });

  it('is nothing when the local branch is only behind the remote', async () => {
    const behind = git(checkout, 'rev-parse', 'HEAD');
    const ahead = commit('pushed later');
    git(checkout, 'push', '-q', 'origin', 'main');
    git(checkout, 'reset', '-q', '--hard', behind);
    expect(await unpushedTip(checkout, 'main', ahead)).toBeUndefined();
  });

  it('is nothing outside a git checkout, or for a branch the checkout does not have', async () => {
    expect(await unpushedTip(dir, 'main', 'f'.repeat(40))).toBeUndefined();
    expect(await unpushedTip(checkout, 'no-such-branch', 'f'.repeat(40))).toBeUndefined();
  });
});
