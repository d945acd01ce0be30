import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.js';
import { rollback } from '../../src/deploy/rollback.js';
import { lockStage, unlockStage } from '../../src/ops/status.js';
import { DeployError, InterruptedError, LockedError, RollbackFailedError, RolledBackError } from '../../src/errors.js';
import { fixtureRepo } from '../helpers/repo.js';
import { fakeClock, localStage, realGit, recordingEnv, task, taskTrail } from '../helpers/stage.js';

const currentOf = (deployTo: string) => (existsSync(join(deployTo, 'current')) ? readlinkSync(join(deployTo, 'current')).split('/').at(-1) : undefined);
const releasesOf = (deployTo: string) => (existsSync(join(deployTo, 'releases')) ? readdirSync(join(deployTo, 'releases')).sort() : []);
const historyOf = (deployTo: string) =>
  readFileSync(join(deployTo, '.ship', 'history.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('deploy protocol (flow, recorded per host)', () => {
  it('runs the same steps on every host, in one script per phase, and publishes one release id everywhere', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 2, {
      tasks: { build: task('build', 'echo building {{release}} > built.txt'), restart: task('restart', 'echo restarted') },
    });
    const rec = recordingEnv(stage);
    const r = await deploy(stage, {}, rec.env, realGit);
    expect(r.release).toBe('20261122021500');
    expect(r.revision).toBe(repo.head());
    for (const h of stage.hosts) {
      expect(currentOf(h.deployTo)).toBe('20261122021500');
      expect(readFileSync(join(h.deployTo, 'releases', r.release, 'REVISION'), 'utf8')).toBe(`${repo.head()}\n`);
      expect(readFileSync(join(h.deployTo, 'releases', r.release, 'built.txt'), 'utf8')).toBe('building 20261122021500\n');
      expect(readlinkSync(join(h.deployTo, 'releases', r.release, 'log'))).toBe(join(h.deployTo, 'shared', 'log'));
      expect(existsSync(join(h.deployTo, '.ship', 'lock'))).toBe(false);
      expect(historyOf(h.deployTo)).toMatchObject([
        { action: 'deploy', release: r.release, revision: repo.head(), result: 'deployed', user: 'tester', host: h.name },
      ]);
    }
    expect(taskTrail(rec.events)).toEqual({
      h1: ['revision', 'app env', 'link shared', 'build', 'prepared', 'swap', 'restart', 'history', 'unlock'],
      h2: ['revision', 'app env', 'link shared', 'build', 'prepared', 'swap', 'restart', 'history', 'unlock'],
    });
    // one round trip per host per phase: lock+inspect, prepare, migrate (empty: skipped), publish, finish
    expect(rec.scripts.filter((s) => s.host === 'h1')).toHaveLength(4);
    const build = rec.events.find((e) => e.event === 'task:start' && e.task === 'build' && e.host === 'h1');
    expect(build).toMatchObject({
      command: `( set -e; cd -- ${stage.hosts[0]!.deployTo}/releases/20261122021500; { echo building 20261122021500 > built.txt; } )`,
    });
  });

  it('strategy remote: the code rides in each lock script; the leader delivers right after its own lock', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 3, { strategy: 'remote' });
    const rec = recordingEnv(stage);
    const r = await deploy(stage, {}, rec.env, realGit);
    expect(r.release).toBe('20261122021500');
    for (const h of stage.hosts) {
      expect(currentOf(h.deployTo)).toBe(r.release);
      expect(releasesOf(h.deployTo)).toEqual([r.release]);
      expect(existsSync(join(h.deployTo, 'releases', r.release, '.ship-preparing'))).toBe(false);
    }
    const trail = ['update', 'revision', 'app env', 'link shared', 'prepared', 'swap', 'history', 'unlock'];
    expect(taskTrail(rec.events)).toEqual({ h1: trail, h2: trail, h3: trail });
    const scripts = (host: string) => rec.scripts.filter((x) => x.host === host).map((x) => x.script);
    // a non-leader: lock, inspect and the code in one script, then publish, then finish
    expect(scripts('h2')).toHaveLength(3);
    expect(scripts('h2')[0]).toMatch(/mkdir -m 700 -- \S+\/\.ship\/lock[\s\S]*git --git-dir=\S+ archive/);
    // the leader: lock and inspect alone (the id comes from what it holds), then its code
    expect(scripts('h1')).toHaveLength(4);
    expect(scripts('h1')[0]).not.toContain('archive');
    expect(scripts('h1')[1]).toContain('archive');
    // the lock is reported before the code that rides on it
    const h2 = rec.events.filter((e) => 'host' in e && e.host === 'h2').map((e) => (e.event === 'task:start' ? e.task : e.event));
    expect(h2.slice(0, 3)).toEqual(['host:connect', 'lock', 'update']);
  });

  it("strategy remote, two deploys in one second: the next id after the leader's fits every host, no second delivery", async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 3, { strategy: 'remote' });
    const clock = fakeClock();
    await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    const rec = recordingEnv(stage, { clock });
    const b = await deploy(stage, {}, rec.env, realGit);
    expect(b.release).toBe('20261122021501');
    expect(taskTrail(rec.events).h2!.filter((t) => t === 'update')).toHaveLength(1);
    for (const h of stage.hosts) expect(releasesOf(h.deployTo)).toEqual(['20261122021500', '20261122021501']);
  });

  it("strategy remote, --lock-wait: while waiting, hosts are only locked and looked at; the code goes out once, under an id after the other run's", async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 3, { strategy: 'remote' });
    await lockStage(stage, { hosts: ['h3'], reason: 'another run' }, recordingEnv(stage).env);
    const clock = fakeClock();
    // while we wait, that other run deploys a release from the future and unlocks
    const base = recordingEnv(stage, { clock });
    const env = {
      ...base.env,
      lockWaitMs: 60_000,
      clock: {
        ...clock,
        sleep: async (ms: number) => {
          for (const h of stage.hosts) mkdirSync(join(h.deployTo, 'releases', '20261122120000'), { recursive: true });
          await unlockStage(stage, { hosts: ['h3'], alive: () => false }, recordingEnv(stage).env);
          clock.advance(ms);
        },
      },
    };
    const r = await deploy(stage, {}, env, realGit);
    expect(r.release).toBe('20261122120001');
    // the first try delivered on h1 and h2 in their lock scripts and took it back; the try that
    // got every lock delivered in the prepare phase, once per host
    const started = base.events.findIndex((e) => e.event === 'deploy:start');
    const updates = (from: number, to: number) =>
      base.events
        .slice(from, to)
        .filter((e) => e.event === 'task:start' && e.task === 'update')
        .map((e) => (e as { host: string }).host);
    expect(updates(0, started).sort()).toEqual(['h1', 'h2']);
    expect(updates(started, base.events.length).sort()).toEqual(['h1', 'h2', 'h3']);
    for (const h of stage.hosts) {
      // the first try's release (made on h1 and h2 under the lock) was removed before waiting
      expect(releasesOf(h.deployTo)).toEqual(['20261122120000', '20261122120001']);
      expect(currentOf(h.deployTo)).toBe(r.release);
    }
  });

  it('strategy remote, the fleet cannot be opened: the release made in a lock script is taken back, never one this run did not make', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 3, { strategy: 'remote' });
    // h2 already holds a release with the very id the leader's (empty) state gives: clock skew
    const theirs = join(stage.hosts[1]!.deployTo, 'releases', '20261122021500');
    mkdirSync(theirs, { recursive: true });
    writeFileSync(join(theirs, 'REVISION'), 'theirs\n');
    await lockStage(stage, { hosts: ['h3'], reason: 'another run' }, recordingEnv(stage).env);
    const rec = recordingEnv(stage);
    await expect(deploy(stage, {}, rec.env, realGit)).rejects.toBeInstanceOf(LockedError);
    expect(rec.events.filter((e) => e.event === 'task:start' && e.task === 'update').map((e) => (e as { host: string }).host)).toEqual(['h1']);
    expect(releasesOf(stage.hosts[0]!.deployTo)).toEqual([]); // ours: taken back
    expect(readFileSync(join(theirs, 'REVISION'), 'utf8')).toBe('theirs\n'); // refused by h2's guard: untouched
    for (const h of stage.hosts.slice(0, 2)) expect(existsSync(join(h.deployTo, '.ship', 'lock'))).toBe(false);
  });

  it('strategy remote: the stage env reaches git in the lock scripts; a leader ship will refuse gets nothing sent anywhere', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 3, { strategy: 'remote', env: { HTTPS_PROXY: 'http://proxy.internal:3128' } });
    const rec = recordingEnv(stage);
    await deploy(stage, {}, rec.env, realGit);
    for (const host of ['h1', 'h2', 'h3']) {
      const delivering = rec.scripts.find((x) => x.host === host && x.script.includes(' archive '))!;
      expect(delivering.script).toContain('export HTTPS_PROXY=http://proxy.internal:3128');
    }
    const refused = localStage(repo.dir, 3, { strategy: 'remote' });
    mkdirSync(join(refused.hosts[0]!.deployTo, 'current'), { recursive: true });
    const again = recordingEnv(refused);
    await expect(deploy(refused, {}, again.env, realGit)).rejects.toBeInstanceOf(DeployError);
    expect(again.scripts.filter((x) => x.script.includes(' archive ') || x.script.includes('clone --mirror'))).toEqual([]);
    for (const h of refused.hosts) expect(existsSync(join(h.deployTo, 'repo'))).toBe(false);
  });

  it('strategy remote, Ctrl-C while the lock scripts deliver the code: exit 130, every delivered release taken back, no lock left', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 3, { strategy: 'remote' });
    const ac = new AbortController();
    const rec = recordingEnv(stage, { signal: ac.signal });
    // interrupted as soon as one host has its code: the others are mid-script, or done
    const env = {
      ...rec.env,
      emit: (e: Parameters<typeof rec.env.emit>[0]) => {
        rec.env.emit(e);
        if (e.event === 'task:end' && e.task === 'update' && e.host === 'h2') ac.abort(new Error('interrupted by SIGINT'));
      },
    };
    const err = await deploy(stage, {}, env, realGit).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).exitCode).toBe(130);
    for (const h of stage.hosts) {
      expect(releasesOf(h.deployTo)).toEqual([]);
      expect(existsSync(join(h.deployTo, '.ship', 'lock'))).toBe(false);
      expect(currentOf(h.deployTo)).toBeUndefined();
    }
  });

  it('a build failing on one host changes no host, removes the release everywhere and unlocks (exit 1)', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 3, { tasks: { build: task('build', 'if [ "$SHIP_HOST" = h2 ]; then echo "npm ERR! boom" >&2; exit 3; fi') } });
    const clock = fakeClock();
    const first = await deploy({ ...stage, tasks: {} }, {}, recordingEnv(stage, { clock }).env, realGit);
    clock.advance(60_000);
    const rec = recordingEnv(stage, { clock });
    const err = await deploy(stage, {}, rec.env, realGit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as DeployError).exitCode).toBe(1);
    expect((err as DeployError).details.join('\n')).toMatch(/build failed on h2 \(exit 3\).*\n.*npm ERR! boom/);
    for (const h of stage.hosts) {
      expect(currentOf(h.deployTo)).toBe(first.release);
      expect(releasesOf(h.deployTo)).toEqual([first.release]);
      expect(existsSync(join(h.deployTo, '.ship', 'lock'))).toBe(false);
      expect(historyOf(h.deployTo).at(-1)).toMatchObject({ result: 'failed', release: '20261122021600' });
    }
  });

  it('a failed health check puts every host back, marks the release failed, exit 3; rollback skips it', async () => {
    const repo = fixtureRepo();
    const health = { command: '[ ! -e UNHEALTHY ]', expect: { status: 200 }, timeoutMs: 1000, intervalMs: 200 };
    const stage = localStage(repo.dir, 2, { health, tasks: { restart: task('restart', 'echo restart {{release}} >> {{shared_path}}/restarts') } });
    const clock = fakeClock();
    const one = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    clock.advance(60_000);
    const two = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    clock.advance(60_000);
    repo.commit({ UNHEALTHY: 'yes' });
    const rec = recordingEnv(stage, { clock });
    const err = await deploy(stage, {}, rec.env, realGit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect((err as RolledBackError).exitCode).toBe(3);
    expect((err as RolledBackError).current).toEqual({ h1: two.release, h2: two.release });
    for (const h of stage.hosts) {
      expect(currentOf(h.deployTo)).toBe(two.release);
      expect(existsSync(join(h.deployTo, 'releases', '20261122021700', '.ship-failed'))).toBe(true);
      expect(
        readFileSync(join(h.deployTo, 'shared', 'restarts'), 'utf8')
          .trim()
          .split('\n'),
      ).toEqual([
        `restart ${one.release}`,
        `restart ${two.release}`,
        'restart 20261122021700',
        `restart ${two.release}`, // restarted on the way back
      ]);
      expect(historyOf(h.deployTo).at(-1)).toMatchObject({ result: 'rolled-back', release: '20261122021700', previous: two.release });
    }
    const healthEvents = rec.events.filter((e) => e.event === 'health' && e.final);
    expect(healthEvents.some((e) => e.event === 'health' && !e.ok && /command exited 1/.test(e.detail))).toBe(true);
    // the failed release is never a rollback target: rollback goes from two to one
    const rb = await rollback(stage, {}, recordingEnv(stage, { clock }).env);
    expect(rb.release).toBe(one.release);
    for (const h of stage.hosts) {
      expect(currentOf(h.deployTo)).toBe(one.release);
      expect(existsSync(join(h.deployTo, 'releases', two.release, '.ship-failed'))).toBe(true);
    }
  });

  it('canary: a failing canary is put back and no other host is touched', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 3, {
      rollout: { canary: 1 },
      health: { command: '[ ! -e UNHEALTHY ]', expect: { status: 200 }, timeoutMs: 300, intervalMs: 100 },
    });
    const clock = fakeClock();
    const one = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    clock.advance(60_000);
    repo.commit({ UNHEALTHY: 'yes' });
    const rec = recordingEnv(stage, { clock });
    await expect(deploy(stage, {}, rec.env, realGit)).rejects.toBeInstanceOf(RolledBackError);
    const published = rec.events.filter((e) => e.event === 'publish').map((e) => e.event === 'publish' && e.host);
    expect(published).toEqual(['h1']);
    for (const h of stage.hosts) expect(currentOf(h.deployTo)).toBe(one.release);
  });

  it('batches: when the second batch fails the first batch is rolled back too', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 4, {
      rollout: { batch: 2 },
      health: { command: '[ "$SHIP_HOST" != h3 ] || [ "$SHIP_RELEASE" = 20261122021500 ]', expect: { status: 200 }, timeoutMs: 300, intervalMs: 100 },
    });
    const clock = fakeClock();
    const one = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    clock.advance(60_000);
    const rec = recordingEnv(stage, { clock });
    await expect(deploy(stage, {}, rec.env, realGit)).rejects.toBeInstanceOf(RolledBackError);
    expect(rec.events.filter((e) => e.event === 'publish').map((e) => e.event === 'publish' && [e.host, e.batch])).toEqual([
      ['h1', 1],
      ['h2', 1],
      ['h3', 2],
      ['h4', 2],
    ]);
    for (const h of stage.hosts) expect(currentOf(h.deployTo)).toBe(one.release);
  });

  it('migrate runs once, on the primary db host, after backup, before any swap', async () => {
    const repo = fixtureRepo();
    const stage = localStage(
      repo.dir,
      3,
      {
        tasks: {
          backup: task('backup', 'echo backup >> {{shared_path}}/../../ran', { roles: ['db'], once: true }),
          migrate: task('migrate', 'echo "migrate on $SHIP_HOST; current=$(readlink {{current_path}} || echo none)" >> {{shared_path}}/../../ran', {
            roles: ['db'],
            once: true,
          }),
        },
      },
      [{}, { roles: ['db'] }, { roles: ['db'] }],
    );
    const rec = recordingEnv(stage);
    const r = await deploy(stage, {}, rec.env, realGit);
    expect(r.migrated).toBe(true);
    const ran = readFileSync(join(stage.configDir, 'ran'), 'utf8').trim().split('\n');
    expect(ran).toEqual(['backup', 'migrate on h2; current=none']);
    expect(taskTrail(rec.events).h2).toEqual([
      'revision',
      'app env',
      'link shared',
      'prepared',
      'backups dir',
      'backup',
      'prune backups',
      'migrate',
      'swap',
      'mark migrated',
      'history',
      'unlock',
    ]);
  });

  it('refuses a locked stage with who holds it (exit 4) and changes nothing', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 2);
    await lockStage(stage, { reason: 'db maintenance' }, recordingEnv(stage).env);
    const err = await deploy(stage, {}, recordingEnv(stage).env, realGit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as LockedError).exitCode).toBe(4);
    expect((err as LockedError).details[0]).toMatch(/^h1: held by tester on ci-box \(pid 4242, lock\) since .*: db maintenance$/);
    for (const h of stage.hosts) expect(releasesOf(h.deployTo)).toEqual([]);
    const un = await unlockStage(stage, { alive: () => false }, recordingEnv(stage).env);
    expect(un.map((u) => u.host)).toEqual(['h1', 'h2']);
    await deploy(stage, {}, recordingEnv(stage).env, realGit);
  });

  it('a lock held on one host only: the locks taken on the others are given back', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 3);
    await lockStage(stage, { hosts: ['h2'] }, recordingEnv(stage).env);
    await expect(deploy(stage, {}, recordingEnv(stage).env, realGit)).rejects.toBeInstanceOf(LockedError);
    expect(existsSync(join(stage.hosts[0]!.deployTo, '.ship', 'lock'))).toBe(false);
    expect(existsSync(join(stage.hosts[1]!.deployTo, '.ship', 'lock'))).toBe(true);
    expect(existsSync(join(stage.hosts[2]!.deployTo, '.ship', 'lock'))).toBe(false);
  });

  it('prunes to keep_releases, never the current one', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 1, { keepReleases: 2 });
    const clock = fakeClock();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit)).release);
      clock.advance(1000);
    }
    expect(releasesOf(stage.hosts[0]!.deployTo)).toEqual(ids.slice(2));
  });

  it('takes the next free second when the release id exists (two deploys in one second)', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 1);
    const clock = fakeClock();
    const a = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    const b = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    expect([a.release, b.release]).toEqual(['20261122021500', '20261122021501']);
  });

  it('removes a half-made release left by a killed run', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 1);
    const clock = fakeClock();
    const rec = recordingEnv(stage, { clock });
    await deploy(stage, {}, rec.env, realGit);
    // simulate a dead run: a release dir still marked as being prepared
    const dead = join(stage.hosts[0]!.deployTo, 'releases', '20261122021000');
    mkdirSync(dead);
    writeFileSync(join(dead, '.ship-preparing'), '');
    clock.advance(60_000);
    await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    expect(existsSync(dead)).toBe(false);
  });

  it('never prints a secret: events are redacted, the value reaches the task environment', async () => {
    const repo = fixtureRepo();
    const secret = "s3cr3t'$(pw)";
    const stage = localStage(repo.dir, 1, {
      env: { DATABASE_URL: secret },
      secrets: ['DATABASE_URL'],
      secretValues: [secret],
      tasks: { build: task('build', ['echo "url=$DATABASE_URL"', 'printf %s "$DATABASE_URL" > seen']) },
    });
    const rec = recordingEnv(stage);
    await deploy(stage, {}, rec.env, realGit);
    const seen = readFileSync(join(stage.hosts[0]!.deployTo, 'current', 'seen'), 'utf8');
    expect(seen).toBe(secret);
    const all = JSON.stringify(rec.events);
    expect(all).not.toContain('s3cr3t');
    expect(all).toContain('url=[REDACTED]');
  });

  it('migrate with when_changed is skipped when the path is identical to the current release', async () => {
    const repo = fixtureRepo();
    repo.commit({ 'db/migrations/001.sql': 'create table a;' });
    const stage = localStage(repo.dir, 1, {
      tasks: { migrate: task('migrate', 'echo "migrated {{release}}" >> {{shared_path}}/migrations.log', { once: true, whenChanged: ['db/migrations'] }) },
    });
    const clock = fakeClock();
    const one = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    expect(one.migrated).toBe(true); // first deploy: nothing to compare with
    clock.advance(60_000);
    repo.commit({ 'app.js': 'changed' });
    const two = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    expect(two.migrated).toBe(false);
    clock.advance(60_000);
    repo.commit({ 'db/migrations/002.sql': 'create table b;' });
    const three = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    expect(three.migrated).toBe(true);
    const log = readFileSync(join(stage.hosts[0]!.deployTo, 'shared', 'migrations.log'), 'utf8');
    expect(log).toBe(`migrated ${one.release}\nmigrated ${three.release}\n`);
    expect(historyOf(stage.hosts[0]!.deployTo).map((h) => h.migrated ?? false)).toEqual([true, false, true]);
    expect(existsSync(join(stage.hosts[0]!.deployTo, 'releases', two.release, '.ship-migrated'))).toBe(false);
    expect(existsSync(join(stage.hosts[0]!.deployTo, 'releases', three.release, '.ship-migrated'))).toBe(true);
  });

  it('a when_changed task that finds nothing changed ends as skipped, not failed, remote or local', async () => {
    const repo = fixtureRepo();
    repo.commit({ 'assets/site.css': 'a {}' });
    const stage = localStage(repo.dir, 1, {
      tasks: {
        restart: task('restart', 'true', { whenChanged: ['assets'] }),
        assets: task('assets', 'echo built', { local: true, whenChanged: ['assets'] }),
      },
      hooks: { 'after:publish': [{ task: 'assets' }] },
    });
    const clock = fakeClock();
    await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    clock.advance(60_000);
    repo.commit({ 'app.js': 'changed' });
    const rec = recordingEnv(stage, { clock });
    await deploy(stage, {}, rec.env, realGit);
    const ends = rec.events.filter((e) => e.event === 'task:end' && (e.task === 'restart' || e.task === 'assets'));
    expect(ends.map((e) => e.event === 'task:end' && [e.host, e.task, e.exitCode, e.skipped])).toEqual([
      ['h1', 'restart', 0, true],
      ['local', 'assets', 0, true],
    ]);
    expect(rec.events.some((e) => e.event === 'log' && e.level === 'warn')).toBe(false);
  });

  it('backups go to shared/backups, only the newest backup_keep are kept', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 1, {
      vars: { backup_keep: '2' },
      tasks: {
        backup: task('backup', 'echo dump > {{backup_path}}/db-{{release}}.sql', { once: true }),
        migrate: task('migrate', 'true', { once: true }),
      },
    });
    const clock = fakeClock();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit)).release);
      clock.advance(2000);
      await new Promise((r) => setTimeout(r, 1100)); // ls -t orders by mtime, to the second on some filesystems
    }
    expect(readdirSync(join(stage.hosts[0]!.deployTo, 'shared', 'backups')).sort()).toEqual(ids.slice(2).map((id) => `db-${id}.sql`));
  });

  it("when the way back fails too: exit 5, and every host's current is listed", async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 2, {
      health: { command: '[ ! -e {{shared_path}}/sick ]', expect: { status: 200 }, timeoutMs: 200, intervalMs: 100 },
    });
    const clock = fakeClock();
    const one = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit);
    clock.advance(60_000);
    for (const h of stage.hosts) writeFileSync(join(h.deployTo, 'shared', 'sick'), ''); // now nothing is healthy
    const err = await deploy(stage, {}, recordingEnv(stage, { clock }).env, realGit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RollbackFailedError);
    expect((err as RollbackFailedError).exitCode).toBe(5);
    expect((err as RollbackFailedError).details).toEqual(expect.arrayContaining([`h1: current = ${one.release}`, `h2: current = ${one.release}`]));
    for (const h of stage.hosts) {
      expect(currentOf(h.deployTo)).toBe(one.release); // swapped back, but unhealthy there too
      expect(existsSync(join(h.deployTo, '.ship', 'lock'))).toBe(false);
    }
  });

  it('health checks can be limited to roles: each host passes the checks of its roles', async () => {
    const repo = fixtureRepo();
    const base = { expect: { status: 200 }, timeoutMs: 200, intervalMs: 100 };
    const checks = [
      { ...base, command: 'true', roles: ['web'] },
      { ...base, command: '[ -e {{shared_path}}/worker-up ]', roles: ['worker'] },
    ];
    const stage = localStage(repo.dir, 2, { healthChecks: checks }, [{}, { roles: ['worker'] }]);
    const err = await deploy(stage, {}, recordingEnv(stage).env, realGit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RolledBackError);
    expect((err as RolledBackError).details[0]).toMatch(/^health check failed on h2 after \d+ attempt\(s\): command exited 1/);
    writeFileSync(join(stage.hosts[1]!.deployTo, 'shared', 'worker-up'), '');
    const rec = recordingEnv(stage);
    await deploy(stage, {}, rec.env, realGit);
    const finals = rec.events.filter((e) => e.event === 'health' && e.final).map((e) => e.event === 'health' && e.host);
    expect(finals.sort()).toEqual(['h1', 'h2']); // one check each: web on h1, worker on h2
  });

  it('hooks: before:deploy and before:publish on the hosts, local tasks once here with the facts, after:publish and after:deploy', async () => {
    const repo = fixtureRepo();
    const log = join(mkdtempSync(join(tmpdir(), 'ship-hooks-')), 'log');
    const stage = localStage(repo.dir, 2, {
      tasks: {
        assets: task('assets', `echo "assets $SHIP_RELEASE $SHIP_HOSTS" >> ${log}`, { local: true }),
        notify: task('notify', `echo "notify {{release}} $SHIP_REVISION $SHIP_RESULT by $SHIP_USER" >> ${log}`, { local: true }),
      },
      hooks: {
        'before:deploy': [{ inline: task('before:deploy[0]', `echo "before-deploy $SHIP_HOST" >> ${log}`) }],
        'before:build': [{ task: 'assets' }],
        'before:publish': [{ inline: task('before:publish[0]', `echo "before-publish $SHIP_HOST $(cat REVISION)" >> ${log}`, { roles: ['web'], once: true }) }],
        'after:publish': [{ task: 'notify' }],
        'after:deploy': [{ inline: task('after:deploy[0]', `echo "after-deploy $SHIP_HOST" >> ${log}`, { once: true }) }],
      },
    });
    const r = await deploy(stage, {}, recordingEnv(stage).env, realGit);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines.slice(0, 2).sort()).toEqual(['before-deploy h1', 'before-deploy h2']);
    expect(lines.slice(2)).toEqual([
      `assets ${r.release} h1,h2`,
      `before-publish h1 ${r.revision}`,
      `notify ${r.release} ${r.revision} deployed by tester`,
      'after-deploy h1',
    ]);
  });

  it('a failing before:publish hook aborts before any swap; after:failure hooks run with the result', async () => {
    const repo = fixtureRepo();
    const log = join(mkdtempSync(join(tmpdir(), 'ship-hooks-')), 'log');
    const stage = localStage(repo.dir, 2, {
      hooks: {
        'before:publish': [{ inline: task('before:publish[0]', 'echo "smoke test failed" >&2; exit 4', { once: true }) }],
        'after:failure': [{ inline: task('after:failure[0]', `echo "failure $SHIP_RESULT {{release}}" >> ${log}`, { local: true }) }],
      },
    });
    const err = await deploy(stage, {}, recordingEnv(stage).env, realGit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as DeployError).details[0]).toMatch(/before:publish\[0\] failed on h1 \(exit 4\)[\s\S]*smoke test failed/);
    for (const h of stage.hosts) {
      expect(currentOf(h.deployTo)).toBeUndefined();
      expect(releasesOf(h.deployTo)).toEqual([]);
    }
    expect(readFileSync(log, 'utf8')).toBe('failure failed 20261122021500\n');
  });

  it('warns about hook keys ship never runs instead of skipping them silently', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 1, { hooks: { 'after:health': [{ inline: task('x', 'true') }] } });
    const rec = recordingEnv(stage);
    await deploy(stage, {}, rec.env, realGit);
    expect(rec.events).toContainEqual({ event: 'log', level: 'warn', message: expect.stringMatching(/hook after:health is not run by ship/) });
  });

  it('refuses a host whose current is a real directory before anything changes, and leaves it alone (exit 1)', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 2);
    mkdirSync(join(stage.hosts[1]!.deployTo, 'current'), { recursive: true });
    writeFileSync(join(stage.hosts[1]!.deployTo, 'current', 'precious'), 'data');
    const err = await deploy(stage, {}, recordingEnv(stage).env, realGit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as DeployError).details).toEqual([
      expect.stringMatching(/^h2: .*\/current is a real directory, not a symlink: move it away by hand; ship will not delete it$/),
    ]);
    expect(readFileSync(join(stage.hosts[1]!.deployTo, 'current', 'precious'), 'utf8')).toBe('data');
    for (const h of stage.hosts) {
      expect(existsSync(join(h.deployTo, '.ship', 'lock'))).toBe(false);
      expect(releasesOf(h.deployTo)).toEqual([]);
    }
  });

  it('a finish script that fails before its unlock step still leaves the stage unlocked', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 1);
    const rec = recordingEnv(stage, { fault: (_h, script) => (script.includes('"result":"deployed"') ? 1 : undefined) /* the finish script */ });
    await deploy(stage, {}, rec.env, realGit);
    expect(existsSync(join(stage.hosts[0]!.deployTo, '.ship', 'lock'))).toBe(false);
    expect(rec.events).toContainEqual(expect.objectContaining({ event: 'log', level: 'warn', message: expect.stringMatching(/finish step failed/) }));
  });

  it('refuses a host whose current points outside its releases (ship could not put it back)', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 1);
    mkdirSync(join(stage.hosts[0]!.deployTo, 'elsewhere'), { recursive: true });
    symlinkSync(join(stage.hosts[0]!.deployTo, 'elsewhere'), join(stage.hosts[0]!.deployTo, 'current'));
    const err = await deploy(stage, {}, recordingEnv(stage).env, realGit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as DeployError).details[0]).toMatch(/current points to .*elsewhere, not to a release/);
    expect(readlinkSync(join(stage.hosts[0]!.deployTo, 'current'))).toBe(join(stage.hosts[0]!.deployTo, 'elsewhere'));
    expect(existsSync(join(stage.hosts[0]!.deployTo, '.ship', 'lock'))).toBe(false);
  });
});
