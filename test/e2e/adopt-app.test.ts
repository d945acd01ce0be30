/**
 * The path from a user's own app to a live deploy, as a new user takes it: a new Express app
 * outside this repository (Express from the npm registry), ship installed into it from a packed
 * tarball (`npm pack`), `ship init --yes`, the hosts added to deploy.yaml, then
 * `ship deploy production` to three real sshd hosts (each with its own home: its own npm
 * cache and pm2 daemon) and `ship rollback production`. Every ship command is the app's own
 * copy, run as `npx --no ship`.
 *
 * What the test changes in the deploy.yaml that init wrote is what a user adds: the hosts,
 * the ssh key and user, deploy_to, the env. One thing is the fleet's own: its hosts share
 * this machine's network, so each app binds its host's address (BIND) and the health check
 * asks {{address}} where a real server would use init's 127.0.0.1.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { killPm2Daemons, pm2Apps } from '../helpers/pm2.js';
import { ROOT } from '../helpers/repo.js';
import { skipWithout } from '../helpers/requirements.js';

const PORT = 39_420;
const SECRET = 'postgres://shop:n0t-pr1nted@db/shop';

const SERVER = `const express = require('express');
const app = express();
app.get('/', (req, res) => res.json({ release: process.env.SHIP_RELEASE, greeting: process.env.GREETING, secret: process.env.DATABASE_URL, cwd: process.cwd() }));
app.listen(process.env.PORT || ${PORT}, process.env.BIND, () => console.log('listening'));
`;

interface Run {
  code: number | null;
  out: string;
}

/** Runs a program in the app's directory, as its user would, with a clean environment. */
function run(cwd: string, argv: string[], env: Record<string, string>, timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', CI: 'true', ...env } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} timed out:\n${out}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe.skipIf(skipWithout('fleet', 'pm2'))('from a new Express app to three live hosts', () => {
  let fleet: Fleet;
  let app: string;
  let env: Record<string, string>;
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=a user', '-c', 'user.email=user@example.invalid', '-c', 'commit.gpgsign=false', ...args], { cwd: app });
  const ship = (...args: string[]) => run(app, ['npx', '--no', 'ship', ...args], env);

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 111 });
    const dir = mkdtempSync(join(tmpdir(), 'ship-e2e-adopt-'));
    chmodSync(dir, 0o755);
    app = join(dir, 'hello-express');
    mkdirSync(app);
    env = { HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile, TEST_DATABASE_URL: SECRET };
    // ship as a user gets it: the package npm pack makes (dist/ is built by npm test)
    const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!;
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({ name: 'hello-express', version: '1.0.0', private: true, scripts: { start: 'node server.js' } }, null, 2),
    );
    writeFileSync(join(app, 'server.js'), SERVER);
    writeFileSync(join(app, '.gitignore'), 'node_modules/\n');
    const npm = (...args: string[]) => run(app, ['npm', ...args, '--no-audit', '--no-fund'], { HOME: process.env.HOME ?? '/root' });
    const express = await npm('install', 'express@4');
    expect(express.code, express.out).toBe(0);
    const installed = await npm('install', '--save-dev', join(dir, packed));
    expect(installed.code, installed.out).toBe(0);
    git('init', '-q', '-b', 'main');
    git('add', '-A');
    git('commit', '-q', '-m', 'hello');
    execFileSync('chmod', ['-R', 'a+rX', app]);
  }, 300_000);

  afterAll(async () => {
    if (fleet) await killPm2Daemons(fleet);
    await fleet?.stop();
  });

  /** The user's edit of deploy.yaml: hosts, key, deploy_to, env (comments kept). */
  const addHosts = (greeting: string) => {
    const file = join(app, 'deploy.yaml');
    const doc = parseDocument(readFileSync(file, 'utf8'));
    doc.setIn(['deploy_to'], fleet.hosts[0]!.deployTo);
    doc.setIn(['ssh', 'user'], fleet.user);
    doc.setIn(['ssh', 'identity'], fleet.identityFile);
    doc.setIn(['env', 'GREETING'], greeting);
    doc.setIn(['env', 'DATABASE_URL'], '${TEST_DATABASE_URL}');
    doc.setIn(['secrets'], ['DATABASE_URL']);
    doc.setIn(['health', 'http'], `http://{{address}}:${PORT}/`);
    doc.setIn(
      ['stages', 'production', 'hosts'],
      fleet.hosts.map((h) => ({ host: h.address, port: h.port, env: { BIND: h.address } })),
    );
    writeFileSync(file, doc.toString());
  };

  const answer = async (i: number) => (await (await fetch(`http://${fleet.hosts[i]!.address}:${PORT}/`)).json()) as Record<string, string>;
  const expectRunning = async (release: string, greeting: string) => {
    for (const [i, h] of fleet.hosts.entries()) {
      expect(await answer(i), h.name).toEqual({ release, greeting, secret: SECRET, cwd: `${h.deployTo}/releases/${release}` });
      expect((await pm2Apps(fleet, i)).map((a) => [a.name, a.status, a.cwd])).toEqual([['hello-express', 'online', `${h.deployTo}/current`]]);
    }
  };
  let first = '';

  it('ship init --yes writes a config for the app: pm2, its port, a health check', async () => {
    const init = await ship('init', '--yes');
    expect(init.code, init.out).toBe(0);
    const text = readFileSync(join(app, 'deploy.yaml'), 'utf8');
    expect(text).toContain('  restart_with: pm2\n');
    expect(text).toContain(`  PORT: "${PORT}"\n`);
    expect(text).toContain(`  http: http://127.0.0.1:${PORT}/\n`);
  });

  it('ship deploy production: the app runs under pm2 from current on every host, with its env, health-checked', async () => {
    addHosts('hello');
    const deploy = await ship('deploy', 'production');
    expect(deploy.code, deploy.out).toBe(0);
    expect(deploy.out).not.toContain('n0t-pr1nted');
    expect(deploy.out).toMatch(/healthy: HTTP 200/);
    first = /release (\d{14})/.exec(deploy.out)![1]!;
    await expectRunning(first, 'hello');
  });

  it('a second deploy, then ship rollback production: the previous release runs again, with its env', async () => {
    addHosts('bonjour');
    writeFileSync(join(app, 'CHANGELOG.md'), 'second\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'second');
    const again = await ship('deploy', 'production');
    expect(again.code, again.out).toBe(0);
    const second = /release (\d{14})/.exec(again.out)![1]!;
    await expectRunning(second, 'bonjour');
    const back = await ship('rollback', 'production');
    expect(back.code, back.out).toBe(0);
    await expectRunning(first, 'hello');
    for (const h of fleet.hosts) expect(readdirSync(h.localPath(`${h.deployTo}/releases`)).sort()).toEqual([first, second]);
  });
});
