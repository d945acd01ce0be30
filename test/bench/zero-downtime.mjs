/**
 * `npm run bench:zero-downtime`: what a deploy costs the users of a fleet behind a load
 * balancer. Six sshd hosts of the e2e harness each run the example app, restarted by a plain
 * kill-and-start script; a real HAProxy on loopback is in front (no health checks of its own,
 * retries 0); eight keep-alive clients send requests without pause during each scenario:
 *
 *   deploy           a batched deploy (batch: 2) with load_balancer
 *   failed wave      a deploy failing its health check on the 2nd wave, rolled back
 *   rollback         ship rollback
 *   no balancer      the same batched deploy without load_balancer
 *
 * Prints (and writes to bench-results/zero-downtime-latest.md) each scenario's duration,
 * requests and failed requests. Needs root, sshd, haproxy and socat, like the e2e suite.
 *   SHIP_E2E_NET=1               third octet of the fleet's addresses (127.0.NET.N)
 *   BENCH_FIRST_ADDRESS=201      the fleet's first host number
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cachedHelper, loadFleetHarness } from './load-fleet.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'dist', 'bin', 'main.js');
const FIRST = Number(process.env.BENCH_FIRST_ADDRESS ?? 201);
const HOSTS = 6;

const git = (cwd, ...args) => execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@ship.invalid', ...args], { cwd, encoding: 'utf8' });

function exampleRepo() {
  const dir = mkdtempSync(join(tmpdir(), 'ship-zd-repo-'));
  cpSync(join(ROOT, 'templates', 'example-app'), dir, { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  const commit = (files = {}, message = 'change') => {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', message);
    execFileSync('chmod', ['-R', 'a+rX', dir]);
  };
  commit({}, 'first');
  chmodSync(dir, 0o755);
  return {
    dir,
    commit,
    remove: (f) => {
      git(dir, 'rm', '-q', f);
      return commit({}, `remove ${f}`);
    },
  };
}

function config(work, fleet, repo, lb, basePort, withBalancer) {
  const hosts = fleet.hosts.map((h, i) => `      - { host: ${h.address}, vars: { port: ${basePort + i} } }`).join('\n');
  const balancer = `load_balancer:\n  kind: haproxy\n  socket: ${lb.socket}\n  backend: app\n  drain_timeout: 5s\n`;
  writeFileSync(
    join(work, 'deploy.yaml'),
    `app: demo
repo: ${repo.dir}
deploy_to: ${fleet.hosts[0].deployTo}
ssh: { user: ${fleet.user}, identity: ${fleet.identityFile} }
tasks:
  restart: |
    if [ -e FAIL_ON_THIRD ] && [ {{host}} = ${fleet.hosts[2].address} ]; then touch UNHEALTHY; fi
    PORT={{port}} sh bin/restart
health: { http: "http://127.0.0.1:{{port}}/health", expect: { status: 200, body: ok }, timeout: 5s, interval: 100ms }
rollout: { batch: 2 }
${withBalancer ? balancer : ''}
stages:
  bench:
    hosts:
${hosts}
`,
  );
}

async function main() {
  const harness = await loadFleetHarness(ROOT);
  const { startHaproxy, startLoad } = await cachedHelper(ROOT, 'haproxy.js');
  const basePort = 47300 + (process.pid % 300) * 8;
  const fleet = await harness.startFleet({ count: HOSTS, firstAddress: FIRST });
  const lb = await startHaproxy(fleet.hosts.map((h, i) => ({ name: h.address, port: basePort + i })));
  const repo = exampleRepo();
  const work = mkdtempSync(join(tmpdir(), 'ship-zd-bench-'));
  mkdirSync(work, { recursive: true });
  const env = { ...process.env, HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile };
  const ship = (...args) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [BIN, '--config', join(work, 'deploy.yaml'), ...args, '--json'], { cwd: work, env, encoding: 'utf8' });
    return { code: r.status, ms: Math.round(performance.now() - t0), out: r.stdout + r.stderr };
  };
  const rows = [];
  const scenario = async (name, args, prepare) => {
    prepare?.();
    const load = startLoad(lb.port, { min: 2000 });
    // spawnSync would block the load generator: ship runs in a child, waited for without blocking
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, '--config', join(work, 'deploy.yaml'), ...args, '--json'], { cwd: work, env, stdio: 'ignore' });
    const run = await new Promise((resolve) => child.on('close', (code) => resolve({ code, ms: Math.round(performance.now() - t0) })));
    const seen = await load.stop();
    rows.push({ name, exit: run.code, ms: run.ms, sent: seen.sent, failed: seen.failed });
    console.log(`${name}: exit ${run.code}, ${run.ms} ms, ${seen.sent} requests, ${seen.failed} failed`);
  };
  try {
    config(work, fleet, repo, lb, basePort, true);
    const first = ship('deploy', 'bench');
    if (first.code !== 0) throw new Error(`first deploy failed:\n${first.out}`);
    await scenario('deploy (load_balancer, batch 2)', ['deploy', 'bench'], () => repo.commit({ 'v2.txt': '2' }));
    await scenario('failed 2nd wave, rolled back', ['deploy', 'bench'], () => repo.commit({ FAIL_ON_THIRD: 'yes' }));
    repo.remove('FAIL_ON_THIRD');
    await scenario('ship rollback', ['rollback', 'bench']);
    await scenario('deploy without load_balancer', ['deploy', 'bench'], () => {
      config(work, fleet, repo, lb, basePort, false);
      repo.commit({ 'v3.txt': '3' });
    });
  } finally {
    await Promise.all(fleet.hosts.map((h) => fleet.ssh(h.index, `kill $(cat ${h.deployTo}/shared/app.pid) 2>/dev/null; true`)));
    await lb.stop();
    await fleet.stop();
  }
  const table = [
    `# zero downtime: ${HOSTS} hosts behind HAProxy, 8 clients without pause (${new Date().toISOString()})`,
    '',
    '| scenario | exit | ship ms | requests | failed |',
    '|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.name} | ${r.exit} | ${r.ms} | ${r.sent} | ${r.failed} |`),
    '',
  ].join('\n');
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench-results', 'zero-downtime-latest.md'), table);
  console.log(`\n${table}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
