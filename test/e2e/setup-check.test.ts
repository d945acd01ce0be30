/**
 * `ship init`, `ship setup` and `ship check` against three real sshd hosts. check must pass
 * on a healthy, set-up fleet and fail naming the cause for each fault made real here: no
 * logrotate rule yet, a disk floor above the free space, a held lock, a certificate that
 * expires in 5 days (served on loopback with a throwaway self-signed certificate), and a
 * host whose sshd was killed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShip, type ShipRun } from '../helpers/cli.js';
import { removeSetupCronLines } from '../helpers/fleet-stage.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

const listen = (server: Server) => new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

/** A self-signed certificate for 127.0.0.1, valid for `days`. */
function certificate(dir: string, days: number): { key: string; cert: string; file: string } {
  const key = join(dir, `${days}.key`);
  const file = join(dir, `${days}.pem`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      String(days),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      file,
    ],
    { stdio: 'ignore' },
  );
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(file, 'utf8'), file };
}

describe.skipIf(skipWithout('fleet'))('ship setup and ship check over SSH', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;
  let healthPort: number;
  const servers: Server[] = [];
  const tls: { port: number; file: string }[] = [];

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 74 });
    repo = fixtureRepo();
    work = mkdtempSync(join(tmpdir(), 'ship-e2e-check-'));
    // the hosts share this machine's network: 127.0.0.1 asked from a host reaches this server
    const health = createServer((_, res) => res.end('ok'));
    servers.push(health);
    healthPort = await listen(health);
    for (const days of [5, 90]) {
      const c = certificate(work, days);
      const server = createTlsServer({ key: c.key, cert: c.cert }, (_, res) => res.end('hi'));
      servers.push(server);
      tls.push({ port: await listen(server), file: c.file });
    }
    writeFileSync(join(work, 'ca.pem'), tls.map((t) => readFileSync(t.file, 'utf8')).join(''));
    for (const [i, h] of fleet.hosts.entries()) writeFileSync(h.localPath(sshdCopy()), readFileSync(join(fleet.dir, `host${i + 1}`, 'sshd_config')));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    if (fleet) removeSetupCronLines(fleet);
    await fleet?.stop();
  });

  /** A copy of the hosts' own sshd_config (key-only login) where the login user can read it: the password login check reads it. */
  const sshdCopy = () => `${posix.dirname(fleet.hosts[0]!.deployTo)}/sshd_config`;
  /** `vars` adds entries to the stage's vars (`restart_with: systemd`). */
  const config = (check = '', vars = '') => {
    const hosts = fleet.hosts.map((h, i) => `      - { host: ${h.address}, port: ${h.port}, roles: [${i === 2 ? 'db' : 'web, app'}] }`).join('\n');
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: demo
repo: ${repo.dir}
recipe: node
deploy_to: ${fleet.hosts[0]!.deployTo}
strategy: upload
shared: { dirs: [log], files: [.env] }
ssh: { user: ${fleet.user}, identity: ${fleet.identityFile}, known_hosts: strict }
health:
  http: "http://127.0.0.1:${healthPort}/health"
  timeout: 5s
vars: { sshd_config: ${sshdCopy()}${vars ? `, ${vars}` : ''} }
${check}
stages:
  test:
    hosts:
${hosts}
`,
    );
  };
  const ship = (...args: string[]) =>
    runShip(['--config', join(work, 'deploy.yaml'), ...args], {
      cwd: work,
      env: { HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile, NODE_EXTRA_CA_CERTS: join(work, 'ca.pem') },
    });
  const checks = (r: ShipRun) => r.events().filter((e) => e.event === 'check') as { host: string; check: string; status: string; detail: string }[];
  const failures = (r: ShipRun) =>
    checks(r)
      .filter((c) => c.status === 'fail')
      .map((c) => `${c.host} ${c.check}: ${c.detail}`);
  const at = (i: number, p: string) => fleet.hosts[i]!.localPath(`${fleet.hosts[i]!.deployTo}/${p}`);
  const addresses = () => fleet.hosts.map((h) => h.address);

  it('ship init writes a deploy.yaml that loads, and will not overwrite it without --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ship-e2e-init-'));
    writeFileSync(join(dir, 'package.json'), '{"name":"shop"}');
    const init = await runShip(['init'], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/wrote deploy\.yaml: app shop, recipe node \(package\.json found\)/);
    const tasks = await runShip(['tasks'], { cwd: dir });
    expect(tasks.code, tasks.stderr).toBe(0);
    expect(tasks.stdout).toMatch(/^build\s+build\s+every host\s+recipe:node/m);
    const again = await runShip(['init', '--recipe', 'rails'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/deploy\.yaml already exists; ship init did not touch it\n\s+→ ship init --force overwrites it/);
    expect((await runShip(['init', '--recipe', 'rails', '--force'], { cwd: dir })).code).toBe(0);
    expect(readFileSync(join(dir, 'deploy.yaml'), 'utf8')).toContain('recipe: rails\n');
  });

  it('check before setup fails: no logrotate rule covers shared/log', async () => {
    config();
    const r = await ship('check', 'test', '--json');
    expect(r.code, r.stderr).toBe(1);
    expect(failures(r)).toEqual(addresses().map((a) => `${a} logrotate: no logrotate rule covers ${fleet.hosts[0]!.deployTo}/shared/log: run ship setup`));
    expect(r.stderr).toMatch(/stage test is not ready: 3 check\(s\) failed/);
  });

  it('setup lays out every host; a second setup changes nothing and says so', async () => {
    // restart_with: systemd gets the unit (not installed: not root) and the one sudoers line
    config('', 'restart_with: systemd');
    const first = await ship('setup', 'test');
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`add: ${fleet.user} ALL=\\(root\\) NOPASSWD: \\S*/systemctl restart demo\\n`));
    config();
    for (const i of [0, 1, 2]) {
      expect(statSync(at(i, 'shared/log')).isDirectory()).toBe(true);
      expect(readFileSync(at(i, 'shared/.env'), 'utf8')).toBe('');
      expect(readFileSync(at(i, '.ship/logrotate.conf'), 'utf8')).toContain(`"${fleet.hosts[i]!.deployTo}/shared/log/*.log" {`);
      expect(readFileSync(at(i, '.ship/demo.service'), 'utf8')).toContain(`WorkingDirectory=${fleet.hosts[i]!.deployTo}/current`);
      expect(existsSync(at(i, '.ship/lock'))).toBe(false);
    }
    writeFileSync(at(0, 'shared/.env'), 'SECRET=1\n');
    const second = await ship('setup', 'test', '--json');
    expect(second.code, second.stderr).toBe(0);
    const ends = second.events().filter((e) => e.event === 'setup:host');
    expect(ends.map((e) => [e.host, e.ok, e.changed])).toEqual(addresses().map((a) => [a, true, 0]));
    expect(readFileSync(at(0, 'shared/.env'), 'utf8')).toBe('SECRET=1\n');
    const plain = await ship('setup', 'test');
    expect(plain.stdout.match(/nothing changed: already set up/g)).toHaveLength(3);
  });

  it('after setup and a deploy, check passes on every host', async () => {
    const deploy = await ship('deploy', 'test');
    expect(deploy.code, deploy.stdout + deploy.stderr).toBe(0);
    const r = await ship('check', 'test', '--json');
    expect(failures(r)).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
    for (const a of addresses()) {
      const mine = Object.fromEntries(
        checks(r)
          .filter((c) => c.host === a)
          .map((c) => [c.check, c]),
      );
      const audited = a === addresses()[0] ? ['dependencies'] : [];
      expect(Object.keys(mine)).toEqual([
        'ssh',
        'deploy_to',
        'programs',
        'lock',
        'host key',
        'password login',
        'security updates',
        ...audited,
        'disk',
        'health',
        'logrotate',
        'rotated logs',
      ]);
      expect(mine['password login']!.detail).toMatch(/^password login disabled \(PasswordAuthentication no\)/);
      expect(mine.ssh!.detail).toMatch(new RegExp(`^${fleet.user}@${a}:${fleet.hosts[0]!.port}, key auth`));
      expect(mine.programs!.detail).toMatch(/^tar \S+, node \S+, npm \S+$/);
      expect(mine.health).toMatchObject({ status: 'pass', detail: expect.stringMatching(/^GET http:\/\/127\.0\.0\.1:\d+\/health: HTTP 200/) });
    }
    expect(r.events().at(-1)).toMatchObject({ event: 'check:end', ok: true, fail: 0 });
    const human = await ship('check', 'test');
    expect(human.stdout).toMatch(/^deploy: can ship reach, write to and lock every host\n {2}ok {4}127\.0\.\d+\.\d+ +ssh /m);
  });

  it('a disk floor above the free space fails, with both values', async () => {
    config('check: { disk_min: 100TB }');
    const r = await ship('check', 'test', '--json');
    expect(r.code).toBe(1);
    expect(failures(r)).toEqual(
      addresses().map((a) =>
        expect.stringMatching(new RegExp(`^${a.replace(/\./g, '\\.')} disk: [\\d.]+ [KMGT]?B free on .*, below the floor of 100 TB \\(check\\.disk_min\\)$`)),
      ),
    );
  });

  it('a held lock fails, naming who holds it and why', async () => {
    config();
    expect((await ship('lock', 'test', '--reason', 'db upgrade')).code).toBe(0);
    const r = await ship('check', 'test', '--json');
    expect(r.code).toBe(1);
    expect(failures(r)).toEqual(
      addresses().map((a) => expect.stringMatching(new RegExp(`^${a.replace(/\./g, '\\.')} lock: locked for maintenance, held by .* since .*: db upgrade$`))),
    );
    expect((await ship('unlock', 'test')).code).toBe(0);
  });

  it('a certificate expiring within 14 days fails; one with 90 days passes', async () => {
    config(`check: { urls: ["https://127.0.0.1:${tls[0]!.port}/", "https://127.0.0.1:${tls[1]!.port}/"] }`);
    const r = await ship('check', 'test', '--json');
    expect(r.code).toBe(1);
    expect(failures(r)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^127\\.0\\.0\\.1:${tls[0]!.port} tls: https://127\\.0\\.0\\.1:${tls[0]!.port}/: expires in [45] day\\(s\\) \\(\\d{4}-\\d\\d-\\d\\d\\): renew it, under 14 days left$`,
        ),
      ),
    ]);
    expect(checks(r).find((c) => c.host === `127.0.0.1:${tls[1]!.port}`)).toMatchObject({ status: 'pass', detail: expect.stringMatching(/expires in 89 day/) });
  });

  it('where a backup task runs, its newest backup must be younger than backup_max_age', async () => {
    config('tasks: { backup: { run: "pg_dump app > {{backup_path}}/db.sql", roles: [db], once: true } }');
    const dir = `${fleet.hosts[2]!.deployTo}/shared/backups`;
    await fleet.ssh(2, `mkdir -p ${dir} && touch -d '2 days ago' ${dir}/db-old.sql`);
    const old = await ship('check', 'test', '--json');
    expect(old.code).toBe(1);
    expect(failures(old)).toEqual([`${fleet.hosts[2]!.address} backups: newest db-old.sql is 2d0h old, older than 26h (vars.backup_max_age)`]);
    await fleet.ssh(2, `touch ${dir}/db-new.sql`);
    const fresh = await ship('check', 'test', '--json');
    expect(fresh.code, fresh.stderr).toBe(0);
    // only the db primary runs the backup task, so only it is asked for backups
    expect(checks(fresh).filter((c) => c.check === 'backups')).toEqual([
      {
        ts: expect.any(String),
        event: 'check',
        stage: 'test',
        group: 'backups',
        host: fleet.hosts[2]!.address,
        check: 'backups',
        status: 'pass',
        detail: expect.stringMatching(/^newest db-new\.sql is \ds old \(limit 26h\)$/),
      },
    ]);
  });

  it('an unknown host key fails under known_hosts: strict, naming the key', async () => {
    config();
    writeFileSync(join(work, 'empty_known_hosts'), '');
    const r = await runShip(['--config', join(work, 'deploy.yaml'), 'check', 'test', '--json', '--hosts', fleet.hosts[0]!.address], {
      cwd: work,
      env: { HOME: fleet.home, SHIP_KNOWN_HOSTS: join(work, 'empty_known_hosts') },
    });
    expect(r.code).toBe(1);
    const mine = checks(r).filter((c) => c.host === fleet.hosts[0]!.address);
    expect(mine.map((c) => [c.check, c.status])).toEqual([
      ['ssh', 'fail'],
      ['host key', 'fail'],
    ]);
    expect(mine[1]!.detail).toContain(fleet.hostKeyFingerprints[0]!);
  });

  it('an unreachable host fails the ssh check by name; the others are still checked', async () => {
    config();
    await fleet.kill(2);
    const r = await ship('check', 'test', '--json');
    expect(r.code).toBe(1);
    expect(failures(r)).toEqual([
      expect.stringMatching(
        new RegExp(`^${fleet.hosts[2]!.address.replace(/\./g, '\\.')} ssh: unreachable: .*\\(the other checks of this host were skipped\\)$`),
      ),
    ]);
    expect(checks(r).filter((c) => c.host === fleet.hosts[0]!.address && c.status === 'pass').length).toBeGreaterThan(5);
  });
});
