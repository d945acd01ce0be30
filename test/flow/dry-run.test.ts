import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.js';
import { dryRunDeploy, dryRunRollback, type DryRun } from '../../src/deploy/dry-run.js';
import { resolveRevision } from '../../src/git/git.js';
import type { ShipEvent } from '../../src/ui/events.js';
import { makeRedactor } from '../../src/ui/redact.js';
import { fixtureRepo } from '../helpers/repo.js';
import { fakeClock, localStage, realGit, recordingEnv, task } from '../helpers/stage.js';

const operator = { user: 'tester', machine: 'ci-box', pid: 4242 };
const tasksOf = (plan: DryRun, host: string) => (plan.steps.get(host) ?? []).map((s) => `${s.phase}/${s.task}`);
const commandOf = (plan: DryRun, host: string, task: string) => plan.steps.get(host)!.find((s) => s.task === task)!.command;

/** A stage with a build, a migration on the db host, a restart and a command health check. */
function stage(repo: string) {
  return localStage(
    repo,
    3,
    {
      env: { DATABASE_URL: 'postgres://app:s3cret@db/app' },
      secrets: ['DATABASE_URL'],
      secretValues: ['postgres://app:s3cret@db/app'],
      tasks: {
        build: task('build', 'echo building with $DATABASE_URL postgres://app:s3cret@db/app'),
        migrate: task('migrate', 'echo migrate', { roles: ['db'], once: true }),
        restart: task('restart', 'echo restart {{release}}'),
      },
      health: { command: 'true', expect: { status: 200 }, timeoutMs: 1000, intervalMs: 100 },
      healthChecks: [{ command: 'true', expect: { status: 200 }, timeoutMs: 1000, intervalMs: 100 }],
    },
    [{}, {}, { roles: ['db'] }],
  );
}

