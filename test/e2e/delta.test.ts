/**
 * Delta uploads over real SSH: a host that holds the previous release receives only the files
 * whose content changed (bytes counted from ship's own report of what it sent, which is the
 * size of the stream), and hard-links the others from the previous release, which is left as
 * it was.
 */
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fleetStage, hostView, type FleetStage } from '../helpers/fleet-stage.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

/** 300 files of 8 KB (2.4 MB), like a small vendored tree, and one file that will change. */
const bulk = () =>
  Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`vendor/pkg${i % 30}/file${i}.js`, `${String(i).padStart(8, '0')}\n`.repeat(910)]));
const CHANGED = 'src/app.js';
const content = (v: number) => `// version ${v}\n${'x'.repeat(20_000)}\n`;

describe.skipIf(skipWithout('fleet'))('delta uploads', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let stage: FleetStage;
  const view = hostView(() => fleet);

  beforeAll(async () => {
    fleet = await startFleet({ count: 2, firstAddress: 107 });
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(async () => {
    repo = fixtureRepo();
    stage = fleetStage(fleet, repo.dir, mkdtempSync(join(tmpdir(), 'ship-e2e-delta-')), 'postgres://u:pw@db/x');
    await stage.reset();
    stage.write({ body: 'strategy: upload\n', hosts: fleet.hosts.map((h) => `{ host: ${h.address}, port: ${h.port} }`) });
  });

  /** Deploys; returns the release id and the bytes ship reports having sent to each host. */
  const deploy = async () => {
    const r = await stage.ship('deploy', 'test', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const events = r.events();
    const sent = fleet.hosts.map((h) => {
      const line = events.find((e) => e.event === 'log' && e.host === h.address && String(e.message).startsWith('sent '));
      return Number(/^sent (\d+) bytes/.exec(String(line?.message))?.[1]);
    });
    return { id: events.at(-1)!.release as string, sent };
  };

  it('a one-file change sends about that file to each host; the rest is hard-linked from the previous release', async () => {
    repo.commit({ ...bulk(), [CHANGED]: content(1) });
    const first = await deploy();
    for (const bytes of first.sent) expect(bytes).toBeGreaterThan(2_400_000);

    repo.commit({ [CHANGED]: content(2) });
    const second = await deploy();
    for (const i of [0, 1]) {
      const manifest = statSync(view.at(i, `releases/${second.id}/.ship-manifest`)).size;
      const changed = Buffer.byteLength(content(2));
      // the changed file twice over, the manifest, and one tar record of headers and padding
      expect(second.sent[i], `host ${i}`).toBeLessThanOrEqual(2 * changed + manifest + 10_240);
      expect(readFileSync(view.at(i, `releases/${second.id}/${CHANGED}`), 'utf8')).toBe(content(2));
      expect(readFileSync(view.at(i, `releases/${first.id}/${CHANGED}`), 'utf8'), 'the previous release is unchanged').toBe(content(1));
      const same = 'vendor/pkg7/file37.js';
      expect(statSync(view.at(i, `releases/${second.id}/${same}`)).ino).toBe(statSync(view.at(i, `releases/${first.id}/${same}`)).ino);
      expect(readFileSync(view.at(i, `releases/${second.id}/REVISION`), 'utf8').trim()).toBe(repo.head());
      expect(view.current(i)).toBe(second.id);
    }
    // a file the current release no longer has (a build or a shared link replaced it) cannot
    // be linked: that host gets the whole release, and the deploy goes on
    await fleet.ssh(1, `rm ${fleet.hosts[1]!.deployTo}/releases/${second.id}/vendor/pkg3/file33.js`);
    repo.commit({ [CHANGED]: content(3) });
    const whole = await stage.ship('deploy', 'test', '--json');
    expect(whole.code, whole.stdout + whole.stderr).toBe(0);
    expect(whole.stdout).toMatch(/sent \d+ bytes: the whole release/);
    const third0 = whole.events().at(-1)!.release as string;
    expect(readFileSync(view.at(1, `releases/${third0}/vendor/pkg3/file33.js`), 'utf8')).toContain('00000033');
    expect(readFileSync(view.at(1, `releases/${third0}/${CHANGED}`), 'utf8')).toBe(content(3));

    // a file removed from the repository is gone from the next release
    repo.remove('vendor/pkg7/file37.js');
    const third = await deploy();
    for (const i of [0, 1]) {
      expect(() => statSync(view.at(i, `releases/${third.id}/vendor/pkg7/file37.js`))).toThrow();
      expect(statSync(view.at(i, `releases/${third.id}/vendor/pkg8/file38.js`)).isFile()).toBe(true);
    }
  });
});
