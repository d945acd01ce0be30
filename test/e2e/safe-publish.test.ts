/**
 * Safe publishing on real sshd hosts: HTTP health checks through the SSH connection, fleet
 * rollback, canary, batches, a host killed mid-prepare, Ctrl-C, migrations once on the
 * primary, secrets kept out of output and process lists, two deploys at once.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runShip, SHIP_BIN } from '../helpers/cli.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { hostView } from '../helpers/fleet-stage.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

const SECRET = `p4ss'w"rd$(id)-${process.pid}`;

describe.skipIf(skipWithout('fleet'))('safe publishing over SSH', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;
  const basePort = 45100 + (process.pid % 500) * 4;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 51 });
    repo = fixtureRepo();
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(async () => {
    // fresh hosts: stop the apps of the previous test, empty /srv/app
    await Promise.all(
      fleet.hosts.map((h) =>
        fleet.ssh(
          h.index,
          `[ -f ${h.deployTo}/shared/app.pid ] && kill $(cat ${h.deployTo}/shared/app.pid) 2>/dev/null; rm -rf ${h.deployTo}/* ${h.deployTo}/.ship; true`,
        ),
      ),
    );
    work = mkdtempSync(join(tmpdir(), 'ship-safe-'));
  });

  const config = (opts: { tasks?: string; stage?: string } = {}) => {
    const hosts = fleet.hosts
      .map((h, i) => `      - { host: ${h.address}, roles: [${i === 2 ? 'web, db' : 'web, app'}], vars: { port: ${basePort + i} } }`)
      .join('\n');
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: demo
repo: ${repo.dir}
deploy_to: ${fleet.hosts[0]!.deployTo}
shared:
  dirs: [log]
ssh:
  user: ${fleet.user}
  identity: ${fleet.identityFile}
env:
  DATABASE_URL: \${TEST_DATABASE_URL}
secrets: [DATABASE_URL]
vars:
  build_sleep: 0
tasks:
  build: |
    sleep {{build_sleep}}
    printf '%s' "$DATABASE_URL" > secret-seen
  restart: |
    if [ -e FAIL_ON_THIRD ] && [ {{host}} = ${fleet.hosts[2]!.address} ]; then touch UNHEALTHY; fi
    if [ -e SLOW_RESTART ]; then sleep 4; fi
    PORT={{port}} sh bin/restart
${opts.tasks ?? ''}
health:
  http: "http://127.0.0.1:{{port}}/health"
  expect: { status: 200, body: ok }
  timeout: 4s
  interval: 250ms
stages:
  test:
${opts.stage ?? ''}    hosts:
${hosts}
`,
    );
  };
  const shipEnv = () => ({ HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile, TEST_DATABASE_URL: SECRET });
  const ship = (...args: string[]) => runShip(['--config', join(work, 'deploy.yaml'), ...args], { cwd: work, env: shipEnv() });
  const { at, current, releases, locked } = hostView(() => fleet);
  const all = [0, 1, 2];
  /** What the app on host i answers, asked from inside that host. */
  const health = async (i: number) =>
    (await fleet.ssh(i, `curl -s http://127.0.0.1:${basePort + i}/health || wget -qO- http://127.0.0.1:${basePort + i}/health`)).stdout;
  const deployOk = async () => {
    const r = await ship('deploy', 'test', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return r.events().at(-1)!.release as string;
  };

  /** Starts ship and resolves once a --json event matches, so a signal lands at a known step. */
  const startShip = (args: string[], until: (e: Record<string, unknown>) => boolean) => {
    const child = spawn(process.execPath, [SHIP_BIN, '--config', join(work, 'deploy.yaml'), ...args, '--json'], {
      cwd: work,
      env: { PATH: process.env.PATH, CI: 'true', ...shipEnv() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const reached = new Promise<void>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        for (const line of out.split('\n').slice(0, -1)) if (until(JSON.parse(line))) resolve();
      });
    });
    const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.on('close', (code) => resolve({ code, out, err })));
    return { child, reached, done };
  };

  it('a failing HTTP health check puts every host back, app answering, exit 3; the release is never a rollback target', async () => {
    config();
    const one = await deployOk();
    repo.commit({ 'v2.txt': '2' });
    const two = await deployOk();
    for (const i of all) expect(await health(i)).toMatch(new RegExp(`^ok ${two} `));
    repo.commit({ UNHEALTHY: 'yes' });
    const r = await ship('deploy', 'test', '--json');
    expect(r.code).toBe(3);
    const bad = r.events().find((e) => e.event === 'deploy:start')!.release as string;
    const attempts = r.events().filter((e) => e.event === 'health' && !e.ok);
    expect(attempts.some((e) => /HTTP 503 \(expected 200\)/.test(String(e.detail)))).toBe(true);
    expect(r.events().at(-1)).toMatchObject({ event: 'deploy:end', exitCode: 3, current: Object.fromEntries(fleet.hosts.map((h) => [h.address, two])) });
    for (const i of all) {
      expect(current(i)).toBe(two);
      expect(existsSync(at(i, `releases/${bad}/.ship-failed`))).toBe(true);
      expect(await health(i)).toMatch(new RegExp(`^ok ${two} `));
      expect(locked(i)).toBe(false);
    }
    const rb = await ship('rollback', 'test', '--json');
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.events().at(-1)).toMatchObject({ event: 'rollback:end', release: one });
    for (const i of all) expect(current(i)).toBe(one);
    repo.remove('UNHEALTHY');
  });

  it('canary: the canary fails and no other host is touched', async () => {
    config({ stage: '    rollout: { canary: 1 }\n' });
    const one = await deployOk();
    repo.commit({ UNHEALTHY: 'yes' });
    const r = await ship('deploy', 'test', '--json');
    expect(r.code).toBe(3);
    expect(
      r
        .events()
        .filter((e) => e.event === 'publish')
        .map((e) => e.host),
    ).toEqual([fleet.hosts[0]!.address]);
    for (const i of all) expect(current(i)).toBe(one);
    repo.remove('UNHEALTHY');
  });

  it('batches: the second batch fails, the first batch is rolled back too', async () => {
    config({ stage: '    rollout: { batch: 2 }\n' });
    const one = await deployOk();
    repo.commit({ FAIL_ON_THIRD: '' });
    const r = await ship('deploy', 'test', '--json');
    expect(r.code).toBe(3);
    expect(
      r
        .events()
        .filter((e) => e.event === 'publish')
        .map((e) => [e.host, e.batch]),
    ).toEqual([
      [fleet.hosts[0]!.address, 1],
      [fleet.hosts[1]!.address, 1],
      [fleet.hosts[2]!.address, 2],
    ]);
    for (const i of all) expect(current(i)).toBe(one);
    for (const i of [0, 1]) expect(await health(i)).toMatch(new RegExp(`^ok ${one} `));
    repo.remove('FAIL_ON_THIRD');
  });

  it('a host killed during prepare: exit 1, no host moved; after it returns and ship unlock, the next deploy cleans up', async () => {
    config();
    const one = await deployOk();
    writeFileSync(join(work, 'deploy.yaml'), readFileSync(join(work, 'deploy.yaml'), 'utf8').replace('build_sleep: 0', 'build_sleep: 3'));
    repo.commit({ 'v3.txt': '3' });
    const run = startShip(['deploy', 'test'], (e) => e.event === 'task:start' && e.task === 'build');
    await run.reached;
    await fleet.kill(1);
    const r = await run.done;
    expect(r.code, r.out + r.err).toBe(1);
    expect(r.err).toContain(fleet.hosts[1]!.address);
    for (const i of [0, 2]) {
      expect(current(i)).toBe(one);
      expect(releases(i)).toEqual([one]);
      expect(locked(i)).toBe(false);
    }
    await fleet.restart(1);
    expect(current(1)).toBe(one);
    expect(releases(1).length).toBe(2); // the half-made release is still there
    const refused = await ship('deploy', 'test');
    expect(refused.code).toBe(4); // its lock outlived the dead run...
    expect(refused.stderr).toMatch(/held by .* \(pid \d+, deploy\) since .* ago/);
    expect((await ship('unlock', 'test')).code).toBe(0); // ...until an operator removes it
    writeFileSync(join(work, 'deploy.yaml'), readFileSync(join(work, 'deploy.yaml'), 'utf8').replace('build_sleep: 3', 'build_sleep: 0'));
    const three = await deployOk();
    for (const i of all) {
      expect(current(i)).toBe(three);
      expect(releases(i)).toEqual([one, three]); // the leftover is gone
    }
  });

  /** Starts a deploy, sends SIGINT as the first host starts `task`; the run must end with 130. */
  const interruptAt = async (task: string) => {
    const run = startShip(['deploy', 'test'], (e) => e.event === 'task:start' && e.task === task);
    await run.reached;
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.code, r.err).toBe(130);
    return r;
  };
  /** Every host on `one`, holding only it, unlocked: nothing of the interrupted run is left. */
  const expectOnly = (one: string) => {
    for (const i of all) {
      expect(current(i)).toBe(one);
      expect(releases(i)).toEqual([one]);
      expect(locked(i)).toBe(false);
    }
  };

  it('Ctrl-C during prepare: nothing changes, locks released, exit 130', async () => {
    config();
    const one = await deployOk();
    writeFileSync(join(work, 'deploy.yaml'), readFileSync(join(work, 'deploy.yaml'), 'utf8').replace('build_sleep: 0', 'build_sleep: 5'));
    repo.commit({ 'v4.txt': '4' });
    const r = await interruptAt('build');
    expect(r.err).toMatch(/SIGINT: stopping safely/);
    expectOnly(one);
  });

  it('Ctrl-C while the lock scripts deliver the code: nothing changes, every delivered release is taken back, exit 130', async () => {
    config();
    const one = await deployOk();
    repo.commit({ 'big.bin': randomBytes(4_000_000).toString('base64') }); // a fetch and archive that take a while
    await interruptAt('update');
    expectOnly(one);
    repo.remove('big.bin');
  });

  it('Ctrl-C during publish: the published hosts are put back, exit 130', async () => {
    config();
    const one = await deployOk();
    repo.commit({ SLOW_RESTART: '' });
    await interruptAt('restart');
    for (const i of all) {
      expect(current(i)).toBe(one);
      expect(locked(i)).toBe(false);
    }
    for (const i of all) expect(await health(i)).toMatch(new RegExp(`^ok ${one} `));
    repo.remove('SLOW_RESTART');
  });

  it('migrate runs exactly once, on the primary, after backup; skipped when unchanged', async () => {
    config({
      tasks: [
        "  backup: { roles: [db], once: true, run: 'echo dump > {{backup_path}}/db-{{release}}.sql; echo backup >> {{shared_path}}/order' }",
        "  migrate: { roles: [db], once: true, when_changed: db, run: 'echo migrate >> {{shared_path}}/order' }",
      ].join('\n'),
    });
    repo.commit({ 'db/001.sql': 'create table t;' });
    const one = await deployOk();
    expect(readFileSync(at(2, 'shared/order'), 'utf8')).toBe('backup\nmigrate\n');
    for (const i of [0, 1]) expect(existsSync(at(i, 'shared/order'))).toBe(false);
    expect(readdirSync(at(2, 'shared/backups'))).toEqual([`db-${one}.sql`]);
    repo.commit({ 'app.txt': 'no schema change' });
    await deployOk();
    expect(readFileSync(at(2, 'shared/order'), 'utf8')).toBe('backup\nmigrate\nbackup\n'); // migrate skipped
  });

  it('a secret reaches the task environment and appears in no output nor in ps on the host', async () => {
    config();
    writeFileSync(join(work, 'deploy.yaml'), readFileSync(join(work, 'deploy.yaml'), 'utf8').replace('build_sleep: 0', 'build_sleep: 2'));
    repo.commit({ 'v5.txt': '5' });
    const run = startShip(['deploy', 'test', '--verbose'], (e) => e.event === 'task:start' && e.task === 'build' && e.host === fleet.hosts[0]!.address);
    await run.reached;
    const ps = await fleet.exec(0, 'ps -eo args');
    expect(ps.stdout).toContain('sleep'); // the build is running right now...
    expect(ps.stdout).not.toContain('p4ss'); // ...and the secret is in no process's argv
    const r = await run.done;
    expect(r.code, r.err).toBe(0);
    const id = (JSON.parse(r.out.trim().split('\n').at(-1)!) as { release: string }).release;
    expect(readFileSync(at(0, `releases/${id}/secret-seen`), 'utf8')).toBe(SECRET);
    expect(r.out + r.err).not.toContain('p4ss');
    const plain = await ship('--verbose', 'deploy', 'test');
    expect(plain.code).toBe(0);
    expect(plain.stdout + plain.stderr).not.toContain('p4ss');
    const hist = await ship('history', 'test', '--json');
    expect(hist.stdout).not.toContain('p4ss');
    expect(readFileSync(at(0, '.ship/history.jsonl'), 'utf8')).not.toContain('p4ss');
  });

  it('two deploys started at once: one exits 4, the hosts stay consistent', async () => {
    config();
    await deployOk();
    writeFileSync(join(work, 'deploy.yaml'), readFileSync(join(work, 'deploy.yaml'), 'utf8').replace('build_sleep: 0', 'build_sleep: 1'));
    repo.commit({ 'v6.txt': '6' });
    const [a, b] = await Promise.all([ship('deploy', 'test', '--json'), ship('deploy', 'test', '--json')]);
    expect([a.code, b.code].sort()).toEqual([0, 4]);
    const winner = (a.code === 0 ? a : b).events().at(-1)!.release as string;
    for (const i of all) {
      expect(current(i)).toBe(winner);
      expect(locked(i)).toBe(false);
    }
  });
});
