/**
 * restart_with: pm2, end to end: three real sshd hosts, each with its own home (so its own pm2
 * daemon), pm2 from the npm registry (installed by .ci/run). Proves that after a deploy every
 * host runs the new release under the app's name from `current`, with the stage's env
 * (secrets included) and in cluster mode; that a deploy whose app cannot start leaves the old
 * release running; that a rollback brings the previous release back with its own env; that
 * pm2 save ran. Every pm2 daemon the test started is killed at the end.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShip } from '../helpers/cli.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';
import { killPm2Daemons, pm2Apps, type Pm2App } from '../helpers/pm2.js';

const PORT = 39_410;
const SECRET = "postgres://app:s3cr'et@db/app";

/** An app without dependencies: answers with what it runs as; exits at start when CRASH is in its release. */
const SERVER = `import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
if (existsSync('CRASH')) { console.error('CRASH file present: exiting'); process.exit(1); }
createServer((req, res) => {
  const body = req.url === '/health' ? 'ok ' + process.env.SHIP_RELEASE : JSON.stringify({
    release: process.env.SHIP_RELEASE, greeting: process.env.GREETING, secret: process.env.DATABASE_URL, cwd: process.cwd(), nodeEnv: process.env.NODE_ENV,
  });
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(body);
}).listen(Number(process.env.PORT), process.env.BIND);
`;

describe.skipIf(skipWithout('fleet', 'pm2'))('restart_with: pm2 over SSH', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 101 });
    repo = fixtureRepo({ withApp: false });
    repo.commit({ 'server.mjs': SERVER, 'package.json': JSON.stringify({ name: 'demo', private: true, scripts: { start: 'node server.mjs' } }) });
    work = mkdtempSync(join(tmpdir(), 'ship-e2e-pm2-'));
  });
  afterAll(async () => {
    if (fleet) await killPm2Daemons(fleet);
    await fleet?.stop();
  });

  const config = (greeting: string, health = 'http://{{address}}:{{port}}/health') => {
    const hosts = fleet.hosts.map(
      (h, i) => `      - { host: ${h.address}, port: ${h.port}, roles: [${i === 2 ? 'db' : 'web, app'}], env: { BIND: ${h.address} } }`,
    );
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: demo
repo: ${repo.dir}
recipe: node
deploy_to: ${fleet.hosts[0]!.deployTo}
shared: { dirs: [log] }
ssh: { user: ${fleet.user}, identity: ${fleet.identityFile}, known_hosts: strict }
env:
  NODE_ENV: production
  PORT: "${PORT}"
  GREETING: ${greeting}
  DATABASE_URL: \${TEST_DATABASE_URL}
secrets: [DATABASE_URL]
vars: { restart_with: pm2, port: "${PORT}" }
health: { http: "${health}", timeout: 10s, interval: 500ms }
stages:
  test:
    hosts:
${hosts.join('\n')}
`,
    );
  };
  const ship = (...args: string[]) =>
    runShip(['--config', join(work, 'deploy.yaml'), ...args], {
      cwd: work,
      env: { HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile, TEST_DATABASE_URL: SECRET },
      timeoutMs: 120_000,
    });
  /** What the app on host i answers, asked from here (the hosts share this machine's network). */
  const answer = async (i: number) => (await (await fetch(`http://${fleet.hosts[i]!.address}:${PORT}/`)).json()) as Record<string, string>;
  const releaseDir = (i: number, id: string) => `${fleet.hosts[i]!.deployTo}/releases/${id}`;
  const expectRunning = async (id: string, greeting: string) => {
    for (const [i, h] of fleet.hosts.entries()) {
      expect(await answer(i), h.name).toEqual({ release: id, greeting, secret: SECRET, cwd: releaseDir(i, id), nodeEnv: 'production' });
      const apps = await pm2Apps(fleet, i);
      expect(apps.map((a: Pm2App) => [a.name, a.status, a.execMode, a.cwd])).toEqual([['demo', 'online', 'cluster_mode', `${h.deployTo}/current`]]);
    }
  };

  let first = '';
  let second = '';

  it('a deploy starts the app under pm2 on every host: the new release from current, with its env, health-checked', async () => {
    config('hello');
    const r = await ship('deploy', 'test');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain("s3cr'et");
    first = /release (\d{14})/.exec(r.stdout)![1]!;
    await expectRunning(first, 'hello');
    for (const h of fleet.hosts) {
      // pm2 save: the process list survives a reboot (with pm2 startup)
      expect(readFileSync(join(h.home, '.pm2', 'dump.pm2'), 'utf8')).toContain(`${h.deployTo}/current`);
      expect(existsSync(h.localPath(`${h.deployTo}/shared/log/app.log`))).toBe(true);
    }
  });

  it('the next deploy reloads it: the new release with the new env, the same pm2 app', async () => {
    config('bonjour');
    repo.commit({ CHANGELOG: 'second\n' });
    const r = await ship('deploy', 'test');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    second = /release (\d{14})/.exec(r.stdout)![1]!;
    expect(second > first).toBe(true);
    await expectRunning(second, 'bonjour');
  });

  it('a deploy whose app cannot start is rolled back: the running release stays, with its env', async () => {
    config('broken', 'http://{{address}}:{{port}}/health');
    repo.commit({ CRASH: 'yes\n' });
    const r = await ship('deploy', 'test');
    expect(r.code, r.stdout + r.stderr).toBe(3);
    await expectRunning(second, 'bonjour');
    repo.remove('CRASH');
  });

  it('a rollback brings the previous release back, running with the env it was deployed with', async () => {
    config('bonjour');
    const r = await ship('rollback', 'test');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectRunning(first, 'hello');
  });

  it('a health URL with {{host}} that the host cannot resolve (an ssh alias) fails at the first attempt, with the hint', async () => {
    // the hosts by ssh aliases that only this machine's ~/.ssh/config knows
    mkdirSync(join(fleet.home, '.ssh'), { recursive: true });
    writeFileSync(join(fleet.home, '.ssh', 'config'), fleet.hosts.map((h, i) => `Host app-alias-${i}\n  HostName ${h.address}\n`).join(''));
    config('hello', 'http://{{host}}:{{port}}/health');
    const yaml = readFileSync(join(work, 'deploy.yaml'), 'utf8');
    writeFileSync(
      join(work, 'deploy.yaml'),
      fleet.hosts.reduce((text, h, i) => text.replace(`host: ${h.address},`, `host: app-alias-${i},`), yaml),
    );
    const r = await ship('deploy', 'test');
    expect(r.code, r.stdout + r.stderr).not.toBe(0);
    // one attempt, where it would ask every 500ms until the 10s timeout
    expect(r.stdout).toMatch(/unhealthy after 1 attempt\(s\): .*app-alias-0.*cannot resolve "app-alias-0"/);
    expect(r.stdout).toContain(`or {{address}} (${fleet.hosts[0]!.address} here)`);
  });
});
