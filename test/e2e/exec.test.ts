/**
 * Work on the live release outside a deploy: `ship exec` on the selected hosts with output
 * grouped per host, `ship run` of one task under the lock, and `ship ssh`: an interactive
 * shell on a real pseudo-terminal (tmux) in the current release.
 */
import { existsSync, mkdtempSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fleetStage, type FleetStage } from '../helpers/fleet-stage.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { shipInTmux, type Pane } from '../helpers/tmux.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe.skipIf(skipWithout('fleet'))('ship exec, run and ssh on the current release', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let stage: FleetStage;
  let release: string;
  let pane: Pane | undefined;
  const addr = (i: number) => fleet.hosts[i]!.address;
  const ship = (...args: string[]) => stage.ship(...args);

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 67 });
    repo = fixtureRepo({ withApp: false });
    stage = fleetStage(fleet, repo.dir, mkdtempSync(join(tmpdir(), 'ship-exec-')), 'tok-s3cret');
    stage.write({
      body: `tasks:
  migrate: { roles: [db], once: true, run: 'echo "migrating {{release}} on {{host}}"; ls -d /srv/app/.ship/lock' }
hooks:
  before:migrate: [{ roles: [db], run: echo backing up }]`,
    });
    const r = await ship('deploy', 'test', '--json');
    expect(r.code, r.stderr).toBe(0);
    release = r.events().at(-1)!.release as string;
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(() => {
    pane = undefined;
  });
  afterEach(() => pane?.kill());

  it('exec --roles db runs only on the db host, in the current release, with the stage env (redacted)', async () => {
    const r = await ship('exec', 'test', '--roles', 'db', '--', 'pwd; echo "token=$DATABASE_URL host=$SHIP_HOST"');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const db = esc(addr(2));
    expect(r.stdout).toMatch(
      new RegExp(`^${db}  ok in \\S+\\n  /srv/app/releases/${release}\\n  token=\\[REDACTED\\] host=${db}\\nexec: ok on 1 host\\(s\\) in \\S+\\n$`),
    );
    const json = await ship('--json', 'exec', 'test', '--roles', 'db', '--', 'hostname');
    const hosts = new Set(
      json
        .events()
        .filter((e) => 'host' in e)
        .map((e) => e.host),
    );
    expect([...hosts]).toEqual([addr(2)]);
  });

  it('exec on every host: one block per host, a summary line per host, exit 1 when one failed', async () => {
    const r = await ship('exec', 'test', '--', `echo "on $SHIP_HOST"; [ "$SHIP_HOST" != ${addr(1)} ] || { echo "no disk" >&2; exit 3; }`);
    expect(r.code).toBe(1);
    for (const i of [0, 1, 2]) expect(r.stdout).toMatch(new RegExp(`^${esc(addr(i))}  (ok in|exit 3 after) .*\\n  on ${esc(addr(i))}\\n`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^${esc(addr(1))}  exit 3 after \\S+\\n  on ${esc(addr(1))}\\n  no disk\\n`, 'm'));
    expect(r.stdout).toMatch(/exec: failed on 1 of 3 host\(s\)\n$/);
    expect(r.stderr).toMatch(/command failed on 1 of 3 host\(s\)/);
  });

  it('run: the task and its hooks alone on its hosts, holding the lock, which is released after', async () => {
    const r = await ship('run', 'test', 'migrate');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`${addr(2)}  ok in`);
    // the hook first, then the task, each named
    expect(r.stdout).toMatch(new RegExp(`  ▸ before:migrate\\S*\\n  backing up\\n  ▸ migrate\\n  migrating ${release} on ${esc(addr(2))}\\n`));
    expect(r.stdout).toContain('/srv/app/.ship/lock'); // held while the task ran
    for (const i of [0, 1, 2]) expect(existsSync(fleet.hosts[i]!.localPath('/srv/app/.ship/lock'))).toBe(false);
    expect(r.stdout).not.toMatch(new RegExp(`^${esc(addr(0))}`, 'm'));
    const unknown = await ship('run', 'test', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown task nope[\s\S]*migrate/);
  });

  it.skipIf(skipWithout('terminal'))('ssh opens a shell on a real terminal in the current release, with its env; its exit code is ship’s', async () => {
    pane = shipInTmux(['--config', stage.config, 'ssh', 'test', addr(1)], { cwd: tmpdir(), env: stage.env(), rows: 20 });
    await pane.waitFor(/\$ $|\$$/m);
    pane.send('pwd', 'Enter');
    await pane.waitFor(new RegExp(`^/srv/app/releases/${release}$`, 'm'));
    pane.send('tty', 'Enter');
    await pane.waitFor(/^\/dev\/pts\/\d+$/m);
    // the app's env as the release runs it, secrets included, never shown by ship
    pane.send('echo "db=${#DATABASE_URL} release=$SHIP_RELEASE"', 'Enter');
    await pane.waitFor(new RegExp(`^db=${'tok-s3cret'.length} release=${release}$`, 'm'));
    expect(pane.text()).not.toContain('tok-s3cret');
    pane.send('exit 7', 'Enter');
    const screen = await pane.waitFor(/\[exit \d+\]/);
    expect(screen).toContain('[exit 7]');
    expect(readlinkSync(fleet.hosts[1]!.localPath('/srv/app/current'))).toBe(`/srv/app/releases/${release}`);
  });
});
