/**
 * The local stage end to end: the built CLI deploys the example app on this machine, starts
 * it, health-checks it over HTTP, and rolls it back.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShip } from '../helpers/cli.js';
import { signalPid } from '../helpers/fleet/index.js';
import { fixtureRepo, ROOT, type FixtureRepo } from '../helpers/repo.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('ship deploy local (the example app on this machine)', () => {
  let repo: FixtureRepo;
  let work: string;
  let port: number;
  const deployTo = () => join(work, '.ship', 'local');
  const pids: number[] = [];

  beforeAll(async () => {
    repo = fixtureRepo();
    work = mkdtempSync(join(tmpdir(), 'ship-local-'));
    port = await freePort();
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: example
repo: ${repo.dir}
recipe: node
shared:
  dirs: [log]
vars:
  port: ${port}
  restart_with: command
  restart_command: PORT=${port} sh bin/restart
health:
  http: http://127.0.0.1:{{port}}/health
  # the release must prove it is the one answering (a local host: headers through fetch)
  expect: { status: 200, body: "ok {{release}}", header: { x-release: "{{release}}" } }
  timeout: 10s
  interval: 200ms
stages:
  local:
    strategy: upload
    hosts:
      - { host: localhost, local: true, deploy_to: ./.ship/local }
`,
    );
  });
  afterAll(() => {
    const pidfile = join(deployTo(), 'shared', 'app.pid');
    if (existsSync(pidfile)) pids.push(Number(readFileSync(pidfile, 'utf8')));
    // An empty pid file reads as 0, which process.kill takes for our own process group.
    for (const p of pids) signalPid(p, 'SIGKILL');
  });

  const ship = (...args: string[]) => runShip(args, { cwd: work, env: { HOME: work } });
  const current = () => readlinkSync(join(deployTo(), 'current')).split('/').at(-1);
  const releases = () => readdirSync(join(deployTo(), 'releases')).sort();
  const get = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, body: await r.text() };
  };

  let first = '';
  let second = '';

  it('deploys, starts the app and health-checks it', async () => {
    const r = await ship('deploy', 'local');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/healthy: HTTP 200/);
    expect(r.stdout).not.toMatch(/\u001b\[/); // not a terminal: no escape codes
    first = current()!;
    expect(releases()).toEqual([first]);
    expect(readFileSync(join(deployTo(), 'current', 'REVISION'), 'utf8').trim()).toBe(repo.head());
    const h = await get('/health');
    expect(h).toEqual({ status: 200, body: `ok ${first} ${repo.head()}\n` });
    const history = readFileSync(join(deployTo(), '.ship', 'history.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(JSON.parse(history[0]!)).toMatchObject({ action: 'deploy', release: first, result: 'deployed', revision: repo.head() });
  });

  it('a second deploy makes a new release and restarts the app on it', async () => {
    repo.commit({ 'CHANGELOG.md': 'v2\n' });
    const r = await ship('deploy', 'local', '--json');
    expect(r.code, r.stderr).toBe(0);
    const events = r.events();
    for (const e of events) expect(Object.keys(e).slice(0, 3)).toEqual(['ts', 'event', 'stage']);
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['deploy:start', 'task:start', 'task:end', 'publish', 'health', 'deploy:end']));
    second = events.at(-1)!.release as string;
    expect(second > first).toBe(true);
    expect(current()).toBe(second);
    expect((await get('/health')).body).toBe(`ok ${second} ${repo.head()}\n`);
  });

  it('ship releases lists both, marking the current one', async () => {
    const r = await ship('releases', 'local');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`\\*\\s+${second}`));
    expect(r.stdout).toContain(`  ${first}`);
  });

  it('ship rollback local returns to the first release, app healthy', async () => {
    const r = await ship('rollback', 'local');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(current()).toBe(first);
    expect((await get('/health')).body).toMatch(new RegExp(`^ok ${first} `));
    expect(existsSync(join(deployTo(), 'releases', second, '.ship-failed'))).toBe(true);
  });

  it('a failing build changes nothing (exit 1) and removes the half-made release', async () => {
    const before = releases();
    // the lockfile is unchanged: the host's shared install must not hide a package.json that is not JSON
    repo.commit({ 'package.json': '{ this is not json' });
    const r = await ship('deploy', 'local');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/build failed on localhost \(exit \d+\)/);
    expect(r.stderr).toMatch(/no host was changed/);
    expect(current()).toBe(first);
    expect(releases()).toEqual(before);
    expect((await get('/health')).status).toBe(200);
  });

  it('a package.json out of step with its unchanged lockfile fails the build, as npm ci would, instead of reusing the install', async () => {
    const before = releases();
    const pkg = JSON.parse(readFileSync(join(ROOT, 'templates', 'example-app', 'package.json'), 'utf8')) as Record<string, unknown>;
    repo.commit({ 'package.json': `${JSON.stringify({ ...pkg, dependencies: { 'left-pad': '1.3.0' } }, null, 2)}\n` });
    const r = await ship('deploy', 'local');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/build failed on localhost \(exit \d+\)/);
    expect(current()).toBe(first);
    expect(releases()).toEqual(before);
  });

  it('a failing health check swaps back, restarts the previous release, exit 3', async () => {
    const original = (f: string) => readFileSync(join(ROOT, 'templates', 'example-app', f), 'utf8');
    repo.commit({ 'package.json': original('package.json'), 'package-lock.json': original('package-lock.json'), UNHEALTHY: 'yes\n' });
    const r = await ship('deploy', 'local', '--json');
    expect(r.code).toBe(3);
    const end = r.events().at(-1)!;
    expect(end, JSON.stringify(end)).toMatchObject({ event: 'deploy:end', ok: false, exitCode: 3, current: { localhost: first } });
    const failed = r.events().find((e) => e.event === 'deploy:start')!.release as string;
    expect(current()).toBe(first);
    expect(existsSync(join(deployTo(), 'releases', failed, '.ship-failed'))).toBe(true);
    expect((await get('/health')).body).toMatch(new RegExp(`^ok ${first} `));
    const health = r.events().filter((e) => e.event === 'health' && e.host === 'localhost');
    expect(health.some((e) => /HTTP 503/.test(String(e.detail)))).toBe(true);
  });
});

describe('bad input', () => {
  const work = mkdtempSync(join(tmpdir(), 'ship-bad-'));
  const ship = (...args: string[]) => runShip(args, { cwd: work, env: { HOME: work } });

  it('reports a misspelt key and a wrongly typed value together, with file:line:col (exit 2)', async () => {
    writeFileSync(
      join(work, 'deploy.yaml'),
      ['app: demo', 'repo: .', 'deploy_to: /srv/demo', 'keep_release: 5', 'concurrency: lots', 'stages:', '  production:', '    hosts: [web1]', ''].join('\n'),
    );
    const r = await ship('deploy', 'production');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/deploy\.yaml:4:1 keep_release: unknown key "keep_release" \(did you mean "keep_releases"\?\)/);
    expect(r.stderr).toMatch(/deploy\.yaml:5:14 concurrency: .*"lots"/);
  });

  it('reports broken YAML with line:col (exit 2)', async () => {
    writeFileSync(join(work, 'broken.yaml'), 'app: demo\nstages:\n  local: [\n');
    const r = await ship('--config', 'broken.yaml', 'deploy', 'local');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.yaml:\d+:\d+/);
  });

  it('lists the known stages for an unknown one (exit 2)', async () => {
    writeFileSync(
      join(work, 'deploy.yaml'),
      'app: demo\nrepo: .\ndeploy_to: /srv/demo\nstages:\n  production:\n    hosts: [web1]\n  staging:\n    hosts: [web2]\n',
    );
    const r = await ship('deploy', 'prod');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown stage "prod"/);
    expect(r.stderr).toMatch(/production, staging/);
  });

  it('exits 2 on an unknown flag, and says where the config was looked for when missing', async () => {
    expect((await ship('deploy', 'x', '--frobnicate')).code).toBe(2);
    const empty = mkdtempSync(join(tmpdir(), 'ship-empty-'));
    const r = await runShip(['deploy', 'local'], { cwd: empty, env: { HOME: empty } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/deploy\.yaml/);
  });

  it('a stage with confirm: true needs --yes when nobody can answer (exit 2), and deploys with it', async () => {
    const repo = fixtureRepo({ withApp: false });
    writeFileSync(
      join(work, 'confirm.yaml'),
      `app: demo\nrepo: ${repo.dir}\nconfirm: true\nstages:\n  local:\n    strategy: upload\n    hosts: [{ host: localhost, local: true, deploy_to: ./.ship/confirm }]\n`,
    );
    const refused = await ship('--config', 'confirm.yaml', 'deploy', 'local');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/asks for confirmation \(confirm: true\)[\s\S]*pass --yes/);
    expect(existsSync(join(work, '.ship', 'confirm', 'releases'))).toBe(false);
    const yes = await ship('--config', 'confirm.yaml', 'deploy', 'local', '--yes');
    expect(yes.code, yes.stderr).toBe(0);
  });

  it('--version and --help exit 0', async () => {
    const v = await ship('--version');
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = await ship('--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/deploy/);
  });
});

describe('a local task that leaves a background process holding its output', () => {
  it('the deploy ends with its scripts, not when that process exits (it keeps running)', async () => {
    const repo = fixtureRepo({ withApp: false });
    const work = mkdtempSync(join(tmpdir(), 'ship-local-bg-'));
    const pids = join(work, 'bg.pids');
    // without the fix each sleep holds the deploy for 600 s: far past the test's timeout
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: bg
repo: ${repo.dir}
tasks:
  build: |
    sleep 600 &
    echo $! >> ${pids}
    echo built
  restart: |
    sh -c 'sleep 600' &
    echo $! >> ${pids}
    echo "server started"
stages:
  local:
    hosts:
      - { host: localhost, local: true, deploy_to: ./.ship/local }
`,
    );
    try {
      const r = await runShip(['deploy', 'local', '--verbose'], { cwd: work, env: { HOME: work } });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('| server started');
      expect(r.stdout).toMatch(/deploy done: release \d{14}/);
      const running = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      expect(running).toHaveLength(2);
      for (const p of running) expect(signalPid(p, 0)).toBe(true); // still alive: the deploy did not wait for them
    } finally {
      if (existsSync(pids)) for (const p of readFileSync(pids, 'utf8').trim().split('\n').map(Number)) if (p > 0) signalPid(p, 'SIGKILL');
    }
  });
});