describe('--dry-run (the real protocol on a printing transport)', () => {
  it('plans every command per host, in order: lock, inspect, prepare, migrate on the primary, swap, restart, health, finish; nothing is touched', async () => {
    const repo = fixtureRepo({ withApp: false });
    const s = stage(repo.dir);
    const plan = await dryRunDeploy(s, {}, { clock: fakeClock(), operator, redact: makeRedactor(s.secretValues), resolveRevision });
    expect(plan).toMatchObject({ command: 'deploy', release: '20261122021500', revision: repo.head(), hosts: ['h1', 'h2', 'h3'] });
    const web = [
      'connect/lock',
      'connect/inspect',
      'prepare/manifest',
      'prepare/upload',
      'prepare/revision',
      'prepare/app env',
      'prepare/link shared',
      'prepare/build',
      'prepare/prepared',
      'publish/swap',
      'publish/restart',
      'publish/health',
    ];
    expect(tasksOf(plan, 'h1')).toEqual([...web, 'finish/mark migrated', 'finish/history', 'finish/unlock']);
    expect(tasksOf(plan, 'h3')).toEqual([...web.slice(0, 9), 'prepare/migrate', ...web.slice(9), 'finish/mark migrated', 'finish/history', 'finish/unlock']);
    for (const h of s.hosts) {
      expect(commandOf(plan, h.name, 'swap')).toContain(`ln -s -- ${h.deployTo}/releases/20261122021500 ${h.deployTo}/.ship/next/current`);
      expect(existsSync(h.deployTo)).toBe(false);
    }
    // what only the host knows is named, and no secret is printed anywhere
    expect(commandOf(plan, 'h1', 'history')).toContain('"previous":"<current release>"');
    const all = JSON.stringify([...plan.steps.values()]);
    expect(all).not.toContain('s3cret');
    expect(commandOf(plan, 'h1', 'build')).toContain('echo building with $DATABASE_URL [REDACTED]');
  });

  it('with strategy remote, the code rides in each lock script: the plan shows it under connect, the build under prepare', async () => {
    const repo = fixtureRepo({ withApp: false });
    const s = { ...stage(repo.dir), strategy: 'remote' as const };
    const plan = await dryRunDeploy(s, {}, { clock: fakeClock(), operator, redact: makeRedactor(s.secretValues), resolveRevision });
    const early = [
      'connect/lock',
      'connect/inspect',
      'connect/fresh id',
      'connect/update',
      'connect/revision',
      'connect/app env',
      'connect/link shared',
      'prepare/build',
      'prepare/prepared',
    ];
    expect(tasksOf(plan, 'h1').slice(0, 9)).toEqual(early);
    expect(tasksOf(plan, 'h2').slice(0, 9)).toEqual(early);
    expect(commandOf(plan, 'h2', 'fresh id')).toContain('[ "$__l" -lt 12021500 ]; }; } || exit 75');
    expect(commandOf(plan, 'h2', 'update')).toContain(`tar -x -f - -C ${s.hosts[1]!.deployTo}/releases/20261122021500`);
  });

  it('never drifts from the deploy it stands for: the same commands as a real second deploy', async () => {
    const repo = fixtureRepo({ withApp: false });
    const s = stage(repo.dir);
    const clock = fakeClock();
    const first = await deploy(s, {}, recordingEnv(s, { clock }).env, realGit);
    clock.advance(60_000);
    const plan = await dryRunDeploy(s, {}, { clock, operator, redact: makeRedactor(s.secretValues), resolveRevision });
    const real = recordingEnv(s, { clock });
    await deploy(s, {}, real.env, realGit);
    // history carries times and unlock the run's token; quiet steps (lock, inspect, health
    // commands, the manifest read before an upload) and uploads report no task:start in a real run: everything else is the same text
    const comparable = (host: string, steps: { task: string; command: string }[]) =>
      steps
        .filter((x) => !['history', 'unlock', 'lock', 'inspect', 'fresh id', 'manifest', 'upload', 'health'].includes(x.task))
        .map((x) => `${host} ${x.task}: ${x.command}`);
    for (const h of s.hosts) {
      const planned = comparable(h.name, plan.steps.get(h.name)!).map((l) => l.split('<current release>').join(first.release));
      const ran = comparable(
        h.name,
        real.events
          .filter((e): e is Extract<ShipEvent, { event: 'task:start' }> => e.event === 'task:start' && e.host === h.name)
          .map((e) => ({ task: e.task, command: e.command ?? '' })),
      );
      expect(planned).toEqual(ran);
    }
  });

  it('a rollback plan targets <previous good release>, or the --to id, on every host', async () => {
    const repo = fixtureRepo({ withApp: false });
    const s = stage(repo.dir);
    const env = { clock: fakeClock(), operator, redact: makeRedactor(s.secretValues), resolveRevision };
    const plan = await dryRunRollback(s, {}, env);
    expect(plan.target).toBe('<previous good release>');
    for (const h of s.hosts) {
      expect(tasksOf(plan, h.name)).toEqual([
        'connect/lock',
        'connect/inspect',
        'rollback/swap',
        'rollback/restart',
        'rollback/health',
        'rollback/mark failed',
        'rollback/history',
        'rollback/unlock',
      ]);
      expect(commandOf(plan, h.name, 'swap')).toContain(`ln -s -- ${h.deployTo}/releases/<previous good release> `);
      expect(commandOf(plan, h.name, 'mark failed')).toContain(`${h.deployTo}/releases/<current release>/.ship-failed`);
    }
    const to = await dryRunRollback(s, { to: '20261101000000' }, env);
    expect(to.target).toBe('20261101000000');
    expect(commandOf(to, 'h2', 'swap')).toContain('/releases/20261101000000 ');
  });

  it('a bad selection or git ref fails as the deploy would', async () => {
    const repo = fixtureRepo({ withApp: false });
    const s = stage(repo.dir);
    const env = { clock: fakeClock(), operator, redact: (t: string) => t, resolveRevision };
    await expect(dryRunDeploy(s, { roles: ['nope'] }, env)).rejects.toMatchObject({ exitCode: 2 });
    await expect(dryRunDeploy(s, { revision: 'no-such-branch' }, env)).rejects.toMatchObject({ exitCode: 1 });
  });
});

describe('--dry-run with a health check that must name the release', () => {
  it('plans a clean publish: the printed answer holds the filled {{release}} in body and header', async () => {
    const repo = fixtureRepo({ withApp: false });
    const check = {
      http: 'http://127.0.0.1:3000/health',
      expect: { status: 200, body: 'ok {{release}}', header: { 'X-Release': '{{release}}' } },
      timeoutMs: 1000,
      intervalMs: 100,
    };
    const s = localStage(repo.dir, 2, { health: check, healthChecks: [check] });
    const plan = await dryRunDeploy(s, {}, { clock: fakeClock(), operator, redact: makeRedactor([]), resolveRevision });
    expect(tasksOf(plan, 'h1')).not.toContain('rollback/swap');
    const health = plan.steps.get('h1')!.filter((st) => st.task === 'health');
    expect(health).toHaveLength(1);
    expect(health[0]!.note).toBe('from the host; healthy when HTTP 200 and the body holds "ok 20261122021500" and header X-Release holds "20261122021500"');
  });
});
