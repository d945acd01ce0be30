/**
 * The servers people really have, started on loopback: Dropbear; a host whose PATH has only
 * BusyBox applets (its login shell BusyBox sh) and that allows no TCP forwarding; fish and
 * tcsh login shells. Each is deployed to, rolled back, exec'd on and shelled into with the
 * built ship, as a user would.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxBin } from '../helpers/busybox.js';
import { runShip, SHIP_BIN } from '../helpers/cli.js';
import { hostView } from '../helpers/fleet-stage.js';
import { isAlive, startFleet, type Fleet, type FleetHost } from '../helpers/fleet/index.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { machine, skipWithout } from '../helpers/requirements.js';

const DROPBEAR = 0;
const BUSYBOX = 1;
const FISH = 2;
const TCSH = 3;
const OLD_GIT = 4;
const SHA1_KEX = 5;
const ONE_SESSION = 6;
const NOISY = 7;

/** A stand-in for git 1.8.3 (CentOS/RHEL 7): says that version and knows no -C, like git before 1.8.5. */
function oldGit(dir: string): string {
  const bin = join(dir, 'old-git');
  mkdirSync(bin, { recursive: true, mode: 0o755 });
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(
    join(bin, 'git'),
    `#!/bin/sh\ncase "$1" in\n  -C) echo 'Unknown option: -C' >&2; exit 129;;\n  --version) echo 'git version 1.8.3.1'; exit 0;;\nesac\nexec ${real} "$@"\n`,
    { mode: 0o755 },
  );
  return bin;
}

