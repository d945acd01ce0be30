/**
 * Output for CI: every command that takes --json prints NDJSON on stdout, one object a line
 * with ts, event and stage, for success and for each way it fails (exit 1 build failure,
 * 2 bad config, 3 health failure, 4 locked), ending with its closing event; human lines (the
 * deploy log's path) go to stderr. And --dry-run, which connects nowhere, against hosts that
 * do not exist.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ShipRun } from '../helpers/cli.js';
import { fleetStage, type FleetStage } from '../helpers/fleet-stage.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

const SECRET = `pw-${process.pid}-s3cret`;

/** Every stdout line is one JSON object with ts, event and stage (and host on host events). */
function ndjson(r: ShipRun, stage = 'test'): Record<string, unknown>[] {
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  expect(r.stdout === '' || r.stdout.endsWith('\n'), 'stdout ends with a newline').toBe(true);
  return lines.map((l) => {
    const e = JSON.parse(l) as Record<string, unknown>;
    expect(Object.keys(e).slice(0, 3), l).toEqual(['ts', 'event', 'stage']);
    expect(Number.isNaN(Date.parse(String(e.ts))), l).toBe(false);
    expect(e.stage).toBe(stage);
    if (/^(host:|task:|output|publish|health|prune|lock$|releases$)/.test(String(e.event))) expect(typeof e.host, l).toBe('string');
    return e;
  });
}

