/**
 * `ship unlock` on local hosts: a lock whose run may still be going is refused without
 * --force (exit 4, saying whose it is); a lock directory without owner.json is removed and
 * said so; only the lock that was looked at is removed.
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockedError } from '../../src/errors.js';
import { lockStage, unlockStage } from '../../src/ops/status.js';
import { RECENT_LOCK_MS, stillHeld } from '../../src/release/unlock.js';
import { fixtureRepo } from '../helpers/repo.js';
import { fakeClock, localStage, recordingEnv } from '../helpers/stage.js';

const owner = (o: Record<string, unknown>) =>
  `${JSON.stringify({ user: 'alice', machine: 'ci-box', pid: 777, started: '2026-11-22T02:10:00.000Z', command: 'deploy', token: 't0k', ...o })}\n`;

describe('ship unlock', () => {
  const setup = () => {
    const stage = localStage(fixtureRepo({ withApp: false }).dir, 2);
    const lockDir = (i: number) => join(stage.hosts[i]!.deployTo, '.ship', 'lock');
    const hold = (i: number, text?: string) => {
      mkdirSync(lockDir(i), { recursive: true });
      if (text !== undefined) writeFileSync(join(lockDir(i), 'owner.json'), text);
    };
    return { stage, lockDir, hold };
  };
  const env = (stage: ReturnType<typeof setup>['stage']) => recordingEnv(stage, { clock: fakeClock() }).env;

  it('refuses a lock whose process is alive on this machine, naming it; --force removes it', async () => {
    const { stage, lockDir, hold } = setup();
    hold(0, owner({}));
    const err = await unlockStage(stage, { alive: (pid) => pid === 777 }, env(stage)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as LockedError).exitCode).toBe(4);
    expect((err as LockedError).details).toEqual([
      'h1: held by alice on ci-box (pid 777, deploy) since 2026-11-22T02:10:00.000Z (5m ago); its run is still going (pid 777 is alive on this machine)',
    ]);
    expect(existsSync(lockDir(0))).toBe(true);
    const out = await unlockStage(stage, { alive: () => true, force: true }, env(stage));
    expect(out.map((o) => o.said)).toEqual([expect.stringMatching(/^unlocked \(was held by alice on ci-box \(pid 777/), 'was not locked']);
    expect(existsSync(lockDir(0))).toBe(false);
  });

  it('a run on this machine whose process is gone is unlocked however recent', async () => {
    const { stage, lockDir, hold } = setup();
    hold(1, owner({}));
    const out = await unlockStage(stage, { alive: () => false }, env(stage));
    expect(out[1]!.said).toMatch(/^unlocked \(was held by alice/);
    expect(existsSync(lockDir(1))).toBe(false);
  });

  it('a recent lock from another machine is refused; an old one is removed', async () => {
    const { stage, hold } = setup();
    hold(0, owner({ machine: 'laptop' }));
    await expect(unlockStage(stage, { alive: () => false }, env(stage))).rejects.toThrow(/may still be going/);
    hold(0, owner({ machine: 'laptop', started: '2026-11-22T01:00:00.000Z' }));
    const out = await unlockStage(stage, { alive: () => false }, env(stage));
    expect(out[0]!.said).toMatch(/^unlocked \(was held by alice on laptop/);
  });

  it('a lock directory without owner.json is reported as removed, not "was not locked"', async () => {
    const { stage, lockDir, hold } = setup();
    hold(0);
    hold(1, 'garbage');
    const out = await unlockStage(stage, { alive: () => true }, env(stage));
    expect(out.map((o) => o.said)).toEqual([
      'removed a lock without owner.json (a run stopped while taking the lock)',
      'removed a lock whose owner.json is unreadable',
    ]);
    expect(existsSync(lockDir(0)) || existsSync(lockDir(1))).toBe(false);
  });

  it('a ship lock window is unlocked at once', async () => {
    const { stage } = setup();
    await lockStage(stage, { reason: 'maintenance' }, env(stage));
    const out = await unlockStage(stage, { alive: () => true }, env(stage));
    expect(out.map((o) => o.said)).toEqual([expect.stringMatching(/^unlocked \(was held by tester on ci-box .*: maintenance\)$/), expect.any(String)]);
  });

  it('stillHeld: the rule on its own', () => {
    const here = { machine: 'ci-box', now: new Date('2026-11-22T02:15:00Z'), alive: (pid: number) => pid === 1 };
    const started = (msAgo: number) => new Date(here.now.getTime() - msAgo).toISOString();
    expect(stillHeld(undefined, here)).toBeUndefined();
    expect(stillHeld({ user: 'a', machine: 'ci-box', pid: 1, command: 'deploy' }, here)).toMatch(/alive/);
    expect(stillHeld({ user: 'a', machine: 'ci-box', pid: 1, command: 'lock' }, here)).toBeUndefined();
    expect(stillHeld({ user: 'a', machine: 'x', pid: 1, command: 'deploy', started: started(RECENT_LOCK_MS - 1000) }, here)).toMatch(/on x 14m ago/);
    expect(stillHeld({ user: 'a', machine: 'x', pid: 1, command: 'deploy', started: started(RECENT_LOCK_MS) }, here)).toBeUndefined();
    expect(stillHeld({ user: 'a', machine: 'x', command: 'deploy' }, here)).toBeUndefined();
  });
});
