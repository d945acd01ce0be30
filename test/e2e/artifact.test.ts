/**
 * strategy: artifact: the release is built once on this machine, in a clean tree of the sha
 * (the recipe's install with devDependencies, its build script, then devDependencies pruned),
 * packed once and streamed to every host, where nothing is installed or built. Refused, with
 * nothing changed, when the build holds native modules and a host's platform, CPU or Node ABI
 * differs from this machine's (simulated by a `node` on the host's PATH that says so).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fleetStage, hostView, type FleetStage } from '../helpers/fleet-stage.js';
import { dependOn, type TestPackage } from '../helpers/packages.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

/** The build script: needs the devDependency, writes dist/main.cjs, which needs the dependency. */
const BUILD = `require('devtool');
require('fs').mkdirSync('dist', { recursive: true });
require('fs').writeFileSync('dist/main.cjs', 'console.log(require("greeting").version + " built")\\n');
`;
const devtool: TestPackage = { name: 'devtool', version: '1.0.0' };

describe.skipIf(skipWithout('fleet'))('strategy: artifact', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let stage: FleetStage;
  const view = hostView(() => fleet);
  /** Where a host finds the stand-in `node` of the mismatch test (its own /srv/bin). */
  const binOnHost = (i: number) => `${dirname(fleet.hosts[i]!.deployTo)}/bin`;

  beforeAll(async () => {
    fleet = await startFleet({ count: 2, firstAddress: 104 });
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(async () => {
    repo = fixtureRepo();
    repo.commit({ 'build.cjs': BUILD });
    stage = fleetStage(fleet, repo.dir, mkdtempSync(join(tmpdir(), 'ship-e2e-artifact-')), 'postgres://u:pw@db/x');
    await stage.reset();
    write();
  });

  /** deploy.yaml; with `fakeNode`, each host's PATH starts with its /srv/bin. */
  const write = (fakeNode = false) =>
    stage.write({
      body: 'recipe: node\nstrategy: artifact\nvars:\n  build_script: build\n',
      hosts: fleet.hosts.map(
        (h, i) => `{ host: ${h.address}, port: ${h.port}${fakeNode ? `, env: { PATH: "${binOnHost(i)}:/usr/local/bin:/usr/bin:/bin" }` : ''} }`,
      ),
    });
  const run = async (i: number, command: string) => {
    const r = await fleet.ssh(i, `cd ${fleet.hosts[i]!.deployTo}/current && ${command}`);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  it('an artifact built here runs on the hosts, which install and build nothing; devDependencies are pruned', async () => {
    dependOn(repo, [{ name: 'greeting', version: '1.0.0' }], [devtool], { scripts: { start: 'node server.mjs', build: 'node build.cjs' } });
    const r = await stage.ship('deploy', 'test', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const i of [0, 1]) {
      expect(await run(i, 'node dist/main.cjs')).toBe('1.0.0 built');
      expect(await run(i, 'cat REVISION')).toBe(repo.head());
      expect(existsSync(view.at(i, 'current/node_modules/devtool')), 'devDependencies are pruned').toBe(false);
      expect(existsSync(join(fleet.hosts[i]!.home, '.npm')), `host ${i} never ran npm`).toBe(false);
      expect(existsSync(view.at(i, 'deps')), 'no shared install on the host').toBe(false);
    }
  });

  it('a build with native modules is refused when a host runs another platform, and nothing changes', async () => {
    dependOn(repo, [{ name: 'greeting', version: '1.0.0' }], [devtool], { scripts: { start: 'node server.mjs', build: 'node build.cjs' } });
    const first = await stage.ship('deploy', 'test', '--json');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    const before = [0, 1].map((i) => [view.current(i), view.releases(i)]);

    const native = { 'build/Release/greeting.node': 'not really a shared object' };
    dependOn(repo, [{ name: 'greeting', version: '2.0.0', files: native }], [devtool], { scripts: { start: 'node server.mjs', build: 'node build.cjs' } });
    for (const h of fleet.hosts) {
      const bin = h.localPath(binOnHost(h.index));
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'node'), '#!/bin/sh\necho "linux s390x 115"\n');
      chmodSync(join(bin, 'node'), 0o755);
    }
    write(true);
    const r = await stage.ship('deploy', 'test', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toContain('native modules');
    expect(r.stderr).toContain('greeting');
    expect(r.stderr).toMatch(/linux s390x/);
    expect([0, 1].map((i) => [view.current(i), view.releases(i)])).toEqual(before);
    for (const i of [0, 1]) expect(view.locked(i)).toBe(false);
  });
});
