/**
 * Fleet deploys over real SSH: three real sshd hosts on loopback, each with its own /srv,
 * driven through the built `ship` CLI exactly as a user runs it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runShip } from '../helpers/cli.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { hostView } from '../helpers/fleet-stage.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

/** A fleet address as a literal inside a RegExp. */
const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.skipIf(skipWithout('fleet'))('fleet deploys over SSH', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 41 });
    repo = fixtureRepo({ withApp: false });
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(async () => {
    // every test starts from empty hosts
    await Promise.all(fleet.hosts.map((h) => fleet.ssh(h.index, `rm -rf ${h.deployTo}/* ${h.deployTo}/.ship`)));
    work = mkdtempSync(join(tmpdir(), 'ship-e2e-'));
  });

  const config = (extra = '', stageExtra = '') => {
    const hosts = fleet.hosts.map((h, i) => `      - { host: ${h.address}, port: ${h.port}, roles: [${i === 2 ? 'db' : 'web, app'}] }`).join('\n');
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: demo
repo: ${repo.dir}
deploy_to: ${fleet.hosts[0]!.deployTo}
keep_releases: 3
shared:
  dirs: [log, storage]
ssh:
  user: ${fleet.user}
  identity: ${fleet.identityFile}
  known_hosts: strict
tasks:
  build: echo "built {{release}} on {{host}}" > built.txt
${extra}
stages:
  test:
${stageExtra}    hosts:
${hosts}
`,
    );
  };
  const ship = (args: string[], env: Record<string, string> = {}) =>
    runShip(['--config', join(work, 'deploy.yaml'), ...args], { cwd: work, env: { HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile, ...env } });
  const { at, current, releases } = hostView(() => fleet);
  const history = (i: number) =>
    readFileSync(at(i, '.ship/history.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const all = [0, 1, 2];

  it('deploys every host to one release id with the branch sha, shared dirs linked, history written', async () => {
    config();
    const r = await ship(['deploy', 'test', '--json']);
    expect(r.stderr).not.toMatch(/unexpected/);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const end = r.events().at(-1)!;
    expect(end).toMatchObject({ event: 'deploy:end', ok: true, exitCode: 0, revision: repo.head(), stage: 'test' });
    const id = end.release as string;
    for (const i of all) {
      expect(current(i)).toBe(id);
      expect(readFileSync(at(i, `releases/${id}/REVISION`), 'utf8').trim()).toBe(repo.head());
      expect(readFileSync(at(i, `releases/${id}/built.txt`), 'utf8')).toBe(`built ${id} on ${fleet.hosts[i]!.address}\n`);
      expect(readlinkSync(at(i, `releases/${id}/log`))).toBe(`${fleet.hosts[i]!.deployTo}/shared/log`);
      expect(existsSync(at(i, 'repo/HEAD'))).toBe(true); // strategy remote: a bare mirror
      expect(history(i)).toMatchObject([{ action: 'deploy', release: id, revision: repo.head(), result: 'deployed' }]);
      expect(existsSync(at(i, '.ship/lock'))).toBe(false);
    }
    expect(
      new Set(
        r
          .events()
          .filter((e) => e.event === 'host:connect')
          .map((e) => e.host),
      ),
    ).toEqual(new Set(fleet.hosts.map((h) => h.address)));
  });

  it('second deploy, rollback of all hosts, --to ID, and keep_releases pruning', async () => {
    config();
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) {
      repo.commit({ [`f${n}.txt`]: String(n) });
      const r = await ship(['deploy', 'test', '--json']);
      expect(r.code, r.stderr).toBe(0);
      ids.push(r.events().at(-1)!.release as string);
    }
    expect(new Set(ids).size).toBe(4);
    for (const i of all) expect(releases(i)).toEqual(ids.slice(1)); // keep_releases: 3
    const rb = await ship(['rollback', 'test']);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    for (const i of all) expect(current(i)).toBe(ids[2]);
    const to = await ship(['rollback', 'test', '--to', ids[1]!]);
    expect(to.code, to.stderr).toBe(0);
    for (const i of all) {
      expect(current(i)).toBe(ids[1]);
      expect(existsSync(at(i, `releases/${ids[3]}/.ship-failed`))).toBe(true);
    }
    const listing = await ship(['releases', 'test']);
    expect(listing.code).toBe(0);
    expect(listing.stdout).toMatch(new RegExp(`\\*\\s+${ids[1]}`));
    expect(listing.stdout).toMatch(new RegExp(`${ids[3]}\\s+\\w+\\s+failed`));
    const hist = await ship(['history', 'test']);
    expect(hist.stdout).toMatch(/rollback/);
  });

  it('rollback refuses, changing nothing, when a host lacks the target', async () => {
    config();
    const first = await ship(['deploy', 'test', '--json']);
    const id1 = first.events().at(-1)!.release as string;
    repo.commit({ x: '1' });
    const second = await ship(['deploy', 'test', '--json']);
    const id2 = second.events().at(-1)!.release as string;
    await fleet.ssh(1, `rm -rf ${fleet.hosts[1]!.deployTo}/releases/${id1}`);
    const r = await ship(['rollback', 'test']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`release ${id1} is missing on 1 of 3 host`));
    expect(r.stderr).toContain(fleet.hosts[1]!.address);
    for (const i of all) expect(current(i)).toBe(id2);
  });

  it('--hosts and --roles select hosts', async () => {
    config();
    const r = await ship(['deploy', 'test', '--roles', 'db', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(current(2)).toBeDefined();
    expect(current(0)).toBeUndefined();
    expect(current(1)).toBeUndefined();
    const h = await ship(['deploy', 'test', '--hosts', fleet.hosts[0]!.address]);
    expect(h.code).toBe(0);
    expect(current(0)).toBeDefined();
    expect(current(1)).toBeUndefined();
    const bad = await ship(['deploy', 'test', '--roles', 'nope']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no host of stage test has role nope/);
  });

  it('strategy upload: one archive made here, streamed to every host', async () => {
    config('strategy: upload');
    const r = await ship(['deploy', 'test', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const id = r.events().at(-1)!.release as string;
    for (const i of all) {
      expect(readFileSync(at(i, `releases/${id}/README`), 'utf8')).toBe('fixture\n');
      expect(existsSync(at(i, 'repo'))).toBe(false);
    }
  });

  it('a host unreachable at connect: exit 1, nothing changed, the others unlocked', async () => {
    config();
    const ok = await ship(['deploy', 'test', '--json']);
    const id = ok.events().at(-1)!.release as string;
    await fleet.kill(1);
    try {
      repo.commit({ y: '1' });
      const r = await ship(['deploy', 'test']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(fleet.hosts[1]!.address);
      expect(r.stderr).toMatch(/nothing was changed/);
      for (const i of [0, 2]) {
        expect(current(i)).toBe(id);
        expect(releases(i)).toEqual([id]);
        expect(existsSync(at(i, '.ship/lock'))).toBe(false);
      }
    } finally {
      await fleet.restart(1);
    }
  });

  it('a command failing on one host during prepare: exit 1, no host moved, release removed everywhere', async () => {
    config(`hooks:\n  after:build: [{ run: 'if [ {{host}} = ${fleet.hosts[2]!.address} ]; then echo "disk on fire" >&2; exit 9; fi' }]`);
    const ok = await ship(['deploy', 'test', '--json'], {});
    // the hook fails on host 3 from the first deploy on: nothing may be live anywhere
    expect(ok.code).toBe(1);
    expect(ok.stderr).toMatch(new RegExp(`failed on ${escaped(fleet.hosts[2]!.address)} \\(exit 9\\)`));
    expect(ok.stderr).toMatch(/disk on fire/);
    for (const i of all) {
      expect(current(i)).toBeUndefined();
      expect(releases(i)).toEqual([]);
      expect(existsSync(at(i, '.ship/lock'))).toBe(false);
    }
  });

  it('a held lock: exit 4 with who holds it and why; unlock frees it', async () => {
    config();
    const l = await ship(['lock', 'test', '--reason', 'migrating the db by hand']);
    expect(l.code, l.stderr).toBe(0);
    const r = await ship(['deploy', 'test']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`stage test is locked \\(on ${escaped(fleet.hosts[0]!.address)}\\); nothing was changed`));
    expect(r.stderr).toMatch(/held by .* since .*: migrating the db by hand/);
    for (const i of all) expect(releases(i)).toEqual([]);
    const u = await ship(['unlock', 'test']);
    expect(u.code).toBe(0);
    expect((await ship(['deploy', 'test'])).code).toBe(0);
  });

  it('refuses an unknown host key under strict, naming the host and its SHA256 fingerprint', async () => {
    config();
    const empty = join(work, 'empty_known_hosts');
    writeFileSync(empty, '');
    const r = await ship(['deploy', 'test'], { SHIP_KNOWN_HOSTS: empty });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(fleet.hostKeyFingerprints[0]!);
    expect(r.stderr).toMatch(/not known/);
    for (const i of all) expect(releases(i)).toEqual([]);
  });

  it('honours ~/.ssh/config aliases (HostName, User, IdentityFile) and reaches a host through ssh.jump', async () => {
    const [a, b] = fleet.hosts;
    mkdirSync(join(fleet.home, '.ssh'), { recursive: true });
    writeFileSync(
      join(fleet.home, '.ssh', 'config'),
      `Host app-*\n  User ${fleet.user}\n  IdentityFile ${fleet.identityFile}\nHost app-one\n  HostName ${a!.address}\n`,
    );
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: demo
repo: ${repo.dir}
deploy_to: ${a!.deployTo}
stages:
  test:
    hosts:
      - app-one
      - { host: ${b!.address}, user: ${fleet.user}, identity: ${fleet.identityFile}, jump: ${fleet.user}@${a!.address} }
`,
    );
    try {
      const r = await ship(['deploy', 'test', '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const id = r.events().at(-1)!.release as string;
      expect(current(0)).toBe(id);
      expect(current(1)).toBe(id);
      expect(r.events().at(-1)).toMatchObject({ current: { 'app-one': id, [b!.address]: id } });
    } finally {
      rmSync(join(fleet.home, '.ssh', 'config'), { force: true });
    }
  });

  it('a disk that fills up during prepare on one host: exit 1 naming the host and the error, nothing changed anywhere, every lock released', async () => {
    config();
    const ok = await ship(['deploy', 'test', '--json']);
    const id = ok.events().at(-1)!.release as string;
    const dir = fleet.hosts[1]!.deployTo;
    // a small filesystem over host 2's deploy path, holding a copy of what was there, then filled up
    const fill = await fleet.exec(
      1,
      `set -e; cp -a ${dir} /tmp/ship-full-save; mount -t tmpfs -o size=2m,uid=${fleet.uid},gid=${fleet.gid} tmpfs ${dir}; ` +
        `cp -a /tmp/ship-full-save/. ${dir}/; rm -rf /tmp/ship-full-save; ` +
        // leave ~150 KB: enough to lock, not enough for the new release
        `dd if=/dev/zero of=${dir}/filler bs=1k count=$(( $(df -k --output=avail ${dir} | tail -1) - 150 )) 2>/dev/null; sync`,
    );
    expect(fill.code, fill.stderr).toBe(0);
    try {
      repo.commit({ 'big.txt': randomBytes(300_000).toString('base64') }); // does not compress
      const r = await ship(['deploy', 'test']);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain(fleet.hosts[1]!.address);
      expect(r.stderr).toMatch(new RegExp(`update failed on ${escaped(fleet.hosts[1]!.address)}[\\s\\S]*No space left on device`));
      for (const i of [0, 2]) {
        expect(current(i)).toBe(id);
        expect(releases(i)).toEqual([id]);
        expect(existsSync(at(i, '.ship/lock'))).toBe(false);
      }
      const onHost2 = await fleet.ssh(1, `readlink ${dir}/current; ls ${dir}/releases; test -d ${dir}/.ship/lock && echo locked || echo unlocked`);
      expect(onHost2.stdout).toBe(`${dir}/releases/${id}\n${id}\nunlocked\n`);
    } finally {
      await fleet.exec(1, `umount ${dir}`);
    }
  });
});
