/**
 * Proves the e2e fleet harness itself: real sshd hosts that the OpenSSH client reaches with
 * strict host key checking, each with its own /srv, that die for real and come back.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetAvailable, startFleet, type Fleet } from './fleet.js';

const sshClient = spawnSync('ssh', ['-V'], { stdio: 'ignore' }).status === 0;
const skipWhy = !fleetAvailable.ok ? fleetAvailable.why : !sshClient ? 'no OpenSSH client' : undefined;
if (skipWhy) console.warn(`skipping e2e fleet tests: ${skipWhy}`);

describe.skipIf(skipWhy !== undefined)('e2e fleet harness', () => {
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
    const listed = keygen.stdout.trim().split('\n').map((l) => l.split(' ')[1]);
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
    if (f().isolated) {
      expect(h1.deployTo).toBe('/srv/app');
      expect(h1.localPath('/srv/app/probe.txt')).toBe(`${h1.root}/app/probe.txt`);
      // The bind mounts stay inside the hosts' namespaces.
      expect(existsSync('/srv/app/probe.txt')).toBe(false);
    }
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

  it('stops everything: no sshd, no session, no temp dir; stop() is idempotent', async () => {
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
  });
});

describe.skipIf(skipWhy !== undefined)('e2e fleet harness at scale', () => {
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

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) === 'Z';
  } catch {
    return true;
  }
}