describe.skipIf(skipWithout('fleet'))('--json: NDJSON on stdout for every command and every exit code', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let stage: FleetStage;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 64 });
    repo = fixtureRepo({ withApp: false });
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(async () => {
    stage = fleetStage(fleet, repo.dir, mkdtempSync(join(tmpdir(), 'ship-json-')), SECRET);
    await stage.reset();
  });

  const config = (o: { build?: string; health?: string; hosts?: string[] } = {}) =>
    stage.write({
      body: [
        'tasks:',
        `  build: '${o.build ?? 'echo built with $DATABASE_URL'}'`,
        '  migrate: { roles: [db], once: true, run: echo migrated }',
        ...(o.health ? [`health: { command: '${o.health}', timeout: 1s, interval: 200ms }`] : []),
      ].join('\n'),
      ...(o.hosts ? { hosts: o.hosts } : {}),
    });
  const ship = (...args: string[]) => stage.ship(...args);
  /** Runs with --json and checks the stream: valid NDJSON, the exit code also in the closing event. */
  const json = async (code: number, ...args: string[]) => {
    const r = await ship('--json', ...args);
    expect(r.code, r.stdout + r.stderr).toBe(code);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    const events = ndjson(r);
    return { r, events, end: events.at(-1)! };
  };

  it('deploy: success, then build failure (1), health failure (3), locked (4); each ends with deploy:end and its exit code', async () => {
    config();
    const ok = await json(0, 'deploy', 'test');
    expect(ok.end).toMatchObject({ event: 'deploy:end', ok: true, exitCode: 0, revision: repo.head() });
    expect(Object.keys(ok.end.current as object).sort()).toEqual(fleet.hosts.map((h) => h.address).sort());
    expect(ok.events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['host:connect', 'lock', 'deploy:start', 'phase', 'task:start', 'output', 'task:end', 'publish', 'deploy:end']),
    );
    expect(ok.r.stderr).toMatch(/^log: \.ship\/logs\/test-\d{14}\.log$/m);

    config({ build: 'echo broken >&2; exit 7' });
    const build = await json(1, 'deploy', 'test');
    expect(build.end).toMatchObject({ event: 'deploy:end', ok: false, exitCode: 1 });
    expect(build.events).toContainEqual(expect.objectContaining({ event: 'task:end', task: 'build', exitCode: 7 }));

    // unhealthy only in the new release: the way back to the previous one is healthy
    config({ build: 'touch UNHEALTHY', health: 'test ! -e UNHEALTHY' });
    const health = await json(3, 'deploy', 'test');
    expect(health.end).toMatchObject({ event: 'deploy:end', ok: false, exitCode: 3 });
    expect(health.events).toContainEqual(expect.objectContaining({ event: 'health', ok: false, final: true }));
    expect(health.events).toContainEqual(expect.objectContaining({ event: 'rollback', ok: true }));

    config();
    expect((await ship('lock', 'test', '--reason', 'maintenance')).code).toBe(0);
    const locked = await json(4, 'deploy', 'test');
    expect(locked.end).toMatchObject({ event: 'deploy:end', ok: false, exitCode: 4 });
    expect(locked.events).toContainEqual(expect.objectContaining({ event: 'lock', ok: false, holder: expect.stringContaining('maintenance') }));
    const lockedRun = await json(4, 'run', 'test', 'migrate');
    expect(lockedRun.end).toMatchObject({ event: 'run:end', exitCode: 4 });
    expect((await ship('unlock', 'test')).code).toBe(0);
  });

  it('bad configuration (2): the stream still ends with the closing event, the problem is on stderr', async () => {
    writeFileSync(stage.config, 'app: demo\nkeep_release: 3\n');
    for (const [args, event] of [
      [['deploy', 'test'], 'deploy:end'],
      [['rollback', 'test'], 'rollback:end'],
      [['exec', 'test', '--', 'true'], 'exec:end'],
      [['run', 'test', 'migrate'], 'run:end'],
    ] as const) {
      const bad = await json(2, ...args);
      expect(bad.events).toEqual([expect.objectContaining({ event, ok: false, exitCode: 2 })]);
      expect(bad.r.stderr).toMatch(/keep_release/);
    }
    config();
    const role = await json(2, 'deploy', 'test', '--roles', 'nope');
    expect(role.end).toMatchObject({ event: 'deploy:end', exitCode: 2 });
  });

  it('rollback, releases, history, exec and run: NDJSON for success, and for a failing exec', async () => {
    config();
    await json(0, 'deploy', 'test');
    repo.commit({ change: '1' });
    await json(0, 'deploy', 'test');
    const rb = await json(0, 'rollback', 'test');
    expect(rb.end).toMatchObject({ event: 'rollback:end', ok: true, exitCode: 0 });
    const rel = await json(0, 'releases', 'test');
    expect(rel.events.filter((e) => e.event === 'releases')).toHaveLength(3);
    const hist = await json(0, 'history', 'test');
    expect(hist.events.filter((e) => e.event === 'history').length).toBeGreaterThan(0);
    const ex = await json(0, 'exec', 'test', '--', 'echo $DATABASE_URL; pwd');
    expect(ex.end).toMatchObject({ event: 'exec:end', ok: true, exitCode: 0 });
    expect(ex.events.filter((e) => e.event === 'host:done')).toHaveLength(3);
    expect(ex.events.filter((e) => e.event === 'output' && e.line === '[REDACTED]')).toHaveLength(3);
    const fail = await json(1, 'exec', 'test', '--', 'exit 5');
    expect(fail.end).toMatchObject({ event: 'exec:end', ok: false, exitCode: 1, hosts: Object.fromEntries(fleet.hosts.map((h) => [h.address, 5])) });
    const run = await json(0, 'run', 'test', 'migrate');
    expect(run.end).toMatchObject({ event: 'run:end', ok: true, task: 'migrate', hosts: { [fleet.hosts[2]!.address]: 0 } });
  });

  it('--dry-run connects nowhere: exit 0 against hosts that do not answer, the swap planned for every host', async () => {
    // nothing listens on port 2222 of these loopback addresses: a real deploy could not connect
    const nowhere = ['127.0.1.68', '127.0.1.69', '127.0.1.70'];
    config({ hosts: nowhere.map((h, i) => `{ host: ${h}, port: 2222, roles: [${i === 2 ? 'db' : 'web'}] }`) });
    expect((await ship('deploy', 'test')).code).toBe(1);
    const text = await ship('deploy', 'test', '--dry-run');
    expect(text.code, text.stderr).toBe(0);
    for (const h of nowhere) {
      const block = text.stdout.split(/\n(?=\S)/).find((b) => b.startsWith(`${h}\n`));
      expect(block, text.stdout).toBeDefined();
      expect(block).toMatch(
        / {4}swap\n {6}.*ln -s -- \/srv\/app\/releases\/\d{14} \/srv\/app\/\.ship\/next\/current && mv -f -- \/srv\/app\/\.ship\/next\/current \/srv\/app\//,
      );
      expect(block).toMatch(/ {4}lock\n/);
      expect(block).toMatch(/ {4}unlock\n/);
    }
    expect(text.stdout).not.toContain(SECRET);
    const plan = await json(0, 'deploy', 'test', '--dry-run');
    expect(plan.events[0]).toMatchObject({ event: 'plan:start', command: 'deploy', revision: repo.head() });
    expect(plan.events.filter((e) => e.event === 'plan' && e.task === 'swap').map((e) => e.host)).toEqual(nowhere);
    expect(plan.end).toMatchObject({ event: 'plan:end', ok: true, exitCode: 0 });
    const rollback = await json(0, 'rollback', 'test', '--dry-run');
    expect(rollback.events.filter((e) => e.event === 'plan' && e.task === 'swap').every((e) => String(e.command).includes('<previous good release>'))).toBe(
      true,
    );
  });
});
