import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unpushedTip } from '../../src/git/git.js';
import { type Checkout, pushedCheckout } from '../helpers/repo.js';

describe('unpushedTip: the local tip of a branch the remote does not have', () => {
  let dir: string;
  let repo: Checkout;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ship-unpushed-'));
    repo = pushedCheckout(dir, { file: 'first' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is nothing when the remote has the local tip', async () => {
    const pushed = repo.git('rev-parse', 'HEAD');
    expect(await unpushedTip(repo.dir, 'main', pushed)).toBeUndefined();
  });

  it('is the local sha when the branch has commits that are not pushed', async () => {
    const deployed = repo.git('rev-parse', 'HEAD');
    const local = repo.commit({ file: 'not pushed' });
    expect(await unpushedTip(repo.dir, 'main', deployed)).toBe(local);
    repo.git('push', '-q', 'origin', 'main');
  });

  it('is nothing when the local branch is only behind the remote', async () => {
    const behind = repo.git('rev-parse', 'HEAD');
    const ahead = repo.commit({ file: 'pushed later' });
    repo.git('push', '-q', 'origin', 'main');
    repo.git('reset', '-q', '--hard', behind);
    expect(await unpushedTip(repo.dir, 'main', ahead)).toBeUndefined();
  });

  it('is nothing outside a git checkout, or for a branch the checkout does not have', async () => {
    expect(await unpushedTip(dir, 'main', 'f'.repeat(40))).toBeUndefined();
    expect(await unpushedTip(repo.dir, 'no-such-branch', 'f'.repeat(40))).toBeUndefined();
  });
});
