/**
 * Dependency installs shared by releases (recipe node, `deps: shared`): one install per
 * lockfile, Node version and platform on each host, made under a temporary name and renamed
 * when complete, linked into every release that matches it, and pruned when no kept release
 * uses it. Two real sshd hosts, each with its own home (its own npm cache); the app depends
 * on a package packed here as a tarball (no registry needed), whose postinstall counts the
 * installs on each host and can kill npm mid-install.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fleetStage, hostView, type FleetStage } from '../helpers/fleet-stage.js';
import { dependOn } from '../helpers/packages.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

/**
 * The postinstall of the `greeting` package: appends a line to ~/greeting-installs on the host,
 * and when ~/kill-npm exists, SIGKILLs npm itself (the parent of the shell that runs the script).
 */
const POSTINSTALL = `const fs = require('fs');
const home = process.env.HOME;
fs.appendFileSync(home + '/greeting-installs', require('./package.json').version + '\\n');
if (fs.existsSync(home + '/kill-npm')) {
  const shell = fs.readFileSync('/proc/' + process.ppid + '/stat', 'utf8');
  const npm = Number(shell.slice(shell.lastIndexOf(')') + 2).split(' ')[1]);
  process.kill(npm, 'SIGKILL');
  process.kill(process.ppid, 'SIGKILL');
}
`;

/** greeting@version, with the postinstall above, as the app's one dependency. */
const useGreeting = (repo: FixtureRepo, version: string) =>
  dependOn(repo, [{ name: 'greeting', version, files: { 'postinstall.js': POSTINSTALL }, scripts: { postinstall: 'node postinstall.js' } }]);

describe.skipIf(skipWithout('fleet'))('dependency installs shared by releases', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let stage: FleetStage;
  const view = hostView(() => fleet);

  beforeAll(async () => {
    fleet = await startFleet({ count: 2, firstAddress: 101 });
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(async () => {
    repo = fixtureRepo();
    stage = fleetStage(fleet, repo.dir, mkdtempSync(join(tmpdir(), 'ship-e2e-deps-')), 'postgres://u:pw@db/x');
    await stage.reset();
    for (const h of fleet.hosts) rmSync(join(h.home, 'greeting-installs'), { force: true });
    stage.write({ body: 'recipe: node\nstrategy: upload\nkeep_releases: 1\n', hosts: fleet.hosts.map((h) => `{ host: ${h.address}, port: ${h.port} }`) });
  });

  const deploy = async (expected = 0) => {
    const r = await stage.ship('deploy', 'test', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(expected);
    return r.events().at(-1)!.release as string;
  };
  /** What ran on host i: one line per install of greeting, with its version. */
  const installs = (i: number) => {
    const f = join(fleet.hosts[i]!.home, 'greeting-installs');
    return existsSync(f) ? readFileSync(f, 'utf8').trim().split('\n') : [];
  };
  /** The complete installs on host i (names in deps/, without the temporary ones). */
  const complete = (i: number) =>
    existsSync(view.at(i, 'deps'))
      ? readdirSync(view.at(i, 'deps'))
          .filter((d) => !d.startsWith('.'))
          .sort()
      : [];
  const linkOf = (i: number, id: string) => readlinkSync(view.at(i, `releases/${id}/node_modules`));
  /** The version of greeting that node loads in current/ on host i, asked on the host itself. */
  const running = async (i: number) => {
    const r = await fleet.ssh(i, `cd ${fleet.hosts[i]!.deployTo}/current && node -p "require('greeting').version"`);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  it('installs once per lockfile, reuses it for a new commit, and a rollback after a lockfile change runs the old dependencies', async () => {
    useGreeting(repo, '1.0.0');
    const a = await deploy();
    repo.commit({ 'server.mjs': `${readFileSync(join(repo.dir, 'server.mjs'), 'utf8')}// b\n` });
    const b = await deploy();
    for (const i of [0, 1]) {
      expect(installs(i), `host ${i}: the same lockfile is installed once`).toEqual(['1.0.0']);
      expect(complete(i)).toHaveLength(1);
      expect(linkOf(i, b)).toBe(`${fleet.hosts[i]!.deployTo}/deps/${complete(i)[0]}/node_modules`);
      expect(linkOf(i, a)).toBe(linkOf(i, b));
    }
    useGreeting(repo, '2.0.0');
    const c = await deploy();
    for (const i of [0, 1]) {
      expect(installs(i)).toEqual(['1.0.0', '2.0.0']);
      expect(linkOf(i, c)).not.toBe(linkOf(i, b));
      expect(await running(i)).toBe('2.0.0');
    }
    const listed = await stage.ship('releases', 'test', '--json');
    const rows = listed.events().find((e) => e.event === 'releases')!.releases as { id: string; deps: string | null }[];
    expect(rows.find((r) => r.id === b)!.deps).toBe(linkOf(0, b).split('/').at(-2));
    expect(rows.find((r) => r.id === c)!.deps).toBe(linkOf(0, c).split('/').at(-2));

    const back = await stage.ship('rollback', 'test', '--json');
    expect(back.code, back.stdout + back.stderr).toBe(0);
    for (const i of [0, 1]) {
      expect(view.current(i)).toBe(b);
      expect(await running(i), `host ${i} runs the dependencies it ran before`).toBe('1.0.0');
      expect(installs(i), 'a rollback installs nothing').toEqual(['1.0.0', '2.0.0']);
    }

    // keep_releases 1: d is kept and b (where a rollback would go); c and its install go
    useGreeting(repo, '3.0.0');
    const d = await deploy();
    for (const i of [0, 1]) {
      expect(view.releases(i)).toEqual([b, d]);
      expect(
        complete(i)
          .map((k) => `${fleet.hosts[i]!.deployTo}/deps/${k}/node_modules`)
          .sort(),
      ).toEqual([linkOf(i, b), linkOf(i, d)].sort());
    }
  });

  it('an install killed mid-way is never reused: the next deploy installs again, and temporary installs are pruned', async () => {
    useGreeting(repo, '1.0.0');
    for (const h of fleet.hosts) writeFileSync(join(h.home, 'kill-npm'), '');
    await deploy(1);
    for (const i of [0, 1]) {
      expect(installs(i), `host ${i}: npm was killed inside the install`).toEqual(['1.0.0']);
      expect(complete(i), 'no complete install came of it').toEqual([]);
    }
    for (const h of fleet.hosts) rmSync(join(h.home, 'kill-npm'));
    // what a run killed between the install and its rename leaves behind
    await fleet.ssh(0, `mkdir -p ${fleet.hosts[0]!.deployTo}/deps/.partial-npm-0123456789abcdef/node_modules`);
    const id = await deploy();
    for (const i of [0, 1]) {
      expect(installs(i), `host ${i} installed again`).toEqual(['1.0.0', '1.0.0']);
      expect(linkOf(i, id)).toBe(`${fleet.hosts[i]!.deployTo}/deps/${complete(i)[0]}/node_modules`);
      expect(await running(i)).toBe('1.0.0');
    }
    expect(readdirSync(view.at(0, 'deps')), 'the temporary install is pruned').toEqual(complete(0));
  });
});
