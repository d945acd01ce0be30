/**
 * Locks, paths and modes on real sshd hosts: a live lock is not unlocked without --force; a
 * .ship/ the deploy user cannot write is an error naming the cause, not "locked"; migrate
 * written as a plain string runs on one host; a committed symlink at a shared path's parent
 * removes nothing outside the release; a restrictive login umask changes no release mode and
 * secrets are private; a deploy_to with a space gets a logrotate rule that rotates only its logs.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SHIP_BIN } from '../helpers/cli.js';
import { fleetStage, hostView, type FleetStage } from '../helpers/fleet-stage.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { skipWithout } from '../helpers/requirements.js';

const SECRET = `s3cret-${process.pid}`;

describe.skipIf(skipWithout('isolation'))('locks, paths and input on real hosts', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;
  let stage: FleetStage;
  const { at, current, releases, locked } = hostView(() => fleet);
  const mode = (i: number, p: string) => (statSync(at(i, p)).mode & 0o777).toString(8);

  beforeAll(async () => {
    fleet = await startFleet({ count: 2, firstAddress: 91 });
    repo = fixtureRepo({ withApp: false });
    work = mkdtempSync(join(tmpdir(), 'ship-input-hosts-'));
    stage = fleetStage(fleet, repo.dir, work, SECRET);
  });
  afterAll(async () => {
    // setup added logrotate lines to the login user's crontab: take ours back out
    if (fleet) {
      try {
        const lines = execFileSync('crontab', ['-u', fleet.user, '-l'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
        const kept = lines.filter((l) => l && !l.includes('/.ship/logrotate.conf'));
        execFileSync('crontab', ['-u', fleet.user, '-'], { input: kept.length ? `${kept.join('\n')}\n` : '' });
      } catch {
        // no crontab: setup wrote none
      }
    }
    await fleet?.stop();
  });
  beforeEach(async () => {
    // as root: a test may leave root-owned or read-only things behind
    for (const h of fleet.hosts) {
      await fleet.exec(
        h.index,
        `umount -l ${h.deployTo}/.ship 2>/dev/null; rm -rf ${h.deployTo}/* ${h.deployTo}/.ship /srv/outside "/srv/my app" /srv/my; true`,
      );
    }
  });

  it('unlock refuses a lock whose deploy is running here, naming it; --force removes a live holder; a lock without owner.json is removed and said so', async () => {
    stage.write({ body: 'tasks:\n  build: sleep 5' });
    const child = spawn(process.execPath, [SHIP_BIN, '--config', stage.config, 'deploy', 'test', '--json'], {
      cwd: work,
      env: { PATH: process.env.PATH, CI: 'true', ...stage.env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    let out = '';
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (/"event":"task:start"[^\n]*"task":"build"/.test(out)) resolve();
      }),
    );
    const refused = await stage.ship('unlock', 'test');
    expect(refused.code, refused.stderr).toBe(4);
    expect(refused.stderr).toContain(`(pid ${child.pid}, deploy)`);
    expect(refused.stderr).toContain(`its run is still going (pid ${child.pid} is alive on this machine)`);
    expect(refused.stderr).toContain('ship unlock test --force');
    expect(locked(0) && locked(1)).toBe(true);
    expect(await done).toBe(0);
    expect(locked(0) || locked(1)).toBe(false);

    // a holder alive on this machine (this test process), written as a run would
    const owner = { user: 'alice', machine: hostname(), pid: process.pid, started: new Date().toISOString(), command: 'deploy', token: 'x' };
    for (const h of fleet.hosts)
      await fleet.ssh(h.index, `mkdir -p ${h.deployTo}/.ship/lock && printf '%s\\n' '${JSON.stringify(owner)}' > ${h.deployTo}/.ship/lock/owner.json`);
    expect((await stage.ship('unlock', 'test')).code).toBe(4);
    const forced = await stage.ship('unlock', 'test', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('unlocked (was held by alice');
    expect(locked(0) || locked(1)).toBe(false);

    await fleet.ssh(0, `mkdir -p ${fleet.hosts[0]!.deployTo}/.ship/lock`);
    const orphan = await stage.ship('unlock', 'test');
    expect(orphan.code).toBe(0);
    expect(orphan.stdout).toContain(`${fleet.hosts[0]!.address}: removed a lock without owner.json`);
    expect(orphan.stdout).toContain(`${fleet.hosts[1]!.address}: was not locked`);
    expect(locked(0)).toBe(false);
  });

  it('a .ship/ owned by root is an error naming the cause (exit 1), not "locked"; unlock and check say what they found', async () => {
    stage.write();
    const ship = at(0, '.ship');
    mkdirSync(ship, { recursive: true });
    chownSync(ship, 0, 0);
    const r = await stage.ship('deploy', 'test');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(
      `${fleet.hosts[0]!.address}: ship cannot write under ${fleet.hosts[0]!.deployTo} as ${fleet.user}: mkdir: cannot create directory`,
    );
    expect(r.stderr).toContain('Permission denied');
    expect(r.stderr).not.toMatch(/locked|unknown owner/);
    const un = await stage.ship('unlock', 'test');
    expect(un.stdout).toContain(`${fleet.hosts[0]!.address}: was not locked (note: .ship/ is not writable by ${fleet.user}`);
    mkdirSync(at(1, 'releases'), { recursive: true });
    chownSync(at(1, 'releases'), 0, 0);
    const check = await stage.ship('check', 'test');
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`${fleet.hosts[0]!.deployTo}/.ship not writable by ${fleet.user}`);
    expect(check.stdout).toContain(`${fleet.hosts[0]!.deployTo}/releases not writable by ${fleet.user}`);
  });

  it('a full or read-only disk under .ship/ is an error naming it (exit 1), not "locked"', async () => {
    stage.write();
    const dir = `${fleet.hosts[0]!.deployTo}/.ship`;
    const cannot = `${fleet.hosts[0]!.address}: ship cannot write under ${fleet.hosts[0]!.deployTo} as ${fleet.user}: `;
    await fleet.exec(
      0,
      `mkdir -p ${dir} && mount -t tmpfs -o size=16k tmpfs ${dir} && chown ${fleet.uid}:${fleet.gid} ${dir} && (head -c 1M /dev/zero > ${dir}/fill || true)`,
    );
    const full = await stage.ship('deploy', 'test');
    expect(full.code, full.stderr).toBe(1);
    expect(full.stderr).toMatch(new RegExp(`${cannot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*(No space left on device|is the disk full)`));
    expect(full.stderr).not.toMatch(/locked|unknown owner/);
    await fleet.exec(0, `rm -f ${dir}/fill && mount -o remount,ro ${dir}`);
    const readOnly = await stage.ship('deploy', 'test');
    expect(readOnly.code, readOnly.stderr).toBe(1);
    expect(readOnly.stderr).toContain(`${cannot}mkdir: cannot create directory '${dir}/lock': Read-only file system`);
    expect(readOnly.stderr).not.toMatch(/locked|unknown owner/);
  });

  it('migrate written as a plain string runs on exactly one host, the primary', async () => {
    stage.write({ body: 'tasks:\n  migrate: touch {{deploy_to}}/migrated-here' });
    const r = await stage.ship('deploy', 'test');
    expect(r.code, r.stderr).toBe(0);
    expect([0, 1].filter((i) => existsSync(at(i, 'migrated-here')))).toEqual([1]);
  });

  it('a shared dir named "..cache" is an ordinary name: the deploy links it inside the release', async () => {
    stage.write({ body: 'shared:\n  dirs: ["..cache", "tmp/..b"]' });
    const r = await stage.ship('deploy', 'test', '--json');
    expect(r.code, r.stderr).toBe(0);
    const id = r.events().at(-1)!.release as string;
    for (const i of [0, 1]) {
      const h = fleet.hosts[i]!;
      expect((await fleet.ssh(i, `readlink ${h.deployTo}/releases/${id}/..cache ${h.deployTo}/releases/${id}/tmp/..b`)).stdout).toBe(
        `${h.deployTo}/shared/..cache\n${h.deployTo}/shared/tmp/..b\n`,
      );
      expect(statSync(at(i, 'shared/..cache')).isDirectory()).toBe(true);
    }
  });

  it('a committed symlink at a shared path parent is refused (exit 1) and nothing outside the release is removed', async () => {
    symlinkSync('/srv/outside', join(repo.dir, 'log'));
    execFileSync('git', ['add', 'log'], { cwd: repo.dir });
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t.invalid', 'commit', '-qm', 'log link'], { cwd: repo.dir });
    try {
      for (const h of fleet.hosts) await fleet.ssh(h.index, 'mkdir -p /srv/outside/app && echo precious > /srv/outside/app/keep.txt');
      stage.write({ body: 'shared:\n  dirs: [log/app]' });
      const r = await stage.ship('deploy', 'test');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain(`${fleet.hosts[0]!.deployTo}/releases/`);
      expect(r.stderr).toContain('/log is a symlink in the repository');
      for (const i of [0, 1]) {
        expect((await fleet.ssh(i, 'cat /srv/outside/app/keep.txt')).stdout).toBe('precious\n');
        expect(releases(i)).toEqual([]);
        expect(current(i)).toBeUndefined();
      }
    } finally {
      repo.remove('log');
    }
  });

  it('under a 027 login umask, upload and remote give the same release modes; shared files, backups and the lock owner are private', async () => {
    const keys = join(fleet.dir, 'authorized_keys'); // the fleet's AuthorizedKeysFile, for every host
    const original = readFileSync(keys, 'utf8');
    // a login that sets umask 027 before the session's command runs (as pam_umask or a profile would)
    writeFileSync(keys, original.replace(/^(ssh-)/m, `command="umask 027; eval \\"$SSH_ORIGINAL_COMMAND\\"" $1`));
    try {
      expect((await fleet.ssh(0, 'umask')).stdout.trim()).toBe('0027');
      const modes = async (strategy: string) => {
        stage.write({
          body: `strategy: ${strategy}\nshared:\n  dirs: [log]\n  files: [.env]\ntasks:\n  backup: echo data > {{backup_path}}/db-{{release}}.sql\n  migrate: "true"`,
          hosts: [`{ host: ${fleet.hosts[0]!.address}, roles: [db] }`],
        });
        const setup = await stage.ship('setup', 'test');
        expect(setup.code, setup.stderr).toBe(0);
        const r = await stage.ship('deploy', 'test', '--json');
        expect(r.code, r.stderr).toBe(0);
        const id = r.events().at(-1)!.release as string;
        return {
          dir: mode(0, `releases/${id}`),
          file: mode(0, `releases/${id}/README`),
          backup: mode(0, `shared/backups/db-${id}.sql`),
          appEnv: mode(0, `releases/${id}/.ship-env`),
        };
      };
      const remote = await modes('remote');
      const upload = await modes('upload');
      expect(upload).toEqual(remote);
      expect(upload).toEqual({ dir: '755', file: '644', backup: '600', appEnv: '600' });
      expect(mode(0, 'shared/.env')).toBe('600');
      expect(mode(0, 'shared/backups')).toBe('700');
      expect(mode(0, 'releases')).toBe('755');
      expect((await stage.ship('lock', 'test', '--reason', 'modes')).code).toBe(0);
      expect(mode(0, '.ship/lock')).toBe('700');
      expect(mode(0, '.ship/lock/owner.json')).toBe('600');
    } finally {
      writeFileSync(keys, original);
    }
  });

  it('a deploy_to with a space gets a logrotate rule that rotates its logs and nothing else (real logrotate)', async () => {
    stage.write({ body: 'shared:\n  dirs: [log]', hosts: [`{ host: ${fleet.hosts[0]!.address}, roles: [web], deploy_to: "/srv/my app" }`] });
    const r = await stage.ship('setup', 'test');
    expect(r.code, r.stderr).toBe(0);
    const rule = '"/srv/my app/.ship/logrotate.conf"';
    expect((await fleet.ssh(0, `head -c 4000 ${rule}`)).stdout).toContain('"/srv/my app/shared/log/*.log" {');
    // an unrelated file named by the first half of the path, and a log to rotate
    await fleet.ssh(0, `echo unrelated > /srv/my && echo line > "/srv/my app/shared/log/app.log"`);
    const rotate = await fleet.ssh(0, `/usr/sbin/logrotate -f -s "/srv/my app/.ship/logrotate.state" ${rule}`);
    expect(rotate.code, rotate.stderr).toBe(0);
    expect((await fleet.ssh(0, 'cat /srv/my')).stdout).toBe('unrelated\n');
    expect((await fleet.ssh(0, 'ls "/srv/my app/shared/log"')).stdout.split('\n').filter(Boolean).sort()).toEqual(['app.log', 'app.log.1']);
    expect((await fleet.ssh(0, 'wc -c < "/srv/my app/shared/log/app.log"')).stdout.trim()).toBe('0');
  });
});