describe.skipIf(skipWithout('dropbear', 'busybox', 'shells'))('compatibility: Dropbear, BusyBox-only, fish and tcsh hosts', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;
  const { current, releases, locked } = hostView(() => fleet);

  beforeAll(async () => {
    const bb = busyboxBin(mkdtempSync(join(tmpdir(), 'ship-bb-')));
    fleet = await startFleet({
      count: 8,
      firstAddress: 140,
      host: (i) =>
        [
          { server: 'dropbear' as const },
          { sshdConfig: ['AllowTcpForwarding no'], loginShell: `${bb}/sh`, path: bb },
          { loginShell: machine.fish! },
          { loginShell: machine.tcsh! },
          { path: `${oldGit(dirname(bb))}:/usr/local/bin:/usr/bin:/bin` },
          { sshdConfig: ['KexAlgorithms diffie-hellman-group14-sha1'] },
          { sshdConfig: ['MaxSessions 1'] },
          { loginShell: '/bin/bash' },
        ][i]!,
    });
    repo = fixtureRepo({ withApp: false });
    work = mkdtempSync(join(tmpdir(), 'ship-compat-'));
  }, 60_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  /** deploy.yaml with one stage per host (named for it); `extra` goes in at the top level. */
  const config = (extra = '') => {
    const stage = (name: string, h: FleetHost) => `  ${name}:\n    hosts:\n      - { host: ${h.address}, port: ${h.port} }\n`;
    const [dropbear, busybox, fish, tcsh, old, sha1, one, noisy] = fleet.hosts;
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: demo
repo: ${repo.dir}
deploy_to: ${fleet.hosts[0]!.deployTo}
strategy: upload
ssh:
  user: ${fleet.user}
  identity: ${fleet.identityFile}
  known_hosts: strict
${extra}
stages:
${stage('dropbear', dropbear!)}${stage('busybox', busybox!)}${stage('fish', fish!)}${stage('tcsh', tcsh!)}${stage('oldgit', old!)}    strategy: remote\n${stage('sha1', sha1!)}${stage('sha1yaml', sha1!)}    ssh:\n      algorithms:\n        kex: "+diffie-hellman-group14-sha1"\n${stage('onesession', one!)}${stage('noisy', noisy!)}`,
    );
  };
  const ship = (args: string[], input?: string) =>
    runShip(['--config', join(work, 'deploy.yaml'), ...args], {
      cwd: work,
      env: { HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile },
      timeoutMs: 120_000,
      ...(input !== undefined ? { input } : {}),
    });
  const deployed = async (stage: string, i: number): Promise<string> => {
    const r = await ship(['deploy', stage, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const id = r.events().at(-1)!.release as string;
    expect(current(i)).toBe(id);
    return id;
  };

  describe('Dropbear', () => {
    it('deploys, redeploys and rolls back', async () => {
      config();
      const one = await deployed('dropbear', DROPBEAR);
      repo.commit({ 'v2.txt': '2' });
      const two = await deployed('dropbear', DROPBEAR);
      expect(two).not.toBe(one);
      const r = await ship(['rollback', 'dropbear']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(current(DROPBEAR)).toBe(one);
    });

    it('exec runs in the current release; ssh gives a shell there', async () => {
      config();
      const id = await deployed('dropbear', DROPBEAR);
      const exec = await ship(['exec', 'dropbear', '--', 'pwd']);
      expect(exec.code, exec.stdout + exec.stderr).toBe(0);
      expect(exec.stdout).toContain(`/releases/${id}`);
      const shell = await ship(['ssh', 'dropbear'], 'pwd; exit 3\n');
      expect(shell.stdout).toContain(`/releases/${id}`);
      expect(shell.code, shell.stderr).toBe(3);
    });

    it('a failing health check puts current back, exit 3', async () => {
      config();
      const good = await deployed('dropbear', DROPBEAR);
      config("health:\n  command: '[ ! -f v3.txt ]'\n  timeout: 2s\n  interval: 500ms");
      repo.commit({ 'v3.txt': '3' });
      const r = await ship(['deploy', 'dropbear']);
      expect(r.code, r.stdout + r.stderr).toBe(3);
      expect(current(DROPBEAR)).toBe(good);
      expect(locked(DROPBEAR)).toBe(false);
    });

    it('Ctrl-C stops the task running on the host: its process is gone, nothing changes', async () => {
      config();
      const good = await deployed('dropbear', DROPBEAR);
      const pidFile = fleet.hosts[DROPBEAR]!.localPath(`${fleet.hosts[DROPBEAR]!.deployTo}/build.pid`);
      config(`tasks:\n  build: sh -c 'echo $$ > ${fleet.hosts[DROPBEAR]!.deployTo}/build.pid; exec sleep 60'`);
      repo.commit({ 'v4.txt': '4' });
      const child = spawn(process.execPath, [SHIP_BIN, '--config', join(work, 'deploy.yaml'), 'deploy', 'dropbear'], {
        cwd: work,
        env: { PATH: process.env.PATH, CI: 'true', HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile },
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      let pid = 0;
      for (let i = 0; i < 300 && !pid; i++) {
        await sleep(100);
        pid = Number(await readOr(pidFile));
      }
      expect(pid).toBeGreaterThan(1);
      child.kill('SIGINT');
      expect(await exited).toBe(130);
      for (let i = 0; i < 50 && isAlive(pid); i++) await sleep(100);
      expect(isAlive(pid)).toBe(false);
      expect(current(DROPBEAR)).toBe(good);
      expect(releases(DROPBEAR)).toContain(good);
      expect(locked(DROPBEAR)).toBe(false);
    });
  });

  describe('a BusyBox-only host that allows no TCP forwarding', () => {
    it('deploys with the upload strategy, health-checked over HTTP by BusyBox wget on the host; a failing check puts current back', async () => {
      const h = fleet.hosts[BUSYBOX]!;
      // the app: BusyBox httpd serving deploy_to, so current/ok.txt follows the symlink
      const listen = `${h.address}:${8000 + Number(h.address.split('.')[3])}`;
      await fleet.exec(BUSYBOX, `busybox httpd -p ${listen} -h ${h.deployTo}`);
      config(`health:\n  http: http://${listen}/current/ok.txt\n  timeout: 3s\n  interval: 300ms`);
      repo.commit({ 'ok.txt': 'ok' });
      const one = await deployed('busybox', BUSYBOX);
      const rev = await ship(['exec', 'busybox', '--', 'cat REVISION; echo "PATH=$PATH"']);
      expect(rev.stdout).toContain(repo.head());
      expect(rev.stdout).toMatch(/PATH=\S*busybox-bin\s/);
      repo.remove('ok.txt');
      const r = await ship(['deploy', 'busybox']);
      expect(r.code, r.stdout + r.stderr).toBe(3);
      expect(r.stdout + r.stderr).toMatch(/404/);
      expect(current(BUSYBOX)).toBe(one);
    });
  });

  describe('git older than 1.8.5 (no git -C) with strategy remote', () => {
    it('deploys and redeploys from the mirror on the host; appends to the revisions.log Capistrano left', async () => {
      config();
      const h = fleet.hosts[OLD_GIT]!;
      const cap = 'Branch main (at 0123abc) deployed as release 20200101000000 by cap';
      await fleet.exec(
        OLD_GIT,
        `mkdir -p ${h.deployTo} && echo '${cap}' > ${h.deployTo}/revisions.log && chown ${fleet.uid}:${fleet.gid} ${h.deployTo}/revisions.log`,
      );
      const first = await deployed('oldgit', OLD_GIT);
      const probe = await ship(['exec', 'oldgit', '--', 'git --version; git -C . status']);
      expect(probe.stdout).toContain('git version 1.8.3.1');
      expect(probe.stdout + probe.stderr).toContain('Unknown option: -C');
      repo.commit({ 'v6.txt': '6' });
      const two = await deployed('oldgit', OLD_GIT);
      const rev = await ship(['exec', 'oldgit', '--', 'cat REVISION']);
      expect(rev.stdout).toContain(repo.head());
      expect(releases(OLD_GIT)).toContain(two);
      const check = await ship(['check', 'oldgit', '--json']);
      expect(check.stdout).toContain('git 1.8.3.1');
      const back = await ship(['rollback', 'oldgit']);
      expect(back.code, back.stdout + back.stderr).toBe(0);
      const log = (await fleet.exec(OLD_GIT, `cat ${h.deployTo}/revisions.log`)).stdout.trim().split('\n');
      expect(log[0]).toBe(cap);
      expect(log[1]).toMatch(new RegExp(`^Branch \\S+ \\(at [0-9a-f]{40}\\) deployed as release ${first} by \\S+$`));
      expect(log[2]).toMatch(new RegExp(`deployed as release ${two} by `));
      expect(log[3]).toMatch(new RegExp(`^\\S+ rolled back to release ${first}$`));
      expect(log).toHaveLength(4);
    });
  });

  describe("a login shell whose .bashrc prints before ship's first step", () => {
    it('keeps that output out of exec and of the deploy log', async () => {
      writeFileSync(join(fleet.hosts[NOISY]!.home, '.bashrc'), 'echo "Welcome to noisy (bashrc)"\necho "nvm: rehashed (bashrc)" >&2\n');
      config();
      const r = await ship(['deploy', 'noisy']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const exec = await ship(['exec', 'noisy', '--', 'echo hello']);
      expect(exec.code, exec.stdout + exec.stderr).toBe(0);
      expect(exec.stdout).toContain('hello');
      // the greeting does reach a plain ssh session: the host is noisy
      expect((await fleet.ssh(NOISY, 'true')).stdout).toContain('Welcome to noisy');
      for (const out of [r.stdout + r.stderr, exec.stdout + exec.stderr]) expect(out).not.toContain('(bashrc)');
    });
  });

  describe('sshd with MaxSessions 1', () => {
    it('deploys with the upload strategy (the session makes room for the archive), execs, shells in and rolls back', async () => {
      config();
      const one = await deployed('onesession', ONE_SESSION);
      repo.commit({ 'one.txt': '1' });
      const two = await deployed('onesession', ONE_SESSION);
      const shell = await ship(['ssh', 'onesession'], 'pwd; exit 3\n');
      expect(shell.stdout, shell.stderr).toContain(`/releases/${two}`);
      expect(shell.code, shell.stderr).toBe(3);
      const r = await ship(['rollback', 'onesession']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(current(ONE_SESSION)).toBe(one);
    });
  });

  describe('a server that offers only SHA-1 key exchange (diffie-hellman-group14-sha1)', () => {
    it('is refused with what to set; allowed by ssh.algorithms in deploy.yaml or KexAlgorithms in an Included ~/.ssh/config file', async () => {
      config();
      const refused = await ship(['deploy', 'sha1']);
      expect(refused.code, refused.stdout + refused.stderr).not.toBe(0);
      expect(refused.stdout + refused.stderr).toMatch(/no matching key exchange algorithm.*ssh\.algorithms\.kex/s);
      expect(current(SHA1_KEX)).toBeUndefined();

      const id = await deployed('sha1yaml', SHA1_KEX);
      const exec = await ship(['exec', 'sha1yaml', '--', 'pwd']);
      expect(exec.stdout, exec.stderr).toContain(`/releases/${id}`);

      const sshDir = join(fleet.home, '.ssh');
      mkdirSync(join(sshDir, 'config.d'), { recursive: true });
      writeFileSync(join(sshDir, 'config'), 'Include config.d/*\n');
      writeFileSync(join(sshDir, 'config.d', 'legacy'), `Match host ${fleet.hosts[SHA1_KEX]!.address}\n  KexAlgorithms +diffie-hellman-group14-sha1\n`);
      try {
        repo.commit({ 'sha1.txt': '1' });
        const two = await deployed('sha1', SHA1_KEX);
        expect(two).not.toBe(id);
        const r = await ship(['rollback', 'sha1']);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(current(SHA1_KEX)).toBe(id);
      } finally {
        rmSync(join(sshDir, 'config'));
      }
    });
  });

  describe.each([
    ['fish', FISH],
    ['tcsh', TCSH],
  ])('a %s login shell', (stage, i) => {
    it('deploys, and ship ssh gives a working shell in the current release', async () => {
      config();
      const id = await deployed(stage, i);
      const shell = await ship(['ssh', stage], 'pwd; exit 3\n');
      expect(shell.stdout, shell.stderr).toContain(`/releases/${id}`);
      expect(shell.code, shell.stderr).toBe(3);
    });
  });
});

async function readOr(file: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(file, 'utf8').catch(() => '');
}
