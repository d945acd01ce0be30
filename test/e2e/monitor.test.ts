/**
 * `ship check` as a go-live review and a monitor, against two real sshd hosts: its items under
 * the checklist's headings (plain and --json); key-only login read from the host's sshd
 * config; pending security updates as apt-get itself counts them; npm audit of the deployed
 * release's production dependencies against the registry, and a warning (not a failure) when
 * the audit endpoint cannot be reached; `--notify` posting to a real webhook receiver on
 * loopback when checks start failing and once when they recover, never twice for the same.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShip, type ShipRun } from '../helpers/cli.js';
import { fleetStage, removeSetupCronLines, type FleetStage } from '../helpers/fleet-stage.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { fixtureRepo } from '../helpers/repo.js';
import { skipWithout } from '../helpers/requirements.js';

type Check = { group: string; host: string; check: string; status: string; detail: string };
const checksOf = (r: ShipRun) => r.events().filter((e) => e.event === 'check') as unknown as Check[];

/** lodash 4.17.20 (production) has known high and moderate advisories; minimist 1.2.5 (dev only) a critical one. */
const PACKAGE = { name: 'shop', version: '1.0.0', dependencies: { lodash: '4.17.20' }, devDependencies: { minimist: '1.2.5' } };
const LOCK = {
  name: 'shop',
  version: '1.0.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': PACKAGE,
    'node_modules/lodash': { version: '4.17.20', resolved: 'https://registry.npmjs.org/lodash/-/lodash-4.17.20.tgz', license: 'MIT' },
    'node_modules/minimist': { version: '1.2.5', resolved: 'https://registry.npmjs.org/minimist/-/minimist-1.2.5.tgz', dev: true, license: 'MIT' },
  },
};

