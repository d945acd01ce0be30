/**
 * Runs that end, and end honestly, on real sshd hosts: a health command that hangs, a task
 * past its timeout, a manual rollback whose health check fails, a new release that cannot
 * bind its port while the old process still answers, a far-future directory in releases/,
 * and what a failed deploy reports (end event, history, webhook).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runShip } from '../helpers/cli.js';
import { fleetConfigHead, hostView } from '../helpers/fleet-stage.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { skipWithout } from '../helpers/requirements.js';

describe.skipIf(skipWithout('fleet'))('runs that end: deadlines, rollbacks, proof of the release', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;
  let hook: Server;
  let hookUrl = '';
  const posted: Record<string, unknown>[] = [];
  // below the ephemeral range (32768+): a busy machine cannot hold the app's port as a client port
  const basePort = 23300 + (process.pid % 500) * 2;

  beforeAll(async () => {
    fleet = await startFleet({ count: 2, firstAddress: 131 });
    repo = fixtureRepo();
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posted.push(JSON.parse(body) as Record<string, unknown>);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;
  });
  afterAll(async () => {
    await fleet?.stop();
    await new Promise<void>((r) => hook?.close(() => r()));
  });
  beforeEach(async () => {
    // fresh hosts: stop the app of the previous test, empty the deploy path
    await Promise.all(
      fleet.hosts.map((h) =>
        fleet.ssh(
          h.index,
          `[ -f ${h.deployTo}/shared/app.pid ] && kill $(cat ${h.deployTo}/shared/app.pid) 2>/dev/null; rm -rf ${h.deployTo}/* ${h.deployTo}/.ship; true`,
        ),
      ),
    );
    // a test that failed half-way leaves its fault in the repository: the next one starts clean
    const faults = ['KEEP_OLD', 'HANG', 'SLOW_BUILD', 'SLOW_RESTART'].filter((f) => existsSync(join(repo.dir, f)));
    if (faults.length) repo.remove(...faults);
    work = mkdtempSync(join(tmpdir(), 'ship-bounds-'));
  });

  const all = [0, 1];
  const { at, current, releases, locked } = hostView(() => fleet);
  /** deploy.yaml: the example app on its own port per host; `health` and `tasks` as the test needs. */
  const config = (o: { health: string; tasks?: string; hooks?: string }) => {
    const hosts = fleet.hosts.map((h, i) => `      - { host: ${h.address}, vars: { port: ${basePort + i} } }`).join('\n');
    writeFileSync(
      join(work, 'deploy.yaml'),
      `${fleetConfigHead(fleet, repo.dir)}
notify:
  webhook: ${hookUrl}
tasks:
  restart: |
    if [ -e KEEP_OLD ]; then
      # a second instance beside the one running: it cannot bind the port and exits
      PORT={{port}} nohup node server.mjs >/dev/null 2>&1 &
      sleep 1
    else
      PORT={{port}} sh bin/restart
    fi
${o.tasks ?? ''}
${o.hooks ?? ''}
${o.health}
stages:
  test:
    hosts:
${hosts}
`,
    );
  };
  const httpHealth = (expect: string) => `health:
  http: "http://127.0.0.1:{{port}}/health"
  expect: ${expect}
  timeout: 3s
  interval: 250ms`;
  const ship = (...args: string[]) =>
    runShip(['--config', join(work, 'deploy.yaml'), ...args], {
      cwd: work,
      env: { HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile },
      timeoutMs: 90_000,
    });
  const deployOk = async () => {
    const r = await ship('deploy', 'test', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return r.events().at(-1)!.release as string;
  };
  /** What the app on host i answers on /health, asked from inside that host. */
  const answer = async (i: number) =>
    (await fleet.ssh(i, `curl -s http://127.0.0.1:${basePort + i}/health || wget -qO- http://127.0.0.1:${basePort + i}/health`)).stdout;
  const running = (pattern: string) => spawnSync('pgrep', ['-f', pattern]).status === 0;
  const expectBackOn = async (release: string) => {
    for (const i of all) {
      expect(current(i)).toBe(release);
      expect(locked(i)).toBe(false);
      expect(await answer(i)).toMatch(new RegExp(`^ok ${release} `));
    }
  };

  it('a new release that cannot bind while the old process answers 200 fails on the body naming {{release}}; the failure reports release and revision', async () => {
    config({ health: httpHealth('{ status: 200, body: "ok {{release}} {{revision}}" }') });
    const one = await deployOk();
    const sha = repo.commit({ KEEP_OLD: '' });
    const r = await ship('deploy', 'test', '--json');
    expect(r.code, r.stderr).toBe(3);
    const bad = r.events().find((e) => e.event === 'deploy:start')!.release as string;
    const failures = r.events().filter((e) => e.event === 'health' && e.final && !e.ok);
    expect(failures.length).toBe(2);
    expect(String(failures[0]!.detail)).toContain(`body lacks "ok ${bad} ${sha}"`);
    expect(String(failures[0]!.detail)).toContain(`ok ${one}`); // what the old process said
    await expectBackOn(one);
    // the end event, the history line and the webhook say which release and commit failed
    expect(r.events().at(-1)).toMatchObject({ event: 'deploy:end', ok: false, exitCode: 3, release: bad, revision: sha });
    const history = readFileSync(at(0, '.ship/history.jsonl'), 'utf8').trim().split('\n');
    expect(JSON.parse(history.at(-1)!)).toMatchObject({ action: 'deploy', result: 'rolled-back', release: bad, revision: sha });
    await until(() => posted.some((p) => p.release === bad));
    expect(posted.find((p) => p.release === bad)).toMatchObject({ ok: false, exitCode: 3, release: bad, revision: sha });
    repo.remove('KEEP_OLD');
  });

  it('the same, proven by a header: expect.header with {{release}}', async () => {
    config({ health: httpHealth('{ status: 200, header: { X-Release: "{{release}}" } }') });
    const one = await deployOk();
    repo.commit({ KEEP_OLD: '' });
    const r = await ship('deploy', 'test', '--json');
    expect(r.code, r.stderr).toBe(3);
    const bad = r.events().find((e) => e.event === 'deploy:start')!.release as string;
    const failure = r.events().find((e) => e.event === 'health' && e.final && !e.ok)!;
    expect(String(failure.detail)).toBe(`HTTP 200 but header X-Release is "${one}" (expected it to contain "${bad}")`);
    await expectBackOn(one);
    repo.remove('KEEP_OLD');
  });

  it('a health command that hangs forever is stopped at health.timeout: rollback, lock released, its process gone', async () => {
    config({
      health: `health:
  command: "if [ -e HANG ]; then sleep 3181; fi; curl -sf http://127.0.0.1:{{port}}/health || wget -qO- http://127.0.0.1:{{port}}/health"
  timeout: 3s
  interval: 250ms`,
    });
    const one = await deployOk();
    repo.commit({ HANG: '' });
    const t0 = Date.now();
    const r = await ship('deploy', 'test', '--json');
    const ms = Date.now() - t0;
    expect(r.code, r.stderr).toBe(3);
    expect(ms).toBeLessThan(60_000); // bounded (it used to wait forever); timing is the bench's business
    const failure = r.events().find((e) => e.event === 'health' && e.final && !e.ok)!;
    expect(String(failure.detail)).toMatch(/command still running after 3s: stopped/);
    await expectBackOn(one);
    expect(running('sleep 3181')).toBe(false);
    repo.remove('HANG');
  });

  it('a task past its timeout is stopped on the host and the deploy fails there: nothing changed, lock released', async () => {
    config({
      health: httpHealth('{ status: 200, body: "ok {{release}}" }'),
      tasks: `  build: { run: 'if [ -e SLOW_BUILD ]; then sleep 3182; fi', timeout: 2s }`,
    });
    const one = await deployOk();
    repo.commit({ SLOW_BUILD: '' });
    const deploying = ship('deploy', 'test');
    await until(() => running('sleep 3182'), 20_000);
    expect(running('sleep 3182')).toBe(true); // the build really ran on the host...
    const r = await deploying;
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/build failed on \S+ \(exit 124\)/);
    expect(r.stderr).toContain('build ran longer than its timeout (2s) and was stopped');
    for (const i of all) {
      expect(current(i)).toBe(one);
      expect(releases(i)).toEqual([one]);
      expect(locked(i)).toBe(false);
    }
    expect(running('sleep 3182')).toBe(false); // ...and was stopped there
    repo.remove('SLOW_BUILD');
  });

  it('a restart past its timeout after publish: the fleet goes back, exit 3', async () => {
    config({
      health: httpHealth('{ status: 200, body: "ok {{release}}" }'),
      tasks: `  slow: { run: 'if [ -e SLOW_RESTART ]; then sleep 3183; fi', timeout: 2s }`,
      hooks: 'hooks:\n  after:restart: [slow]',
    });
    const one = await deployOk();
    repo.commit({ SLOW_RESTART: '' });
    const r = await ship('deploy', 'test');
    expect(r.code, r.stdout + r.stderr).toBe(3);
    await expectBackOn(one);
    expect(running('sleep 3183')).toBe(false);
    repo.remove('SLOW_RESTART');
  });

  it('a manual rollback whose health check fails puts every switched host back (exit 3); --to too', async () => {
    config({ health: httpHealth('{ status: 200, body: "ok {{release}}" }') });
    const one = await deployOk();
    repo.commit({ 'v2.txt': '2' });
    const two = await deployOk();
    for (const i of all) writeFileSync(at(i, `releases/${one}/UNHEALTHY`), ''); // the old release no longer starts healthy
    for (const args of [[], ['--to', one]]) {
      const r = await ship('rollback', 'test', '--json', ...args);
      expect(r.code, r.stderr).toBe(3);
      expect(r.events().at(-1)).toMatchObject({
        event: 'rollback:end',
        ok: false,
        exitCode: 3,
        release: one, // the target that failed
        current: Object.fromEntries(fleet.hosts.map((h) => [h.address, two])), // where every host really is
      });
      expect(r.events().filter((e) => e.event === 'rollback' && e.to === two && e.ok).length).toBe(2); // put back
      await expectBackOn(two);
    }
  });

  it('a far-future or non-date directory in releases/ is ignored with a warning; ids stay 14 digits', async () => {
    config({ health: httpHealth('{ status: 200, body: "ok {{release}}" }') });
    const one = await deployOk();
    for (const stray of ['99991231235959', '20261399000000']) mkdirSync(at(0, `releases/${stray}`));
    repo.commit({ 'v3.txt': '3' });
    const r = await ship('deploy', 'test', '--json');
    expect(r.code, r.stderr).toBe(0);
    const two = r.events().at(-1)!.release as string;
    expect(two).toMatch(/^\d{14}$/);
    expect(two > one).toBe(true);
    expect(two < '99991231235959').toBe(true);
    const warnings = r
      .events()
      .filter((e) => e.event === 'log' && e.level === 'warn')
      .map((e) => String(e.message));
    expect(warnings.some((w) => w.includes('99991231235959') && w.includes('ignored'))).toBe(true);
    expect(warnings.some((w) => w.includes('20261399000000') && w.includes('ignored'))).toBe(true);
    // and the next deploy and a rollback still work on that host
    repo.commit({ 'v4.txt': '4' });
    const three = await deployOk();
    expect(three > two).toBe(true);
    const rb = await ship('rollback', 'test');
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    for (const i of all) expect(current(i)).toBe(two);
    expect(releases(0)).toContain('99991231235959'); // never touched: not ship's to prune
  });
});

async function until(ok: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}
