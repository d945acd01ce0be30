/**
 * Proves the e2e fleet harness itself: real sshd hosts that the OpenSSH client reaches with
 * strict host key checking, each with its own /srv, that die for real and come back; and the
 * reaper that cleans up after a test process that died without stopping its fleet.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLEET_DIR_PREFIX, killTreeSync, reaperArgs, startFleet, TAG_VAR, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

describe.skipIf(skipWithout('fleet'))('e2e fleet harness', () => {
  let fleet: Fleet | undefined;
  const f = (): Fleet => {
    if (!fleet) throw new Error('fleet did not start');
    return fleet;
  };

  beforeAll(async () => {
    fleet = await startFleet({ count: 3 });
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('lets the fleet key in on every host, with strict host key checking', async () => {
    const results = await Promise.all(f().hosts.map((h) => f().ssh(h.index, 'id -un; echo "$PWD"')));
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.split('\n')[0]).toBe(f().user);
    }
    // The fingerprints the harness reports are the ones ssh-keygen computes.
    const keygen = spawnSync('ssh-keygen', ['-lf', f().knownHostsFile], { encoding: 'utf8' });
    const listed = keygen.stdout
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[1]);
    expect(listed).toEqual(f().hostKeyFingerprints);
    expect(new Set(f().hostKeyFingerprints).size).toBe(3);
  });

  it('refuses a host whose key is not in known_hosts (StrictHostKeyChecking really applies)', async () => {
    const args = f()
      .sshArgs(0)
      .map((a) => (a.startsWith('UserKnownHostsFile=') ? 'UserKnownHostsFile=/dev/null' : a));
    const r = spawnSync('ssh', [...args, 'true'], { encoding: 'utf8', env: { ...process.env, HOME: f().home } });
    expect(r.status).toBe(255);
    expect(r.stderr).toMatch(/Host key verification failed/);
  });

  it('gives every host its own deploy path, backed by a directory on this machine', async () => {
    const [h1, h2] = [f().hosts[0]!, f().hosts[1]!];
    const probe = `${h1.deployTo}/probe.txt`;
    const w = await f().ssh(0, `echo from-host1 > ${probe} && ls -ld ${h1.deployTo}`);
    expect(w.code, w.stderr).toBe(0);
    expect(w.stdout).toContain(f().user); // app/ belongs to the login user

    const onHost2 = await f().ssh(1, `test -e ${h2.deployTo}/probe.txt`);
    expect(onHost2.code).toBe(1);
    expect(readFileSync(h1.localPath(probe), 'utf8')).toBe('from-host1\n');
    expect(existsSync(h2.localPath(`${h2.deployTo}/probe.txt`))).toBe(false);
  });

  it.skipIf(skipWithout('isolation'))('as root, gives every host /srv/app in its own mount namespace, out of sight of this machine', async () => {
    const h1 = f().hosts[0]!;
    expect(f().isolated).toBe(true);
    expect(h1.deployTo).toBe('/srv/app');
    const w = await f().ssh(0, 'echo isolated > /srv/app/isolated.txt');
    expect(w.code, w.stderr).toBe(0);
    expect(h1.localPath('/srv/app/isolated.txt')).toBe(`${h1.root}/app/isolated.txt`);
    expect(readFileSync(h1.localPath('/srv/app/isolated.txt'), 'utf8')).toBe('isolated\n');
    // The bind mounts stay inside the hosts' namespaces.
    expect(existsSync('/srv/app/isolated.txt')).toBe(false);
  });

  it('gives every host its own home directory (npm cache, pm2 daemon), with git trusting every repository', async () => {
    const results = await Promise.all(f().hosts.map((h) => f().ssh(h.index, `echo "$HOME"; echo ${h.name} > "$HOME/whoami"; git config --get safe.directory`)));
    const homes = new Set<string>();
    for (const [i, r] of results.entries()) {
      expect(r.code, r.stderr).toBe(0);
      const [home, safe] = r.stdout.trim().split('\n');
      homes.add(home!);
      expect(safe).toBe('*');
      const h = f().hosts[i]!;
      expect(readFileSync(h.localPath(`${home}/whoami`), 'utf8').trim()).toBe(h.name);
      expect(readFileSync(join(h.home, 'whoami'), 'utf8').trim()).toBe(h.name);
    }
    // Root mode: one home path, a different directory behind it on each host.
    if (f().isolated) expect(homes.size).toBe(1);
  });

  it('kills a host with its running sessions, then restarts it with its data', async () => {
    const h2 = f().hosts[1]!;
    await f().ssh(1, `echo kept > ${h2.deployTo}/kept.txt`);

    // A session in the middle of a command, as in a deploy: it must drop when the host dies.
    const session = spawn('ssh', [...f().sshArgs(1), 'echo started; exec sleep 3171'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: f().home },
    });
    const sessionEnded = new Promise<number | null>((resolve) => session.on('close', (code) => resolve(code)));
    await new Promise<void>((resolve) => session.stdout.once('data', () => resolve()));
    const before = f().processes(1);
    expect(before.length).toBeGreaterThan(1); // listener + session processes

    const t0 = Date.now();
    await f().kill(1);
    expect(h2.running).toBe(false);
    expect(await sessionEnded).toBe(255);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(f().processes(1)).toEqual([]);
    expect(before.filter((pid) => existsSync(`/proc/${pid}`) && !isZombie(pid))).toEqual([]);
    expect(spawnSync('pgrep', ['-f', 'sleep 3171']).status).toBe(1);

    const down = await f().ssh(1, 'true');
    expect(down.code).toBe(255);
    // The other hosts are unaffected.
    expect((await f().ssh(0, 'true')).code).toBe(0);

    await f().restart(1);
    expect(h2.running).toBe(true);
    const back = await f().ssh(1, `cat ${h2.deployTo}/kept.txt`);
    expect(back.code, back.stderr).toBe(0);
    expect(back.stdout).toBe('kept\n');
  });

  it('runs a command with a host view of the filesystem (fault injection)', async () => {
    const h3 = f().hosts[2]!;
    const r = await f().exec(2, `echo injected > ${h3.deployTo}/fault.txt`);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(h3.localPath(`${h3.deployTo}/fault.txt`), 'utf8')).toBe('injected\n');
  });

  it('watches over the fleet with the reaper, run by path in a process group of its own', () => {
    const reapers = reapersOf(process.pid);
    expect(reapers).toHaveLength(1);
    expect(processGroup(reapers[0]!)).not.toBe(processGroup(process.pid));
  });

  it('stops everything: no sshd, no session, no temp dir, no reaper; stop() is idempotent', async () => {
    const fl = f();
    const s = spawn('ssh', [...fl.sshArgs(0), 'echo started; exec sleep 3172'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, HOME: fl.home },
    });
    await new Promise<void>((resolve) => s.stdout.once('data', () => resolve()));
    const pids = fl.processes();
    expect(pids.length).toBeGreaterThanOrEqual(4);

    await fl.stop();
    await fl.stop();
    fleet = undefined;
    expect(pids.filter((pid) => existsSync(`/proc/${pid}`) && !isZombie(pid))).toEqual([]);
    expect(spawnSync('pgrep', ['-f', fl.dir]).status).toBe(1);
    expect(spawnSync('pgrep', ['-f', 'sleep 3172']).status).toBe(1);
    expect(existsSync(fl.dir)).toBe(false);
    for (const h of fl.hosts) expect(h.running).toBe(false);
    expect(reapersOf(process.pid)).toEqual([]);
  });
});

describe.skipIf(skipWithout('fleet'))('the reaper of fleets whose test process is gone', () => {
  /** A fleet dir and a tagged process, as a test process `owner` would have left them. */
  const leftBehind = (owner: number, sleepSeconds: number) => {
    const dir = mkdtempSync(join(tmpdir(), `${FLEET_DIR_PREFIX}${owner}-`));
    const orphan = spawn('sh', ['-c', `sleep ${sleepSeconds} & wait`], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, [TAG_VAR]: `${owner}:${dir}/host1` },
    });
    return { dir, orphan };
  };
  const running = (pattern: string) => spawnSync('pgrep', ['-f', pattern]).status === 0;

  it('reap-dead: kills what a dead owner left running and removes its fleet dir', async () => {
    const dead = spawnSync('true').pid;
    const { dir, orphan } = leftBehind(dead, 3174);
    const mine = leftBehind(process.pid, 3175);
    try {
      await until(() => running('sleep 3174') && running('sleep 3175'));
      const r = spawnSync(process.execPath, reaperArgs('reap-dead'), { encoding: 'utf8', timeout: 10_000 });
      expect(r.status, r.stderr).toBe(0);
      await until(() => !running('sleep 3174'));
      expect(existsSync(dir)).toBe(false);
      // A live owner's fleet is not touched.
      expect(running('sleep 3175')).toBe(true);
      expect(existsSync(mine.dir)).toBe(true);
    } finally {
      killTreeSync(orphan.pid);
      killTreeSync(mine.orphan.pid);
      rmSync(mine.dir, { recursive: true, force: true });
    }
  });

  it('watch: waits while its owner lives, and when the owner is SIGKILLed reaps its fleets and exits', async () => {
    const owner = spawn('sleep', ['3176'], { stdio: 'ignore' });
    const { dir, orphan } = leftBehind(owner.pid!, 3177);
    const reaper = spawn(process.execPath, reaperArgs('watch', owner.pid), { detached: true, stdio: 'ignore' });
    const reaperExit = new Promise<number | null>((resolve) => reaper.on('exit', (code) => resolve(code)));
    try {
      await until(() => running('sleep 3177'));
      await new Promise((r) => setTimeout(r, 1_200)); // more than two of the reaper's rounds
      expect(running('sleep 3177')).toBe(true);
      expect(existsSync(dir)).toBe(true);

      owner.kill('SIGKILL');
      expect(await reaperExit).toBe(0);
      await until(() => !running('sleep 3177'));
      expect(existsSync(dir)).toBe(false);
    } finally {
      killTreeSync(reaper.pid);
      killTreeSync(orphan.pid);
      owner.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(skipWithout('fleet'))('e2e fleet harness at scale', () => {
  it('starts 20 hosts that all answer, and stops them', async () => {
    const t0 = Date.now();
    const fleet = await startFleet({ count: 20, firstAddress: 11 });
    const startedMs = Date.now() - t0;
    try {
      expect(new Set(fleet.hosts.map((h) => `${h.address}:${h.port}`)).size).toBe(20);
      const results = await Promise.all(fleet.hosts.map((h) => fleet.ssh(h.index, 'echo ok')));
      expect(results.map((r) => r.stdout)).toEqual(Array(20).fill('ok\n'));
      console.log(`20 hosts started in ${startedMs} ms`);
    } finally {
      await fleet.stop();
    }
    expect(fleet.processes()).toEqual([]);
  });
});

async function until(ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Live reaper processes watching `owner`. */
function reapersOf(owner: number): number[] {
  const argv = reaperArgs('watch', owner).join('\0');
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return readFileSync(`/proc/${n}/cmdline`, 'latin1').includes(argv);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function processGroup(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  } catch {
    return true;
  }
}
