import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planFleetRollback, planPrune, previousGoodRelease, type HostState, type ReleaseInfo } from '../../src/release/choose.js';
import { formatReleaseId, isReleaseId, nextReleaseId, parseReleaseId, releaseIdProblem } from '../../src/release/id.js';
import { inspectHost, parseInspection } from '../../src/release/inspect.js';
import { acquireLock, describeLock, formatAge, LOCK_HELD, parseLockOwner, readLock, releaseLock, type LockOwner } from '../../src/release/lock.js';
import { serverPaths } from '../../src/release/paths.js';
import { guardFreshId, ID_TAKEN, linkShared, removeClaimed, removeReleaseUnlessCurrent } from '../../src/release/prepare.js';
import { CURRENT_IS_DIRECTORY, swapCurrent } from '../../src/release/swap.js';
import { render } from '../../src/shell/render.js';

const rel = (id: string, failed = false): ReleaseInfo => ({ id, failed });
const NOW = new Date('2026-11-22T02:15:00Z');

/**
 * Runs a script with PATH through logging shims, returning which programs it started: every
 * program is a fork and an exec on every host of every deploy, so the hot scripts are held
 * to a count, not to a timing.
 */
const PROGRAMS = ['readlink', 'head', 'tr', 'mkdir', 'rm', 'ln', 'mv', 'grep', 'cat', 'printf', 'test', '['];
function programsRun(script: string): { code: number; programs: string[]; out: string } {
  const bin = mkdtempSync(join(tmpdir(), 'ship-shims-'));
  const log = join(bin, 'log');
  writeFileSync(log, '');
  for (const name of PROGRAMS) {
    const real = execFileSync('sh', ['-c', `command -v ${name === '[' ? 'test' : name}`], { encoding: 'utf8' }).trim();
    const file = join(bin, name);
    writeFileSync(file, `#!/bin/sh\necho ${JSON.stringify(name)} >> ${log}\nexec ${real} "$@"\n`);
    chmodSync(file, 0o755);
  }
  let code = 0;
  let out = '';
  try {
    out = execFileSync('sh', ['-c', script], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    code = (e as { status: number }).status;
  }
  return { code, out, programs: readFileSync(log, 'utf8').split('\n').filter(Boolean) };
}
const sh = (script: string) => {
  try {
    return { code: 0, out: execFileSync('sh', ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const x = e as { status: number; stdout: string; stderr: string };
    return { code: x.status, out: x.stdout + x.stderr };
  }
};

describe('release ids', () => {
  it('formats UTC to the second', () => {
    expect(formatReleaseId(new Date('2026-11-22T02:15:09.999Z'))).toBe('20261122021509');
    expect(parseReleaseId('20261122021509').toISOString()).toBe('2026-11-22T02:15:09.000Z');
    expect(isReleaseId('20261122021509')).toBe(true);
    expect(isReleaseId('2026112202150')).toBe(false);
    expect(isReleaseId('../../etc/passwd')).toBe(false);
  });
  it('uses now when it is free and newer than everything', () => {
    expect(nextReleaseId(new Date('2026-11-22T02:15:00Z'), ['20261122021459'])).toBe('20261122021500');
  });
  it('bumps to the next free second on collision', () => {
    expect(nextReleaseId(new Date('2026-11-22T02:15:00Z'), ['20261122021500'])).toBe('20261122021501');
  });
  it('stays increasing when a host holds a newer id (clock skew), across a minute boundary', () => {
    expect(nextReleaseId(new Date('2026-11-22T02:15:00Z'), ['20261122021559', 'junk'])).toBe('20261122021600');
    expect(nextReleaseId(new Date('2026-12-31T23:59:59Z'), ['20261231235959'])).toBe('20270101000000');
  });
  it('ignores ids that are no real date or more than a day ahead: never a 15-digit id', () => {
    const now = new Date('2026-11-22T02:15:00Z');
    expect(nextReleaseId(now, ['99991231235959'])).toBe('20261122021500');
    expect(nextReleaseId(now, ['20261399000000', '20260231000000', '20261122026199'])).toBe('20261122021500');
    // less than a day ahead (clock skew between machines) still counts
    expect(nextReleaseId(now, ['20261123010000'])).toBe('20261123010001');
    expect(nextReleaseId(now, ['20261123021501'])).toBe('20261122021500');
  });
  it('says why an id is ignored', () => {
    const now = new Date('2026-11-22T02:15:00Z');
    expect(releaseIdProblem('20261122021500', now)).toBeUndefined();
    expect(releaseIdProblem('99991231235959', now)).toBe("more than a day ahead of this machine's clock");
    expect(releaseIdProblem('20261301000000', now)).toBe('not a real date and time');
    expect(releaseIdProblem('2026112202150', now)).toMatch(/not a release id/);
  });
});

describe('paths', () => {
  it('derives every path from deploy_to, trailing slashes folded', () => {
    const p = serverPaths('/srv/app/');
    expect([p.root, p.current, p.releases, p.shared, p.repo, p.lock, p.history, p.release('1')]).toEqual([
      '/srv/app',
      '/srv/app/current',
      '/srv/app/releases',
      '/srv/app/shared',
      '/srv/app/repo',
      '/srv/app/.ship/lock',
      '/srv/app/.ship/history.jsonl',
      '/srv/app/releases/1',
    ]);
  });
});

describe('swap', () => {
  it('is a scratch link renamed over current, never rm + ln', () => {
    expect(render(swapCurrent(serverPaths('/srv/app'), '20261122021500'))).toBe(
      "if [ -e /srv/app/current ] && ! [ -L /srv/app/current ]; then printf '%s\\n' '/srv/app/current is a real directory, not a symlink: move it away by hand; ship will not delete it' >&2; exit 90; fi; " +
        '{ [ -d /srv/app/.ship/next ] || mkdir -p -- /srv/app/.ship/next; } && if [ -e /srv/app/.ship/next/current ] || [ -L /srv/app/.ship/next/current ]; then rm -f -- /srv/app/.ship/next/current; fi && ' +
        'ln -s -- /srv/app/releases/20261122021500 /srv/app/.ship/next/current && mv -f -- /srv/app/.ship/next/current /srv/app/',
    );
  });
  it('moves current from one release to another on a real filesystem', () => {
    const root = mkdtempSync(join(tmpdir(), 'ship-swap-'));
    mkdirSync(join(root, 'releases', '1'), { recursive: true });
    mkdirSync(join(root, 'releases', '2'), { recursive: true });
    const p = serverPaths(root);
    expect(sh(render(swapCurrent(p, '1'))).code).toBe(0);
    expect(readlinkSync(p.current)).toBe(join(root, 'releases', '1'));
    expect(sh(render(swapCurrent(p, '2'))).code).toBe(0);
    expect(readlinkSync(p.current)).toBe(join(root, 'releases', '2'));
    expect(existsSync(join(root, 'releases', '2', 'current'))).toBe(false); // did not land inside the target
  });
  it('runs two programs (ln, mv) once its scratch dir exists, and replaces a stale scratch link', () => {
    const root = mkdtempSync(join(tmpdir(), 'ship-swap-'));
    mkdirSync(join(root, 'releases', '1'), { recursive: true });
    mkdirSync(join(root, 'releases', '2'), { recursive: true });
    const p = serverPaths(root);
    expect(programsRun(render(swapCurrent(p, '1'))).programs).toEqual(['mkdir', 'ln', 'mv']);
    expect(programsRun(render(swapCurrent(p, '2'))).programs).toEqual(['ln', 'mv']);
    symlinkSync(p.release('1'), join(p.next, 'current')); // left by a run killed between ln and mv
    const r = programsRun(render(swapCurrent(p, '2')));
    expect(r).toMatchObject({ code: 0, programs: ['rm', 'ln', 'mv'] });
    expect(readlinkSync(p.current)).toBe(p.release('2'));
  });
  it('refuses a real directory named current and leaves it alone', () => {
    const root = mkdtempSync(join(tmpdir(), 'ship-swap-'));
    mkdirSync(join(root, 'releases', '1'), { recursive: true });
    mkdirSync(join(root, 'current'));
    const r = sh(render(swapCurrent(serverPaths(root), '1')));
    expect(r.code).toBe(CURRENT_IS_DIRECTORY);
    expect(r.out).toMatch(/real directory/);
    expect(lstatSync(join(root, 'current')).isDirectory()).toBe(true);
  });
});

describe('previousGoodRelease', () => {
  const rs = [rel('1'), rel('2', true), rel('3'), rel('4')];
  it('is the newest older release that did not fail', () => {
    expect(previousGoodRelease(rs, '4')).toBe('3');
    expect(previousGoodRelease(rs, '3')).toBe('1');
    expect(previousGoodRelease(rs, '1')).toBeUndefined();
    expect(previousGoodRelease(rs, undefined)).toBeUndefined();
  });
  it('skips half-made releases', () => {
    expect(previousGoodRelease([rel('1'), { id: '2', failed: false, preparing: true }, rel('3')], '3')).toBe('1');
  });
});

describe('planPrune', () => {
  const ids = ['1', '2', '3', '4', '5', '6', '7'].map((i) => rel(i));
  it('keeps the newest N', () => {
    expect(planPrune(ids, { keep: 3, current: '7' })).toEqual({ keep: ['7', '6', '5'], remove: ['4', '3', '2', '1'] });
  });
  it('never removes current, even when old (after a rollback)', () => {
    const p = planPrune(ids, { keep: 2, current: '3' });
    expect(p.keep).toContain('3');
    expect(p.keep).toContain('2'); // the rollback target of current 3
    expect(p.remove).toEqual(['5', '4', '1']);
  });
  it('never removes the release a rollback would go to, skipping failed ones', () => {
    const rs = [rel('1'), rel('2'), rel('3', true), rel('4', true), rel('5')];
    const p = planPrune(rs, { keep: 2, current: '5' });
    expect(p.keep).toEqual(['5', '4', '2']);
    expect(p.remove).toEqual(['3', '1']);
  });
  it('removes half-made releases of dead runs', () => {
    const rs = [rel('1'), rel('2'), { id: '3', failed: false, preparing: true }];
    expect(planPrune(rs, { keep: 5, current: '2' }).remove).toEqual(['3']);
  });
  it('keeps at least one even with keep 0', () => {
    expect(planPrune([rel('1'), rel('2')], { keep: 0, current: '2' }).keep).toEqual(['2', '1']);
  });
});

describe('planFleetRollback', () => {
  const host = (name: string, current: string | undefined, releases: ReleaseInfo[]): HostState => ({ host: name, current, releases });
  it('moves every host to the same previous good release', () => {
    const plan = planFleetRollback([host('a', '3', [rel('1'), rel('2'), rel('3')]), host('b', '3', [rel('1'), rel('2'), rel('3')])]);
    expect(plan).toEqual({ ok: true, target: '2', from: { a: '3', b: '3' }, differing: [], warnings: [] });
  });
  it('skips a release that failed on any host', () => {
    const plan = planFleetRollback([host('a', '3', [rel('1'), rel('2', true), rel('3')]), host('b', '3', [rel('1'), rel('2'), rel('3')])]);
    expect(plan.ok && plan.target).toBe('1');
  });
  it('refuses, naming the hosts, when a host lacks the target', () => {
    const plan = planFleetRollback([host('a', '3', [rel('2'), rel('3')]), host('b', '3', [rel('3')])]);
    expect(plan).toEqual({ ok: false, reason: 'release 2 is missing on 1 of 2 host(s); nothing was changed', details: ['b: has 3'] });
  });
  it('reports hosts that differ and still converges them', () => {
    const plan = planFleetRollback([
      host('a', '3', [rel('1'), rel('2'), rel('3')]),
      host('b', '2', [rel('1'), rel('2'), rel('3')]),
      host('c', '3', [rel('1'), rel('2'), rel('3')]),
    ]);
    expect(plan.ok && plan.target).toBe('2');
    expect(plan.ok && plan.differing).toEqual(['b']);
  });
  it('honours --to, and warns when the target is marked failed', () => {
    const plan = planFleetRollback([host('a', '3', [rel('1'), rel('2', true), rel('3')])], '2');
    expect(plan.ok && plan.target).toBe('2');
    expect(plan.ok && plan.warnings[0]).toMatch(/marked failed/);
  });
  it('refuses when there is nothing older', () => {
    expect(planFleetRollback([host('a', '1', [rel('1')])])).toMatchObject({ ok: false, reason: 'no good release older than 1 to roll back to' });
    expect(planFleetRollback([host('a', undefined, [])])).toMatchObject({ ok: false });
  });
});

describe('inspection', () => {
  it('reads current, releases, failed/preparing/migrated markers and revisions from a real tree', () => {
    const root = mkdtempSync(join(tmpdir(), 'ship-inspect-'));
    const p = serverPaths(root);
    for (const id of ['20260101000000', '20260102000000', '20260103000000']) mkdirSync(p.release(id), { recursive: true });
    execFileSync('sh', [
      '-c',
      `echo ${'a'.repeat(40)} > ${p.release('20260101000000')}/REVISION; touch ${p.release('20260102000000')}/.ship-failed ${p.release('20260103000000')}/.ship-preparing ${p.release('20260101000000')}/.ship-migrated`,
    ]);
    mkdirSync(join(p.releases, 'not-a-release'));
    mkdirSync(p.release('99991231235959'));
    symlinkSync(p.release('20260101000000'), p.current);
    const out = execFileSync('sh', ['-c', render(inspectHost(p))], { encoding: 'utf8' });
    const s = parseInspection('h', p, out, NOW);
    expect(s.ignored).toEqual([{ id: '99991231235959', why: "more than a day ahead of this machine's clock" }]);
    expect(s.current).toBe('20260101000000');
    expect(s.releases).toEqual([
      { id: '20260101000000', failed: false, preparing: false, revision: 'a'.repeat(40) },
      { id: '20260102000000', failed: true, preparing: false },
      { id: '20260103000000', failed: false, preparing: true },
    ]);
    expect([...s.migrated]).toEqual(['20260101000000']);
  });
  it('costs one program (readlink) however many releases, and reads an odd REVISION as none', () => {
    const root = mkdtempSync(join(tmpdir(), 'ship-inspect-'));
    const p = serverPaths(root);
    const ids = ['20260101000000', '20260102000000', '20260103000000', '20260104000000', '20260105000000'];
    for (const id of ids) mkdirSync(p.release(id), { recursive: true });
    writeFileSync(`${p.release(ids[0]!)}/REVISION`, `${'b'.repeat(40)}\n`);
    writeFileSync(`${p.release(ids[1]!)}/REVISION`, 'c'.repeat(64)); // no newline (sha-256)
    writeFileSync(`${p.release(ids[2]!)}/REVISION`, 'not a sha; $(rm -rf /)\n');
    symlinkSync(p.release(ids[4]!), p.current);
    const r = programsRun(render(inspectHost(p)));
    expect(r.programs).toEqual(['readlink']);
    const s = parseInspection('h', p, r.out, NOW);
    expect(s.current).toBe(ids[4]);
    expect(s.releases.map((x) => x.revision)).toEqual(['b'.repeat(40), 'c'.repeat(64), undefined, undefined, undefined]);
  });
  it('handles a host with nothing deployed yet', () => {
    const p = serverPaths('/nonexistent/ship');
    const out = execFileSync('sh', ['-c', render(inspectHost(p))], { encoding: 'utf8' });
    expect(parseInspection('h', p, out, NOW)).toMatchObject({ current: undefined, releases: [] });
  });
});

describe('locks', () => {
  const owner = (token: string): LockOwner => ({
    user: 'alice',
    machine: 'laptop',
    pid: 42,
    started: '2026-11-22T02:00:00.000Z',
    command: 'deploy',
    token,
    reason: "hotfix: it's urgent",
  });
  it('lets exactly one run take the lock; the other sees the owner and exits LOCK_HELD', () => {
    const p = serverPaths(mkdtempSync(join(tmpdir(), 'ship-lock-')));
    expect(sh(render(acquireLock(p, owner('t1')))).code).toBe(0);
    const second = sh(render(acquireLock(p, owner('t2'))));
    expect(second.code).toBe(LOCK_HELD);
    const seen = parseLockOwner(second.out);
    expect(seen).toMatchObject({ user: 'alice', token: 't1', reason: "hotfix: it's urgent" });
    expect(describeLock(seen, new Date('2026-11-22T02:12:00Z'))).toBe(
      "held by alice on laptop (pid 42, deploy) since 2026-11-22T02:00:00.000Z (12m ago): hotfix: it's urgent",
    );
  });
  it('is released only by the token that took it', () => {
    const p = serverPaths(mkdtempSync(join(tmpdir(), 'ship-lock-')));
    sh(render(acquireLock(p, owner('mine'))));
    sh(render(releaseLock(p, 'someone-else')));
    expect(existsSync(p.lock)).toBe(true);
    sh(render(releaseLock(p, 'mine')));
    expect(existsSync(p.lock)).toBe(false);
  });
  it('takes the lock with one program (mkdir) once the dirs exist, and releases it with one (rm)', () => {
    const p = serverPaths(mkdtempSync(join(tmpdir(), 'ship-lock-')));
    expect(programsRun(render(acquireLock(p, owner('t1'))))).toMatchObject({ code: 0, programs: ['mkdir', 'mkdir'] });
    expect(programsRun(render(releaseLock(p, 't1'))).programs).toEqual(['rm']);
    expect(programsRun(render(acquireLock(p, owner('t2'))))).toMatchObject({ code: 0, programs: ['mkdir'] });
    expect(programsRun(render(releaseLock(p, 't1'))).programs).toEqual([]);
    expect(existsSync(p.lock)).toBe(true);
    writeFileSync(p.lockOwner, JSON.stringify(owner('t2'))); // no newline: written by hand or by an older tool
    sh(render(releaseLock(p, 't2')));
    expect(existsSync(p.lock)).toBe(false);
  });
  it('formats ages', () => {
    expect([formatAge(5_000), formatAge(125_000), formatAge(3 * 3600_000 + 60_000), formatAge(50 * 3600_000)]).toEqual(['5s', '2m', '3h1m', '2d2h']);
  });
});

describe('the guards that keep a run to its own releases', () => {
  const id = '20261122021500';
  it('are written as these scripts, every path one quoted word', () => {
    const p = serverPaths("/srv/it's app");
    const q = (path: string) => `'/srv/it'\\''s app/${path}'`;
    expect(render(guardFreshId(p, id))).toBe(
      `for __d in ${q('releases')}/*/; do __i=\${__d%/}; __i=\${__i##*/}; case $__i in ${'[0-9]'.repeat(14)}) __h=\${__i%???????}; __l=1\${__i#???????}; ` +
        `{ [ "$__h" -lt 2026112 ] || { [ "$__h" -eq 2026112 ] && [ "$__l" -lt 12021500 ]; }; } || exit ${ID_TAKEN};; esac; done; ` +
        `printf '%s\\n' ${id} > ${q('.ship/lock/claimed')}`,
    );
    const unlessCurrent = `if [ "$(readlink ${q('current')} 2>/dev/null)" != ${q(`releases/${id}`)} ]; then rm -rf -- ${q(`releases/${id}`)}; fi`;
    expect(render(removeReleaseUnlessCurrent(p, id))).toBe(unlessCurrent);
    expect(render(removeClaimed(p, id))).toBe(
      `__ship_c=; { IFS= read -r __ship_c < ${q('.ship/lock/claimed')}; } 2>/dev/null; if [ "$__ship_c" = ${id} ]; then ${unlessCurrent}; fi`,
    );
    expect(render(readLock(p))).toBe(`if [ -d ${q('.ship/lock')} ]; then cat -- ${q('.ship/lock/owner.json')} 2>/dev/null || printf '{}\\n'; fi`);
  });
  it('run on a real tree whose path holds shell syntax, and never run the path', () => {
    const base = mkdtempSync(join(tmpdir(), 'ship-guard-'));
    const p = serverPaths(join(base, `it's $(touch pwned) \`touch pwned\` "x"`));
    const run = (script: string) => {
      try {
        return { code: 0, out: execFileSync('sh', ['-c', script], { cwd: base, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
      } catch (e) {
        return { code: (e as { status: number }).status, out: '' };
      }
    };
    const owner: LockOwner = { user: 'alice', machine: 'laptop', pid: 42, started: '2026-11-22T02:00:00.000Z', command: 'deploy', token: 't1' };
    expect(run(render(acquireLock(p, owner))).code).toBe(0);
    expect(parseLockOwner(run(render(readLock(p))).out)).toMatchObject({ token: 't1' });
    mkdirSync(p.release('20261122021459'));
    expect(run(render(guardFreshId(p, id))).code).toBe(0);
    mkdirSync(p.release(id));
    // the claim is ours: our release goes, unless it is current
    symlinkSync(p.release(id), p.current);
    run(render(removeClaimed(p, id)));
    expect(existsSync(p.release(id))).toBe(true);
    rmSync(p.current);
    run(render(removeClaimed(p, id)));
    expect(existsSync(p.release(id))).toBe(false);
    // a later release on the host: the id is refused and nothing is claimed
    mkdirSync(p.release('20261122021501'));
    rmSync(join(p.lock, 'claimed'));
    expect(run(render(guardFreshId(p, id))).code).toBe(ID_TAKEN);
    expect(existsSync(join(p.lock, 'claimed'))).toBe(false);
    run(render(releaseLock(p, 't1')));
    expect(existsSync(p.lock)).toBe(false);
    expect(readdirSync(base)).toEqual([`it's $(touch pwned) \`touch pwned\` "x"`]);
  });
});

describe.skipIf(!existsSync('/bin/mksh') && !process.env.CI)('the fresh-id guard on a shell whose test has 32-bit integers (mksh)', () => {
  it('sees a later release across a 2^31 boundary of the 14-digit number', () => {
    const p = serverPaths(mkdtempSync(join(tmpdir(), 'ship-guard-')));
    mkdirSync(p.release('20270101001202'), { recursive: true });
    mkdirSync(p.lock, { recursive: true });
    const guard = (id: string) => spawnSync('mksh', ['-c', render(guardFreshId(p, id))]).status;
    expect(guard('20261130231202')).toBe(ID_TAKEN);
    expect(guard('20270101001202')).toBe(ID_TAKEN);
    expect(guard('20270101001203')).toBe(0);
    expect(guard('20280101000000')).toBe(0);
  });
});

describe('linkShared', () => {
  it('links dirs (creating them) and files into the release in one command', () => {
    const root = mkdtempSync(join(tmpdir(), 'ship-shared-'));
    const p = serverPaths(root);
    mkdirSync(join(p.release('1'), 'log'), { recursive: true }); // a dir in the repo is replaced by the link
    mkdirSync(p.shared, { recursive: true });
    execFileSync('sh', ['-c', `echo SECRET=1 > ${p.shared}/.env`]);
    const c = linkShared(p, '1', { dirs: ['log', 'storage/uploads'], files: ['.env'] })!;
    expect(sh(render(c)).code).toBe(0);
    expect(readlinkSync(join(p.release('1'), 'log'))).toBe(join(p.shared, 'log'));
    expect(readlinkSync(join(p.release('1'), 'storage/uploads'))).toBe(join(p.shared, 'storage/uploads'));
    expect(readlinkSync(join(p.release('1'), '.env'))).toBe(join(p.shared, '.env'));
  });
  it('costs one ln per directory links land in once shared/ is made, and replaces what the checkout put there', () => {
    const root = mkdtempSync(join(tmpdir(), 'ship-shared-'));
    const p = serverPaths(root);
    const shared = { dirs: ['log', 'tmp/pids', 'tmp/cache'], files: ['.env'] };
    mkdirSync(join(p.release('1'), 'tmp'), { recursive: true });
    mkdirSync(p.shared, { recursive: true });
    writeFileSync(join(p.shared, '.env'), 'A=1\n');
    expect(programsRun(render(linkShared(p, '1', shared)!)).programs).toEqual(['mkdir', 'ln', 'ln']);
    mkdirSync(join(p.release('2'), 'tmp'), { recursive: true });
    expect(programsRun(render(linkShared(p, '2', shared)!)).programs).toEqual(['ln', 'ln']);
    mkdirSync(join(p.release('3'), 'log'), { recursive: true }); // committed to the repo: replaced by the link
    mkdirSync(join(p.release('3'), 'tmp'), { recursive: true });
    expect(programsRun(render(linkShared(p, '3', shared)!))).toMatchObject({ code: 0, programs: ['rm', 'ln', 'ln'] });
    for (const x of ['log', 'tmp/pids', 'tmp/cache', '.env']) expect(readlinkSync(join(p.release('3'), x))).toBe(join(p.shared, x));
  });
  it('fails clearly when a shared file is missing', () => {
    const p = serverPaths(mkdtempSync(join(tmpdir(), 'ship-shared-')));
    mkdirSync(p.release('1'), { recursive: true });
    const r = sh(render(linkShared(p, '1', { dirs: [], files: ['.env'] })!));
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/shared file .*\.env does not exist/);
  });
  it('refuses paths that climb out of shared/', () => {
    expect(() => linkShared(serverPaths('/srv/a'), '1', { dirs: ['../etc'], files: [] })).toThrow(/must stay inside shared/);
  });
});