describe.skipIf(skipWithout('fleet'))('ship check: the go-live review and --notify', () => {
  let fleet: Fleet;
  let stage: FleetStage;
  let server: Server;
  let hook = '';
  let release = '';
  const posts: Record<string, unknown>[] = [];
  /** What the receiver answers: 500 plays a webhook that is down. */
  let answer = 200;
  const addr = (i: number) => fleet.hosts[i]!.address;
  const sshdCopy = (i: number) => `${fleet.hosts[i]!.deployTo}/sshd_config`;
  const writeSshd = (i: number, password: 'yes' | 'no') => {
    const real = readFileSync(join(fleet.dir, `host${i + 1}`, 'sshd_config'), 'utf8');
    expect(real).toMatch(/^PasswordAuthentication no$/m);
    writeFileSync(
      fleet.hosts[i]!.localPath(sshdCopy(i)),
      password === 'no' ? real : real.replace(/^PasswordAuthentication no$/m, '# PasswordAuthentication no'),
    );
  };
  const write = () =>
    stage.write({
      body: `strategy: upload
shared: { dirs: [log] }
notify: { webhook: "${hook}" }
vars: { sshd_config: ${fleet.hosts[0]!.deployTo}/sshd_config }`,
    });

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posts.push(JSON.parse(body) as Record<string, unknown>);
        res.writeHead(answer).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    hook = `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/s3cret-token`;
    fleet = await startFleet({ count: 2, firstAddress: 150 });
    const repo = fixtureRepo({ withApp: false });
    repo.commit({ 'package.json': JSON.stringify(PACKAGE, null, 2), 'package-lock.json': JSON.stringify(LOCK, null, 2) });
    stage = fleetStage(fleet, repo.dir, mkdtempSync(join(tmpdir(), 'ship-e2e-monitor-')), 'unused');
    write();
    writeSshd(0, 'no');
    writeSshd(1, 'no');
    const setup = await stage.ship('setup', 'test');
    expect(setup.code, setup.stderr).toBe(0);
    const deploy = await stage.ship('deploy', 'test', '--json');
    expect(deploy.code, deploy.stderr).toBe(0);
    release = deploy.events().at(-1)!.release as string;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    if (fleet) removeSetupCronLines(fleet);
    await fleet?.stop();
  });

  it('reads as a go-live review: every item under its heading, in the checklist order, in both outputs', async () => {
    const r = await stage.ship('check', 'test', '--json');
    const items = checksOf(r);
    const order = ['deploy', 'security', 'capacity', 'health', 'logs', 'backups', 'certificates'];
    const groups = items.map((i) => i.group);
    expect(groups).toEqual([...groups].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    expect(Object.fromEntries(items.filter((i) => i.host === addr(0)).map((i) => [i.check, i.group]))).toEqual({
      ssh: 'deploy',
      deploy_to: 'deploy',
      programs: 'deploy',
      lock: 'deploy',
      'host key': 'security',
      'password login': 'security',
      'security updates': 'security',
      dependencies: 'security',
      disk: 'capacity',
      health: 'health',
      logrotate: 'logs',
      'rotated logs': 'logs',
    });
    // the stage's own item (no load balancer here: restarts drop requests) reads under health
    expect(items.filter((i) => i.host === 'stage').map((i) => [i.check, i.group, i.status])).toEqual([['restart', 'health', 'warn']]);
    expect(r.events().at(-1)).toMatchObject({ event: 'check:end', groups: { deploy: { fail: 0 }, security: { fail: 0 }, logs: { fail: 0 } } });
    const human = await stage.ship('check', 'test');
    const headings = human.stdout.split('\n').filter((l) => /^\S/.test(l) && !/passed,/.test(l));
    expect(headings).toEqual([
      'deploy: can ship reach, write to and lock every host',
      'security: host keys, key-only login, patches, dependencies',
      'capacity: free disk',
      'health: does the app answer, and keep answering through a deploy',
      'logs: rotated and kept',
    ]);
    expect(human.stdout).toMatch(new RegExp(`^ {2}ok {4}${addr(1).replace(/\./g, '\\.')}\\s+password login\\s+password login disabled`, 'm'));
  }, 120_000);

  it('password login: read from the sshd config (sshd -T needs root), failing when it is allowed', async () => {
    const ok = checksOf(await stage.ship('check', 'test', '--json')).find((i) => i.check === 'password login' && i.host === addr(0))!;
    expect(ok).toMatchObject({ status: 'pass' });
    expect(ok.detail).toMatch(
      new RegExp(`^password login disabled \\(PasswordAuthentication no\\), from (sshd -T|${sshdCopy(0)} \\(sshd -T needs root here\\))$`),
    );
    writeSshd(1, 'yes');
    const r = await stage.ship('check', 'test', '--json');
    expect(r.code).toBe(1);
    expect(checksOf(r).find((i) => i.check === 'password login' && i.host === addr(1))).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(
        /^password login is allowed: PasswordAuthentication is not set \(the default is yes\), from .*: set PasswordAuthentication no and reload sshd$/,
      ),
    });
    writeSshd(1, 'no');
  });

  it('security updates: as many as apt-get -s upgrade counts from a security origin', async () => {
    const item = checksOf(await stage.ship('check', 'test', '--json')).find((i) => i.check === 'security updates' && i.host === addr(0))!;
    let count = 0;
    try {
      const sim = execFileSync('apt-get', ['-s', 'upgrade'], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'ignore'] });
      count = sim.split('\n').filter((l) => l.startsWith('Inst ') && /\(.*security.*\)/i.test(l)).length;
    } catch {
      expect(item.detail).toBe('not checked: not a Debian/Ubuntu host (no apt-get)');
      return;
    }
    if (count === 0) expect(item).toMatchObject({ status: 'pass', detail: expect.stringMatching(/^no pending security updates \(\d+ other upgrade\(s\)/) });
    else expect(item).toMatchObject({ status: 'warn', detail: expect.stringMatching(new RegExp(`^${count} pending security update\\(s\\): `)) });
  });

  it('dependencies: what npm audit says of the production dependencies (dev ones left out); an unreachable endpoint is a warning that says so', async () => {
    const audited = checksOf(await stage.ship('check', 'test', '--json')).filter((i) => i.check === 'dependencies');
    expect(audited.map((i) => i.host)).toEqual([addr(0)]);
    // npm itself, on the same files: where this machine reaches the audit endpoint, the counts; else why not
    const dir = mkdtempSync(join(tmpdir(), 'ship-e2e-audit-'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify(PACKAGE));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(LOCK));
    const npm = JSON.parse(
      spawnSync('npm', ['audit', '--omit=dev', '--json'], { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_fetch_retries: '0' } }).stdout,
    ) as {
      metadata?: { vulnerabilities: Record<string, number> };
      message?: string;
    };
    if (npm.metadata) {
      const v = npm.metadata.vulnerabilities;
      const found = ['critical', 'high', 'moderate', 'low', 'info'].filter((s) => (v[s] ?? 0) > 0).map((s) => `${v[s]} ${s}`);
      expect(found.join(', ')).not.toMatch(/critical/); // minimist's critical advisory is a dev dependency's
      expect(audited[0]).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining(`in the production dependencies of release ${release}: ${found.join(', ')} (npm audit`),
      });
    } else {
      expect(audited[0]).toMatchObject({
        status: 'warn',
        detail: `not checked: npm audit could not get an answer (${npm.message}): is the registry's audit endpoint reachable from here?`,
      });
    }
    const offline = await runShip(['--config', stage.config, 'check', 'test', '--json'], {
      cwd: tmpdir(),
      env: { ...stage.env(), npm_config_registry: 'http://127.0.0.1:9/' },
    });
    expect(offline.code, offline.stderr).toBe(0);
    expect(checksOf(offline).find((i) => i.check === 'dependencies')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(
        /^not checked: npm audit could not get an answer \(.*ECONNREFUSED.*\): is the registry's audit endpoint reachable from here\?$/,
      ),
    });
  });

  it('--notify posts when checks start failing and once when they recover, never the same alert twice', async () => {
    const check = () => stage.ship('check', 'test', '--notify', '--json');
    posts.length = 0;
    expect((await check()).code).toBe(0);
    expect(posts).toEqual([]);
    expect((await stage.ship('lock', 'test', '--reason', 'maintenance')).code).toBe(0);
    const failing = await check();
    expect(failing.code).toBe(1);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toMatchObject({
      action: 'check',
      ok: false,
      status: 'failing',
      app: 'demo',
      stage: 'test',
      newly: [`${addr(0)} lock`, `${addr(1)} lock`],
    });
    expect(posts[0]!.text).toMatch(/^🚨 ship check: demo test: 2 check\(s\) failing: .* lock: locked for maintenance/);
    expect((await check()).code).toBe(1);
    expect(posts).toHaveLength(1);
    expect((await stage.ship('unlock', 'test')).code).toBe(0);
    const recovered = await check();
    expect(recovered.code, recovered.stderr).toBe(0);
    expect(posts).toHaveLength(2);
    expect(posts[1]).toMatchObject({ ok: true, status: 'recovered', failing: [] });
    expect(posts[1]!.text).toMatch(/^✅ ship check: demo test recovered: every check passes again \(failing since \d{4}-/);
    expect((await check()).code).toBe(0);
    expect(posts).toHaveLength(2);
    // a webhook that is down does not lose the alert: the next run posts it again
    answer = 500;
    expect((await stage.ship('lock', 'test')).code).toBe(0);
    const unheard = await check();
    expect(unheard.stderr).toMatch(/warning: the notify webhook answered HTTP 500; the alert is tried again at the next run/);
    answer = 200;
    await check();
    expect(posts.slice(2).map((p) => p.status)).toEqual(['failing', 'failing']);
    await check();
    expect(posts).toHaveLength(4);
    expect((await stage.ship('unlock', 'test')).code).toBe(0);
    // the webhook's URL is a credential: never printed
    expect(failing.stdout + failing.stderr + recovered.stdout + recovered.stderr).not.toContain('s3cret-token');
  }, 180_000);
});
