/**
 * Zero downtime behind a real HAProxy: six sshd hosts, each running the example app (restarted
 * by a plain kill-and-start script), HAProxy on loopback in front of them, and a load generator
 * sending requests without pause during a batched deploy, a deploy that fails its health check
 * on the second wave and rolls back, and a manual rollback. With `load_balancer` not one
 * request fails; without it the same deploy loses requests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShip } from '../helpers/cli.js';
import { fleetConfigHead, hostView } from '../helpers/fleet-stage.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { startHaproxy, startLoad, type Haproxy, type LoadReport } from '../helpers/haproxy.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { skipWithout } from '../helpers/requirements.js';

describe.skipIf(skipWithout('fleet', 'haproxy'))('zero downtime behind HAProxy', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let lb: Haproxy;
  let work: string;
  const basePort = 46200 + (process.pid % 400) * 8;
  const all = [0, 1, 2, 3, 4, 5];

  beforeAll(async () => {
    fleet = await startFleet({ count: 6, firstAddress: 121 });
    repo = fixtureRepo();
    lb = await startHaproxy(fleet.hosts.map((h, i) => ({ name: h.address, port: basePort + i })));
    work = mkdtempSync(join(tmpdir(), 'ship-zd-'));
  }, 60_000);
  afterAll(async () => {
    await Promise.all((fleet?.hosts ?? []).map((h) => fleet.ssh(h.index, `kill $(cat ${h.deployTo}/shared/app.pid) 2>/dev/null; true`)));
    await lb?.stop();
    await fleet?.stop();
  });

  const config = (o: { balancer?: string; rollout?: string; lbHost?: number } = {}) => {
    const roles = (i: number) => (i === o.lbHost ? ', roles: [lb]' : '');
    const hosts = fleet.hosts.map((h, i) => `      - { host: ${h.address}${roles(i)}, vars: { port: ${basePort + i} } }`).join('\n');
    writeFileSync(
      join(work, 'deploy.yaml'),
      `${fleetConfigHead(fleet, repo.dir)}
tasks:
  restart: |
    if [ -e FAIL_ON_THIRD ] && [ {{host}} = ${fleet.hosts[2]!.address} ]; then touch UNHEALTHY; fi
    PORT={{port}} sh bin/restart
health:
  http: "http://127.0.0.1:{{port}}/health"
  expect: { status: 200, body: ok }
  timeout: 5s
  interval: 100ms
${o.rollout ?? 'rollout: { batch: 2 }'}
${o.balancer ?? ''}
stages:
  test:
    hosts:
${hosts}
`,
    );
  };
  const balancer = (extra = '') => `load_balancer:
  kind: haproxy
  socket: ${lb.socket}
  backend: app
  drain_timeout: 5s
${extra}`;
  const ship = (...args: string[]) =>
    runShip(['--config', join(work, 'deploy.yaml'), ...args, '--json'], { cwd: work, env: { HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile } });
  const { at, current, releases } = hostView(() => fleet);
  /** Each server's admin state in HAProxy, in host order: 0 in rotation, drained otherwise. */
  const adminStates = () =>
    execFileSync('sh', ['-c', `printf 'show servers state app\\n' | socat - UNIX-CONNECT:${lb.socket}`], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => /^\d+ /.test(l))
      .map((l) => Number(l.split(' ')[6]));

  /** Runs `args` under load; returns ship's run and what the clients saw. */
  const underLoad = async (...args: string[]) => {
    const load = startLoad(lb.port, { min: 2000 });
    const run = await ship(...args);
    const seen: LoadReport = await load.stop();
    console.log(`${args.join(' ')} (${run.code}): ${seen.sent} requests, ${seen.failed} failed ${seen.samples.join('; ')}`);
    return { run, seen };
  };

  it('the first deploy through the balancer brings every app up, each host back in rotation', async () => {
    config({ balancer: balancer() });
    const r = await ship('deploy', 'test');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const steps = r.events().filter((e) => e.event === 'task:end' && String(e.task).startsWith('lb '));
    expect(steps.filter((e) => e.task === 'lb drain' && e.exitCode === 0)).toHaveLength(6);
    expect(steps.filter((e) => e.task === 'lb enable' && e.exitCode === 0)).toHaveLength(6);
  });

  it('a batched deploy under load: 0 failed requests', async () => {
    config({ balancer: balancer() });
    repo.commit({ 'v2.txt': '2' });
    const { run, seen } = await underLoad('deploy', 'test');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(seen.sent).toBeGreaterThanOrEqual(2000);
    expect(seen.failed, seen.samples.join('\n')).toBe(0);
  });

  it('a deploy failing its health check on the second wave rolls back under load: 0 failed requests', async () => {
    config({ balancer: balancer() });
    const before = all.map(current);
    repo.commit({ FAIL_ON_THIRD: 'yes' });
    const { run, seen } = await underLoad('deploy', 'test');
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(all.map(current)).toEqual(before);
    expect(seen.sent).toBeGreaterThanOrEqual(2000);
    expect(seen.failed, seen.samples.join('\n')).toBe(0);
    repo.remove('FAIL_ON_THIRD');
  });

  it('a manual rollback under load: 0 failed requests', async () => {
    config({ balancer: balancer() });
    const before = current(0);
    const { run, seen } = await underLoad('rollback', 'test');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(current(0)).not.toBe(before);
    expect(seen.sent).toBeGreaterThanOrEqual(2000);
    expect(seen.failed, seen.samples.join('\n')).toBe(0);
  });

  it('without load_balancer the same batched deploy loses requests (what the integration prevents)', async () => {
    config();
    repo.commit({ 'v3.txt': '3' });
    const { run, seen } = await underLoad('deploy', 'test');
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(seen.failed).toBeGreaterThan(0);
  });

  it('a host the balancer does not know stops the deploy before its swap: no host changes', async () => {
    config({ balancer: balancer('  server: "nosuch-{{host}}"') });
    const before = all.map(current);
    repo.commit({ 'v4.txt': '4' });
    const r = await ship('deploy', 'test');
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/could not be taken out of the load balancer/);
    expect(r.stdout + r.stderr).toMatch(/HAProxy/);
    expect(all.map(current)).toEqual(before);
  });

  it('refuses a rollout that would drain every server at once, unless drain_all allows it', async () => {
    config({ balancer: balancer(), rollout: '' });
    const before = all.map(current);
    const r = await ship('deploy', 'test');
    expect(r.code).toBe(2);
    expect(r.stdout + r.stderr).toMatch(/drains all 6 balanced host\(s\) at once/);
    expect(all.map(current)).toEqual(before);
    config({ balancer: balancer('  drain_all: true'), rollout: '' });
    expect((await ship('deploy', 'test', '--dry-run')).code).toBe(0);
  });

  it('ship check: the admin socket answers and the backend has every host; a host it lacks fails', async () => {
    config({ balancer: balancer() });
    const ok = await ship('check', 'test');
    const item = (r: typeof ok, check: string) => r.events().find((e) => e.event === 'check' && e.check === check)!;
    expect(item(ok, 'load balancer')).toMatchObject({ status: 'pass', group: 'health', host: 'stage' });
    expect(String(item(ok, 'load balancer').detail)).toMatch(/backend app has every host \(6\)/);
    expect(item(ok, 'restart')).toMatchObject({ status: 'pass', group: 'health', host: 'stage' });
    config({ balancer: balancer('  server: "web-{{host}}"') });
    const bad = await ship('check', 'test');
    expect(bad.code).toBe(1);
    expect(String(item(bad, 'load balancer').detail)).toMatch(/backend app has no server web-/);
    config();
    expect(item(await ship('check', 'test'), 'restart')).toMatchObject({ status: 'warn' });
  });

  it('kind commands, driven from a host of its own role: your commands run there for every app host; that host is not deployed to', async () => {
    const sock = `UNIX-CONNECT:${lb.socket}`;
    config({
      lbHost: 5,
      balancer: `load_balancer:
  kind: commands
  on: lb
  drain: printf 'set server app/%s state drain\\n' {{server}} | socat - ${sock} && echo drain {{server}} >> "$HOME/lb.log"
  enable: printf 'set server app/%s state ready\\n' {{server}} | socat - ${sock} && echo enable {{server}} >> "$HOME/lb.log"
  sessions: printf 'show stat\\n' | socat - ${sock} | awk -F, -v s={{server}} '$2 == s { print $5 }'
  drain_timeout: 5s
`,
    });
    repo.commit({ 'v5.txt': '5' });
    const lbCurrent = current(5);
    const r = await ship('deploy', 'test');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const log = readFileSync(join(fleet.hosts[5]!.home, 'lb.log'), 'utf8').trim().split('\n');
    const balanced = fleet.hosts.slice(0, 5).map((h) => h.address);
    expect(
      log
        .filter((l) => l.startsWith('drain '))
        .map((l) => l.slice(6))
        .sort(),
    ).toEqual([...balanced].sort());
    expect(
      log
        .filter((l) => l.startsWith('enable '))
        .map((l) => l.slice(7))
        .sort(),
    ).toEqual([...balanced].sort());
    expect(current(5)).toBe(lbCurrent);
    expect(r.events().find((e) => e.event === 'deploy:start')!.hosts).toHaveLength(5);
    // the balancer's own host is never drained; every server is back in rotation
    expect(adminStates()).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('a manual rollback failing its health check on the second wave puts every switched host back, in rotation once healthy: 0 failed requests', async () => {
    config({ balancer: balancer() });
    repo.commit({ 'v6.txt': '6' });
    expect((await ship('deploy', 'test')).code).toBe(0);
    repo.commit({ 'v7.txt': '7' });
    expect((await ship('deploy', 'test')).code).toBe(0);
    const [six, seven] = releases(3).slice(-2);
    writeFileSync(at(3, `releases/${six}/UNHEALTHY`), ''); // the target no longer starts healthy on a host of the second wave
    const { run, seen } = await underLoad('rollback', 'test');
    expect(run.code, run.stdout + run.stderr).toBe(3);
    expect(all.map(current)).toEqual(all.map(() => seven));
    // waves 1 and 2 went to the target; those four hosts went back, the failing one first, each back in rotation
    const back = run.events().filter((e) => e.event === 'rollback' && e.to === seven);
    expect(back.map((e) => [e.host, e.ok])).toEqual([3, 2, 1, 0].map((i) => [fleet.hosts[i]!.address, true]));
    expect(adminStates()).toEqual([0, 0, 0, 0, 0, 0]);
    expect(seen.sent).toBeGreaterThanOrEqual(2000);
    expect(seen.failed, seen.samples.join('\n')).toBe(0);
  });

  it('a host that is not healthy on the way back either stays drained, and says so (exit 5): 0 failed requests', async () => {
    config({ balancer: balancer() });
    const [six, seven] = releases(3).slice(-2);
    for (const r of [six, seven]) writeFileSync(at(3, `releases/${r}/UNHEALTHY`), ''); // its own release fails after a restart too
    const { run, seen } = await underLoad('rollback', 'test');
    expect(run.code, run.stdout + run.stderr).toBe(5);
    const line = run.events().find((e) => e.event === 'rollback' && e.host === fleet.hosts[3]!.address && e.to === seven)!;
    expect(line).toMatchObject({ ok: false, current: seven });
    expect(String(line.reason)).toMatch(/stays drained in the load balancer \(\S+\): enable it there once it is healthy/);
    expect(adminStates()).toEqual([0, 0, 0, 8, 0, 0]); // 8: drained by hand (HAProxy's FDRAIN)
    expect(seen.failed, seen.samples.join('\n')).toBe(0);
    // leave the host as a next test would want it
    for (const r of [six, seven]) rmSync(at(3, `releases/${r}/UNHEALTHY`));
    execFileSync('sh', ['-c', `printf 'set server app/${fleet.hosts[3]!.address} state ready\\n' | socat - UNIX-CONNECT:${lb.socket}`]);
  });
});
