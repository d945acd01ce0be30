/**
 * Output for people: the listr2 tree as a terminal shows it, driven through a real
 * pseudo-terminal (tmux) against three real sshd hosts; the plain lines CI gets, without one
 * escape code; the deploy log kept next to deploy.yaml.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fleetStage, type FleetStage } from '../helpers/fleet-stage.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { shipInTmux, type Pane } from '../helpers/tmux.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

const SECRET = `s3cr3t-${process.pid}`;
const ESC = '\u001b[';

describe.skipIf(skipWithout('fleet', 'terminal'))('deploy output on a terminal and in CI', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;
  let stage: FleetStage;
  let pane: Pane | undefined;
  const addr = (i: number) => fleet.hosts[i]!.address;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 61 });
    repo = fixtureRepo({ withApp: false });
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(async () => {
    work = mkdtempSync(join(tmpdir(), 'ship-output-'));
    stage = fleetStage(fleet, repo.dir, work, SECRET);
    await stage.reset();
  });
  afterEach(() => pane?.kill());

  /** `build` may fail on one host; the db host migrates. */
  const config = (build = 'echo "built {{release}} with $DATABASE_URL"') =>
    stage.write({ body: `tasks:\n  build: '${build}'\n  migrate: { roles: [db], once: true, run: echo migrating }\n  restart: echo restarting\nbranch: main` });
  const tree = (...args: string[]) => (pane = shipInTmux(['--config', stage.config, ...args], { cwd: work, env: stage.env() }));
  const lines = (screen: string) => screen.split('\n').map((l) => l.trimEnd());

  it('a 3-host deploy: one phase after another, one line per host with its steps and time, then a summary and the log', async () => {
    config();
    const screen = lines(await tree('deploy', 'test').waitFor(/\[exit \d+\]/));
    expect(screen.at(-1)).toBe('[exit 0]');
    const at = (prefix: string) => screen.findIndex((l) => l.startsWith(prefix));
    const phases = ['✔ connect · 3 hosts', '✔ prepare · 3 hosts', '✔ publish · 3 hosts', '✔ finish · 3 hosts'].map(at);
    expect(
      phases.every((i) => i >= 0),
      screen.join('\n'),
    ).toBe(true);
    expect([...phases].sort((a, b) => a - b)).toEqual(phases);
    const under = (phase: number) => screen.slice(phases[phase]! + 1, phases[phase + 1] ?? screen.length);
    const host = (i: number) => new RegExp(`^  ✔ ${addr(i).replace(/\./g, '\\.')}  `);
    for (const i of [0, 1, 2]) {
      // the code rides in the lock script (strategy remote): its steps carry on the connect row
      expect(
        under(0).some((l) => host(i).test(l) && /connected in \d+ms, locked, update, revision, app env {2}\d/.test(l)),
        screen.join('\n'),
      ).toBe(true);
      expect(
        under(1).some((l) => host(i).test(l) && /build, prepared {2}\d/.test(l)),
        screen.join('\n'),
      ).toBe(true);
      expect(
        under(2).some((l) => host(i).test(l) && /swap, restart {2}\d/.test(l)),
        screen.join('\n'),
      ).toBe(true);
      expect(
        under(3).some((l) => host(i).test(l) && /history, unlock {2}\d/.test(l)),
        screen.join('\n'),
      ).toBe(true);
    }
    // the primary migrates once, after every host is prepared: its own line in prepare
    expect(under(1).filter((l) => / migrate {2}\d/.test(l))).toEqual([expect.stringMatching(host(2))]);
    const release = /✔ deployed ([0-9a-f]{12}) \(main\) as release (\d{14}) to 3 hosts in \d/.exec(screen.join('\n'));
    expect(release?.[1]).toBe(repo.head().slice(0, 12));
    expect(screen).toContain(`log: .ship/logs/test-${release![2]}.log`);
    expect(screen.join('\n')).not.toContain(SECRET);
    // the log holds what the tree leaves out: every command and its output, redacted
    const log = readFileSync(join(work, '.ship', 'logs', `test-${release![2]}.log`), 'utf8');
    expect(log).toContain(`[${addr(0)}] | built ${release![2]} with [REDACTED]`);
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain(ESC);
  });

  it('a failure is shown in place: host, task, exit code, the command as written and the end of stderr', async () => {
    config(`if [ {{host}} = ${addr(2)} ]; then echo "disk on fire" >&2; echo "$DATABASE_URL" >&2; exit 9; fi; echo built`);
    const screen = lines(await tree('deploy', 'test').waitFor(/\[exit \d+\]/));
    expect(screen.at(-1)).toBe('[exit 1]');
    const text = screen.join('\n');
    expect(text).toContain('✖ prepare · 3 hosts, 1 failed');
    const failed = screen.findIndex((l) => l.startsWith(`  ✖ ${addr(2)}  build failed with exit 9 after `));
    expect(failed, text).toBeGreaterThan(0);
    expect(screen.slice(failed + 1, failed + 4).map((l) => l.trim())).toEqual([
      `$ if [ ${addr(2)} = ${addr(2)} ]; then echo "disk on fire" >&2; echo "$DATABASE_URL" >&2; exit 9; fi; echo built`,
      'disk on fire',
      '[REDACTED]',
    ]);
    expect(text).toMatch(/✔ cleanup · 3 hosts/);
    expect(text).toMatch(/✖ deploy failed \(exit 1\) after [\d.]+m?s; where each host stands:/);
    expect(text).toContain(`${addr(0)}  current -> (none)`);
    expect(text).not.toContain(SECRET);
    expect(existsSync(join(work, '.ship', 'logs'))).toBe(true);
  });

  it('not a terminal, or CI set: plain timestamped lines prefixed with the host, no escape codes', async () => {
    config();
    const piped = await stage.ship('deploy', 'test');
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout + piped.stderr).not.toContain(ESC);
    expect(piped.stdout).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ \\[${addr(1).replace(/\./g, '\\.')}\\] build ok`, 'm'));
    // a terminal under CI is still CI: no tree, no colour, no spinner
    pane = shipInTmux(['--config', stage.config, 'deploy', 'test'], { cwd: work, env: stage.env({ CI: 'true' }) });
    await pane.waitFor(/\[exit \d+\]/);
    const raw = pane.text({ escapes: true });
    expect(raw).toContain('[exit 0]');
    expect(raw).not.toContain(ESC);
    expect(raw).not.toMatch(/[✔✖⠋⠙]/);
    expect(raw).toMatch(/deploy done: release \d{14}/);
  });
});
