#!/usr/bin/env node
/**
 * `npm run bench`: how fast is a ship deploy, against the limit and against Capistrano, on the
 * real-sshd test fleet. A script, not a test: it asserts nothing about timings.
 *
 * For each fleet size (BENCH_HOSTS, default 1,10,50) it starts the e2e fleet harness
 * (test/helpers/fleet/, loaded by stripping its types: see load-fleet.mjs), makes a small app
 * repository (200 files of 1-2 KB, 20 commits), and for each strategy (remote, upload), for
 * BENCH_RUNS runs (default 3), measures the built CLI (`node dist/cli/main.js ... --json`, from
 * a copy of dist/ taken at start, so a rebuild meanwhile changes nothing) under GNU time (wall, user+sys CPU of ship and the processes it waited for, peak RSS) for:
 *   first    deploy to empty hosts
 *   same     redeploy of the same sha
 *   new      redeploy of a new sha (one commit later)
 *   rollback ship rollback
 * Each measurement of ship is followed by the same step done by the limit (limit.mjs: one
 * ssh2 connection per host, one exec each, all hosts at once) and, with BENCH_CAPISTRANO=1
 * and the remote strategy, by Capistrano on the same fleet (deploy_to /srv/cap).
 * Once per run and size, after the deploys, the connect floor (limit.mjs in mode floor: the
 * same connections, one exec of `true` on each): what any SSH deploy tool pays at the least on
 * this fleet, set against ship's 1-host same-sha redeploy (remote) to tell whether "N hosts
 * within 2x of the 1-host time" is reachable on this machine at all.
 * Every measurement also records machine CPU: the busy time of the whole machine during the run
 * (/proc/stat, all cores), which adds what process CPU misses, sshd and the hosts' shells, git,
 * tar (and whatever else runs on the machine meanwhile).
 * ship's --json events give a profile of where its time goes per phase.
 * Also: `ship --version` / `ship --help` startup (median of 10), against `node -e 0`.
 *
 * Environment:
 *   BENCH_HOSTS=1,10,50       fleet sizes
 *   BENCH_RUNS=3              runs per size and strategy (median and min-max are reported)
 *   BENCH_STRATEGIES=remote,upload
 *   BENCH_CONCURRENCY=N       pass --concurrency N to ship (default: its config default)
 *   BENCH_CAPISTRANO=1        also time Capistrano (installs the Debian package `capistrano`
 *                             with apt-get when missing; root only; never by default, never in CI)
 *   BENCH_CPUPROF=1           one extra `node --cpu-prof` deploy at the largest size, summarised
 *   BENCH_FIRST_ADDRESS=101   fleet hosts are 127.0.1.N from there (root mode)
 *   BENCH_SHIP=path/main.js   measure another build of the CLI instead of dist/cli/main.js
 *   BENCH_ALT=path/main.js    also measure a second build, interleaved with the first on the same
 *                             fleet (its own deploy_to, /srv/alt): A/B an optimisation
 *   BENCH_ALT_ARGS="..."      extra CLI arguments for the BENCH_ALT build only (e.g. --concurrency 50);
 *                             BENCH_ALT may then be the same build as ship
 * Output: markdown on stdout, progress on stderr, JSON in bench-results/ (gitignored).
 *   main table     per size, strategy and step: wall, CPU, machine CPU, RSS of ship; wall, CPU,
 *                  machine CPU of the limit; ship/limit (and alt, Capistrano columns when run)
 *   Connect floor  per size: wall, process CPU, machine CPU of the floor, floor / ship's 1-host
 *                  same-sha redeploy (remote), and one sentence on the 2x target computed from them
 *   then where ship's time goes (per phase), startup, import costs, the CPU profile (opt-in).
 *   JSON: every run of ship, alt, limit, cap (results.cells) and of the floor (results.floor,
 *   by size) with wallMs, cpuMs, rssMb, machineCpuMs.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { capProject, ensureCapistrano } from './capistrano.mjs';
import { loadFleetHarness } from './load-fleet.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILT = join(ROOT, 'dist', 'bin', 'main.js');
const OUT_DIR = join(ROOT, 'bench-results');
if (!existsSync(process.env.BENCH_SHIP ?? BUILT))
  throw new Error(`${process.env.BENCH_SHIP ?? BUILT} is missing: run npm run build first (npm run bench does)`);
const SHIP = process.env.BENCH_SHIP ? resolve(process.env.BENCH_SHIP) : snapshotOfDist();
const ALT = process.env.BENCH_ALT ? resolve(process.env.BENCH_ALT) : undefined;
const ALT_ARGS = (process.env.BENCH_ALT_ARGS ?? '').split(/\s+/).filter(Boolean);
/** The builds of ship measured: this one, and with BENCH_ALT another one, each in its own deploy_to. */
const SHIPS = [{ key: 'ship', main: SHIP, dir: 'app', args: [] }, ...(ALT ? [{ key: 'alt', main: ALT, dir: 'alt', args: ALT_ARGS }] : [])];
const LIMIT = join(ROOT, 'test', 'bench', 'limit.mjs');

const envList = (name, dflt) =>
  (process.env[name] ?? dflt)
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const SIZES = envList('BENCH_HOSTS', '1,10,50').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const STRATEGIES = envList('BENCH_STRATEGIES', 'remote,upload');
const CONCURRENCY = process.env.BENCH_CONCURRENCY;
const WANT_CAP = process.env.BENCH_CAPISTRANO === '1';
const WANT_PROF = process.env.BENCH_CPUPROF === '1';
const FIRST_ADDRESS = Number(process.env.BENCH_FIRST_ADDRESS ?? 101);
const SCENARIOS = ['first', 'same', 'new', 'rollback'];
const isRoot = process.getuid?.() === 0;

if (!SIZES.every((n) => Number.isInteger(n) && n >= 1)) throw new Error(`BENCH_HOSTS: bad sizes ${process.env.BENCH_HOSTS}`);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`BENCH_RUNS: bad count ${process.env.BENCH_RUNS}`);
for (const s of STRATEGIES) if (s !== 'remote' && s !== 'upload') throw new Error(`BENCH_STRATEGIES: unknown strategy ${s}`);

const T0 = Date.now();
const log = (s) => process.stderr.write(`[bench +${Math.round((Date.now() - T0) / 1000)}s] ${s}\n`);

/**
 * The run measures a copy of dist/ taken now: a long run must not break, or change build
 * half-way, when someone rebuilds (npm run build, a watch) meanwhile. The copy sits in
 * bench-results/.cache/ship/ beside links to recipes/ and templates/ (found relative to dist/),
 * and still resolves packages from this repository's node_modules (parent directories).
 */
function snapshotOfDist() {
  const dir = join(OUT_DIR, '.cache', 'ship');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  for (const d of ['recipes', 'templates']) if (existsSync(join(ROOT, d))) symlinkSync(join(ROOT, d), join(dir, d));
  return join(dir, 'dist', 'bin', 'main.js');
}

// ---------------------------------------------------------------------------------------------
// Measuring one process: wall (here, high resolution), CPU and peak RSS (GNU time)
// ---------------------------------------------------------------------------------------------

const GNU_TIME = ['/usr/bin/time', '/bin/time'].find((p) => {
  if (!existsSync(p)) return false;
  const r = spawnSync(p, ['--version'], { encoding: 'utf8' });
  return /GNU/.test(`${r.stdout}${r.stderr}`);
});
const scratch = mkdtempSync(join(os.tmpdir(), 'ship-bench-'));
chmodSync(scratch, 0o755);

/**
 * Busy CPU time of the whole machine so far (ms, all cores): user+nice+system+irq+softirq+steal
 * of the aggregate "cpu" line of /proc/stat. Process CPU misses the other half of an SSH deploy,
 * sshd and the remote shells, git and tar on the hosts (on loopback, this machine); the
 * difference of two readings catches them, and anything else running meanwhile. The fields are
 * in USER_HZ, 100 a second on Linux (node cannot ask sysconf). null where there is no /proc/stat.
 */
function machineBusyMs() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
    if (f[0] !== 'cpu') return null;
    const [user, nice, system, , , irq, softirq, steal = 0] = f.slice(1).map(Number);
    return (user + nice + system + irq + softirq + steal) * 10;
  } catch {
    return null;
  }
}

/**
 * Runs cmd under GNU time (or, without it, under sh's `times`, which gives CPU but no RSS).
 * CPU is user+sys of the process and every child it waited for (git, tar); peak RSS is the
 * largest resident set of any single one of them (in practice: the node process); machine CPU
 * is what the whole machine was busy meanwhile (machineBusyMs), sshd and the hosts' side included.
 */
function measure(cmd, args, opts = {}) {
  const timesFile = join(scratch, `time-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const [exe, argv] = GNU_TIME
    ? [GNU_TIME, ['-f', '%e %U %S %M', '-o', timesFile, cmd, ...args]]
    : ['sh', ['-c', '"$@"; rc=$?; times > "$BENCH_TIMES"; exit $rc', 'sh', cmd, ...args]];
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const h0 = process.hrtime.bigint();
    const m0 = machineBusyMs();
    // its own process group: a timeout kills the measured command too, not only GNU time (a
    // command left running would hold the pipes open, and the bench would wait on it forever)
    const child = spawn(exe, argv, {
      cwd: opts.cwd ?? scratch,
      env: { ...opts.env, BENCH_TIMES: timesFile },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        // A group kill only with a real pid: -undefined is NaN, and kill(-1) is every process.
        if (!(child.pid > 1)) throw new Error(`no process group to kill (pid ${child.pid})`);
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, opts.timeoutMs ?? 300_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = Number(process.hrtime.bigint() - h0) / 1e6;
      const m1 = machineBusyMs();
      const machineCpuMs = m0 === null || m1 === null ? null : m1 - m0;
      const tExit = Date.now();
      let cpuMs = null;
      let rssMb = null;
      try {
        const text = readFileSync(timesFile, 'utf8').trim();
        if (GNU_TIME) {
          // GNU time prefixes "Command exited with non-zero status N" on failure
          const [, user, sys, rss] = text.split('\n').at(-1).split(' ').map(Number);
          cpuMs = (user + sys) * 1000;
          rssMb = rss / 1024;
        } else {
          const [u, s] = text
            .split('\n')[1]
            .split(' ')
            .map((t) => {
              const m = /^(\d+)m([\d.]+)s$/.exec(t);
              return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
            });
          cpuMs = (u + s) * 1000;
        }
      } catch {
        // no times file: the command did not start
      }
      rmSync(timesFile, { force: true });
      resolve({
        code: timedOut ? 124 : code,
        wallMs,
        cpuMs,
        rssMb,
        machineCpuMs,
        stdout: stdout + (timedOut ? `\n(killed: no exit within ${Math.round((opts.timeoutMs ?? 300_000) / 1000)} s)` : ''),
        stderr,
        t0,
        tExit,
      });
    });
  });
}

const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' });

// ---------------------------------------------------------------------------------------------
// The app repository: 200 files of 1-2 KB, 20 commits
// ---------------------------------------------------------------------------------------------

function makeRepo() {
  const dir = mkdtempSync(join(os.tmpdir(), 'ship-bench-repo-'));
  chmodSync(dir, 0o755);
  const git = (...args) =>
    execFileSync('git', ['-c', 'user.name=ship bench', '-c', 'user.email=bench@ship.invalid', '-c', 'commit.gpgsign=false', ...args], {
      cwd: dir,
      encoding: 'utf8',
    }).trim();
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const words =
    'const let return function deploy release host server current shared build module export import async await value error result config stage'.split(' ');
  const text = (bytes) => {
    let s = '';
    while (s.length < bytes) s += `${words[Math.floor(rnd() * words.length)]}${rnd() < 0.1 ? '\n' : ' '}`;
    return s;
  };
  const dirs = ['src', 'src/lib', 'src/routes', 'public', 'public/css', 'views', 'config', 'test'];
  const files = Array.from({ length: 200 }, (_, i) => `${dirs[i % dirs.length]}/file${i}.js`);
  git('init', '-q', '-b', 'main');
  let n = 0;
  const commit = (msg) => {
    git('add', '-A');
    git('commit', '-q', '-m', msg);
    n++;
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    return git('rev-parse', 'HEAD');
  };
  for (let c = 0; c < 20; c++) {
    // 10 new files per commit, and a few edits of earlier ones
    for (const f of files.slice(c * 10, c * 10 + 10)) {
      mkdirSync(join(dir, dirname(f)), { recursive: true });
      writeFileSync(join(dir, f), text(1024 + Math.floor(rnd() * 1024)));
    }
    for (let e = 0; e < 3 && c > 0; e++) writeFileSync(join(dir, files[Math.floor(rnd() * c * 10)]), text(1024 + Math.floor(rnd() * 1024)));
    commit(`commit ${c + 1}`);
  }
  return {
    dir,
    head: () => git('rev-parse', 'HEAD'),
    /** One more commit (a new sha to deploy). */
    change() {
      for (let e = 0; e < 3; e++) writeFileSync(join(dir, files[Math.floor(rnd() * files.length)]), text(1024 + Math.floor(rnd() * 1024)));
      return commit(`change ${n}`);
    },
    size() {
      let bytes = 0;
      for (const f of files) bytes += readFileSync(join(dir, f)).length;
      return { files: files.length, bytes, commits: Number(git('rev-list', '--count', 'HEAD')) };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting
// ---------------------------------------------------------------------------------------------

const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};
const stat = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? { median: median(v), min: Math.min(...v), max: Math.max(...v), n: v.length } : null;
};
const sec = (ms) => (ms === null || ms === undefined ? '-' : (ms / 1000).toFixed(ms < 10_000 ? 2 : 1));
const fmtS = (s) => (s ? `${sec(s.median)} (${sec(s.min)}–${sec(s.max)})` : '-');
const fmtMb = (s) => (s ? `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)})` : '-');
const ratio = (a, b) => (a && b ? `${(a.median / b.median).toFixed(2)}x` : '-');
const ms = (x) => (x === null || x === undefined ? '-' : String(Math.round(x)));

// ---------------------------------------------------------------------------------------------
// ship's --json events: where the time goes
// ---------------------------------------------------------------------------------------------

function parseEvents(stdout) {
  const out = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      // not an event
    }
  }
  return out;
}

/**
 * Cuts one run into consecutive segments (ms) from the events' timestamps, plus per-host
 * connect times and per-task times:
 *   startup      spawn -> the first connection starts (node, imports, config, git rev-parse,
 *                and with upload the git archive)
 *   connect+lock first connection starts -> deploy:start/rollback:start (handshakes, lock and
 *                inspect round trip; interleaved per host when hosts > concurrency)
 *   prepare      phase prepare -> phase publish (upload, prepare script, migrate slot)
 *   publish      phase publish -> phase finish (swap + restart script, health)
 *   finish       phase finish -> deploy:end (prune, history, unlock script)
 *   switch       (rollback without phase events) rollback:start -> last per-host rollback event
 *   <phase>      any other phase event, up to the next one
 *   exit         deploy:end -> the process has exited (closing connections, node teardown)
 */
function profileRun(events, t0, tExit) {
  const ts = (e) => Date.parse(e.ts);
  const connects = events.filter((e) => e.event === 'host:connect' && e.ok);
  const start = events.find((e) => e.event === 'deploy:start' || e.event === 'rollback:start');
  const end = events.find((e) => e.event === 'deploy:end' || e.event === 'rollback:end');
  if (!connects.length || !start || !end) return null;
  const connectStart = Math.min(...connects.map((c) => ts(c) - c.ms));
  const marks = [
    ['startup', t0],
    ['connect+lock', connectStart],
  ];
  const phases = events.filter((e) => e.event === 'phase');
  if (phases.length) {
    // "publish 2/3" and the like add up under "publish"
    for (const e of phases) marks.push([e.phase.replace(/ \d+\/\d+$/, ''), ts(e)]);
  } else {
    marks.push(['switch', ts(start)]);
    const rb = events.filter((e) => e.event === 'rollback');
    if (rb.length) marks.push(['finish', Math.max(...rb.map(ts))]);
  }
  marks.push(['exit', ts(end)], ['(end)', tExit]);
  const segments = {};
  for (let i = 0; i < marks.length - 1; i++) {
    const [name, at] = marks[i];
    segments[name] = (segments[name] ?? 0) + (marks[i + 1][1] - at);
  }
  const tasks = {};
  for (const e of events) if (e.event === 'task:end') (tasks[e.task] ??= []).push(e.ms);
  return {
    segments,
    connectMs: stat(connects.map((c) => c.ms)),
    tasks: Object.fromEntries(Object.entries(tasks).map(([k, v]) => [k, stat(v)])),
    events: events.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Capistrano (opt-in)
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// One fleet size
// ---------------------------------------------------------------------------------------------

const sibling = (h, name) => h.deployTo.replace(/\/app$/, `/${name}`);

/** Time spent outside the measured commands (fleet, wiping, checks), reported per size. */
const overhead = {};
const timed = (what, fn) => {
  const t = Date.now();
  try {
    return fn();
  } finally {
    overhead[what] = (overhead[what] ?? 0) + Date.now() - t;
  }
};

function wipe(fleet, name) {
  timed('wipe', () => wipeNow(fleet, name));
}

function wipeNow(fleet, name) {
  for (const h of fleet.hosts) {
    const p = h.localPath(sibling(h, name));
    rmSync(p, { recursive: true, force: true });
    if (name === 'app' || name === 'alt') {
      mkdirSync(p, { recursive: true });
      chownSync(p, fleet.uid, fleet.gid);
    }
  }
}

/**
 * Did the tool do the work? Hosts whose `current` does not hold `sha` (read through this
 * machine's view of each host's /srv; the link points into the host's own namespace).
 */
function wrongHosts(fleet, name, sha) {
  const bad = [];
  for (const h of fleet.hosts) {
    try {
      const target = readlinkSync(h.localPath(`${sibling(h, name)}/current`));
      const rev = readFileSync(h.localPath(`${target.replace(/\/+$/, '')}/REVISION`), 'utf8').trim();
      if (rev !== sha) bad.push(h.address);
    } catch {
      bad.push(h.address);
    }
  }
  return bad;
}

function shipConfig(fleet, repo, strategy, work, dir = 'app') {
  const file = join(work, `deploy.${dir}.${strategy}.yaml`);
  writeFileSync(
    file,
    [
      'app: bench',
      `repo: ${repo.dir}`,
      'keep_releases: 5',
      `strategy: ${strategy}`,
      'shared:',
      '  dirs: [log, storage]',
      'ssh:',
      `  user: ${fleet.user}`,
      `  identity: ${fleet.identityFile}`,
      '  known_hosts: strict',
      'stages:',
      '  bench:',
      '    hosts:',
      ...fleet.hosts.map((h) => `      - { host: ${h.address}, port: ${h.port}, deploy_to: ${sibling(h, dir)} }`),
      '',
    ].join('\n'),
  );
  return file;
}

async function benchSize(harness, size, repo, results) {
  log(`starting a fleet of ${size} host(s) at 127.0.1.${FIRST_ADDRESS}...`);
  const t = Date.now();
  const fleet = await harness.startFleet({ count: size, firstAddress: FIRST_ADDRESS });
  log(`fleet up in ${Date.now() - t} ms`);
  const work = mkdtempSync(join(scratch, `work-${size}-`));
  const shipEnv = { ...baseEnv(), CI: 'true', HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile };
  const capDir = results.capistrano.ok ? capProject(fleet, repo, { scratch, deployTo: '/srv/cap' }) : undefined;
  let limitSeq = 0;
  const limitId = () => `2000${String(++limitSeq).padStart(10, '0')}`;
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const strategy of STRATEGIES) {
        const configs = Object.fromEntries(SHIPS.map((t) => [t.key, shipConfig(fleet, repo, strategy, work, t.dir)]));
        const cap = capDir && strategy === 'remote';
        for (const t of SHIPS) wipe(fleet, t.dir);
        wipe(fleet, 'limit');
        if (cap) wipe(fleet, 'cap');
        const limitIds = [];
        let shaBefore;
        for (const scenario of SCENARIOS) {
          if (scenario === 'new') timed('commit', () => repo.change());
          const sha = repo.head();
          if (scenario === 'first') shaBefore = sha;
          const expect = scenario === 'rollback' ? shaBefore : sha;
          const check = (name, r) => {
            if (!r.ok) return;
            const bad = timed('check', () => wrongHosts(fleet, name, expect));
            if (bad.length) {
              r.ok = false;
              r.error = `current is not ${expect.slice(0, 12)} on ${bad.length} host(s): ${bad.slice(0, 5).join(', ')}`;
              log(`${name}: ${r.error}`);
            }
          };
          const key = `${size}|${strategy}|${scenario}`;
          const rec = (results.cells[key] ??= { hosts: size, strategy, scenario, ship: [], alt: [], limit: [], cap: [] });

          // ship (and the alternative build, in alternating order so neither always goes first)
          for (const t of run % 2 ? SHIPS : [...SHIPS].reverse()) {
            const args = [
              '--config',
              configs[t.key],
              scenario === 'rollback' ? 'rollback' : 'deploy',
              'bench',
              '--json',
              ...(CONCURRENCY ? ['--concurrency', CONCURRENCY] : []),
              ...t.args,
            ];
            const r = await measure(process.execPath, [t.main, ...args], { cwd: work, env: shipEnv });
            const events = parseEvents(r.stdout);
            const end = events.find((e) => e.event === 'deploy:end' || e.event === 'rollback:end');
            const ok = r.code === 0 && end?.ok === true;
            const sr = {
              run,
              ok,
              code: r.code,
              wallMs: r.wallMs,
              cpuMs: r.cpuMs,
              rssMb: r.rssMb,
              machineCpuMs: r.machineCpuMs,
              profile: ok ? profileRun(events, r.t0, r.tExit) : null,
              ...(ok ? {} : { error: r.stderr.trim().split('\n').slice(-8).join('\n') }),
            };
            check(t.dir, sr);
            rec[t.key].push(sr);
            log(
              `${size} hosts ${strategy} ${scenario} run ${run}: ${t.key} ${ok ? `${sec(r.wallMs)} s, cpu ${sec(r.cpuMs)} s, machine cpu ${sec(r.machineCpuMs)} s, ${Math.round(r.rssMb ?? 0)} MB` : `FAILED (exit ${r.code})\n${r.stderr.trim().split('\n').slice(-8).join('\n')}`}`,
            );
          }

          // the limit
          const release = limitId();
          if (scenario !== 'rollback') limitIds.push(release);
          const job = {
            hosts: fleet.hosts.map((h) => ({ address: h.address, port: h.port, deployTo: sibling(h, 'limit') })),
            user: fleet.user,
            identityFile: fleet.identityFile,
            knownHostsFile: fleet.knownHostsFile,
            mode: scenario === 'rollback' ? 'rollback' : 'deploy',
            strategy,
            repo: repo.dir,
            sha,
            release,
            target: limitIds.at(-2),
            keep: 5,
            shared: ['log', 'storage'],
          };
          const jobFile = join(work, 'limit-job.json');
          writeFileSync(jobFile, JSON.stringify(job));
          const l = await measure(process.execPath, [LIMIT, jobFile], { env: { ...baseEnv(), HOME: fleet.home } });
          const lr = {
            run,
            ok: l.code === 0,
            wallMs: l.wallMs,
            cpuMs: l.cpuMs,
            rssMb: l.rssMb,
            machineCpuMs: l.machineCpuMs,
            ...(l.code === 0 ? {} : { error: l.stderr.trim() }),
          };
          check('limit', lr);
          rec.limit.push(lr);
          log(
            `${size} hosts ${strategy} ${scenario} run ${run}: limit ${l.code === 0 ? `${sec(l.wallMs)} s, cpu ${sec(l.cpuMs)} s, machine cpu ${sec(l.machineCpuMs)} s` : `FAILED: ${l.stderr.trim()}`}`,
          );

          // Capistrano
          if (cap) {
            const task = scenario === 'rollback' ? 'deploy:rollback' : 'deploy';
            // Capistrano 3.17 sometimes never exits after a deploy to 50 hosts (its log says it
            // finished): such a run counts as failed after 3 minutes
            const c = await measure('cap', ['bench', task], { cwd: capDir, env: { ...baseEnv(), HOME: fleet.home }, timeoutMs: 180_000 });
            const cr = {
              run,
              ok: c.code === 0,
              wallMs: c.wallMs,
              cpuMs: c.cpuMs,
              rssMb: c.rssMb,
              machineCpuMs: c.machineCpuMs,
              ...(c.code === 0 ? {} : { error: (c.stdout + c.stderr).trim().split('\n').slice(-15).join('\n') }),
            };
            check('cap', cr);
            rec.cap.push(cr);
            log(
              `${size} hosts ${strategy} ${scenario} run ${run}: capistrano ${c.code === 0 ? `${sec(c.wallMs)} s, cpu ${sec(c.cpuMs)} s, machine cpu ${sec(c.machineCpuMs)} s` : `FAILED (exit ${c.code})\n${(c.stdout + c.stderr).trim().split('\n').slice(-15).join('\n')}`}`,
            );
          }
        }
      }

      // the connect floor, once per run: after the deploys, so sshd and the page cache are warm
      // as they are for every deploy but the first
      const f = await measureFloor(fleet, work, run);
      (results.floor[size] ??= []).push(f);
      log(`${size} hosts floor run ${run}: ${f.ok ? `${sec(f.wallMs)} s, cpu ${sec(f.cpuMs)} s, machine cpu ${sec(f.machineCpuMs)} s` : `FAILED: ${f.error}`}`);
    }
    if (WANT_PROF && size === Math.max(...SIZES)) results.cpuProfile = await cpuProfile(fleet, repo, work, shipEnv, size);
  } finally {
    const t0 = Date.now();
    await fleet.stop();
    overhead.stop = (overhead.stop ?? 0) + Date.now() - t0;
    log(`${size} hosts: outside the measurements so far (ms): ${JSON.stringify(overhead)}`);
  }
}

/**
 * The connect floor: limit.mjs in mode floor, one ssh2 connection per host, all at once, one
 * exec of `true` on each. Any SSH deploy tool pays at least this on this fleet, so it bounds
 * what a target like "N hosts within 2x of ship's 1-host time" can ask on this machine.
 */
async function measureFloor(fleet, work, run) {
  const job = {
    hosts: fleet.hosts.map((h) => ({ address: h.address, port: h.port })),
    user: fleet.user,
    identityFile: fleet.identityFile,
    knownHostsFile: fleet.knownHostsFile,
    mode: 'floor',
  };
  const jobFile = join(work, 'floor-job.json');
  writeFileSync(jobFile, JSON.stringify(job));
  const f = await measure(process.execPath, [LIMIT, jobFile], { env: { ...baseEnv(), HOME: fleet.home } });
  return {
    run,
    ok: f.code === 0,
    wallMs: f.wallMs,
    cpuMs: f.cpuMs,
    rssMb: f.rssMb,
    machineCpuMs: f.machineCpuMs,
    ...(f.code === 0 ? {} : { error: f.stderr.trim() }),
  };
}

// ---------------------------------------------------------------------------------------------
// CPU profile of one deploy (opt-in)
// ---------------------------------------------------------------------------------------------

async function cpuProfile(fleet, repo, work, shipEnv, size) {
  const dir = join(OUT_DIR, 'cpuprof');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const config = shipConfig(fleet, repo, 'remote', work);
  repo.change();
  const r = await measure(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, SHIP, '--config', config, 'deploy', 'bench', '--json'], {
    cwd: work,
    env: shipEnv,
  });
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (r.code !== 0 || !file) return { error: `profiled deploy failed (exit ${r.code}): ${r.stderr.trim().split('\n').slice(-5).join(' | ')}` };
  const prof = JSON.parse(readFileSync(join(dir, file), 'utf8'));
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map();
  prof.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1000));
  // Self time is attributed to the nearest frame (itself or a caller) that says whose work it
  // is: module loading (imports), a package of node_modules, ship's own code; else node itself.
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const own = (n) => {
    const { url, functionName } = n.callFrame;
    if (url.startsWith('node:internal/modules/')) return 'module loading (imports, compile)';
    if (url.includes('/node_modules/')) return url.split('/node_modules/').at(-1).split('/')[0];
    if (url.includes('/dist/')) return 'ship (dist)';
    if (!url && ['(idle)', '(garbage collector)', '(program)'].includes(functionName)) return functionName;
    return undefined;
  };
  const category = (id) => {
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const c = own(byId.get(at));
      if (c) return c;
    }
    return 'node internals (event loop, streams, sockets)';
  };
  const cats = {};
  const fns = new Map();
  let total = 0;
  for (const [id, t] of self) {
    const n = byId.get(id);
    const { functionName, url, lineNumber } = n.callFrame;
    const cat = category(id);
    cats[cat] = (cats[cat] ?? 0) + t;
    total += t;
    const key = `${functionName || '(anonymous)'} ${url ? `${url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${lineNumber + 1}` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + t);
  }
  const top = (m, k) =>
    [...(m instanceof Map ? m : Object.entries(m))]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, t]) => ({ name, ms: Math.round(t) }));
  return {
    hosts: size,
    file: join('bench-results', 'cpuprof', file),
    wallMs: r.wallMs,
    cpuMs: r.cpuMs,
    sampledMs: Math.round(total),
    categories: top(cats, 20),
    functions: top(fns, 20),
  };
}

// ---------------------------------------------------------------------------------------------
// Startup
// ---------------------------------------------------------------------------------------------

async function startup() {
  const out = {};
  const cases = { 'node -e 0': ['-e', '0'], 'ship --version': [SHIP, '--version'], 'ship --help': [SHIP, '--help'] };
  for (const [name, args] of Object.entries(cases)) {
    const runs = [];
    for (let i = 0; i < 10; i++) runs.push(await measure(process.execPath, args, { env: baseEnv() }));
    out[name] = { wall: stat(runs.map((r) => r.wallMs)), cpu: stat(runs.map((r) => r.cpuMs)), rss: stat(runs.map((r) => r.rssMb)) };
  }
  return out;
}

/** What importing each runtime dependency alone costs (wall of `node -e import(dep)` minus `node -e 0`, median of 5). */
async function importCosts() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const time = async (code) => {
    const runs = [];
    for (let i = 0; i < 5; i++) runs.push((await measure(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, env: baseEnv() })).wallMs);
    return median(runs);
  };
  const base = await time('0');
  const out = {};
  for (const dep of Object.keys(pkg.dependencies ?? {})) out[dep] = Math.max(0, (await time(`await import(${JSON.stringify(dep)})`)) - base);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

function machine() {
  const sh = (c, a) => {
    const r = spawnSync(c, a, { encoding: 'utf8' });
    return (r.stdout || r.stderr || '').trim().split('\n')[0];
  };
  return {
    cpus: os.availableParallelism?.() ?? os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? '?',
    memGb: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    openssh: sh('ssh', ['-V']),
    git: sh('git', ['--version']),
    ship: sh('git', ['-C', ROOT, 'describe', '--always', '--dirty']) + (process.env.BENCH_SHIP ? ` (BENCH_SHIP=${SHIP})` : ''),
    gnuTime: !!GNU_TIME,
    loadAvgAtStart: os.loadavg().map((x) => Number(x.toFixed(2))),
  };
}

/**
 * Machine CPU can only tell what sshd and the hosts cost when the machine has idle cores left:
 * when other work keeps every core busy, it reads about cores × wall whatever ran. Says so, with
 * how many runs were that close to the ceiling, rather than let the column pass for a cost.
 */
function saturationNote(results) {
  const cores = results.machine.cpus;
  const runs = [
    ...Object.values(results.cells).flatMap((c) => [...c.ship, ...(c.alt ?? []), ...c.limit, ...c.cap]),
    ...Object.values(results.floor).flat(),
  ].filter((r) => r.ok && r.machineCpuMs !== null && r.machineCpuMs !== undefined && r.wallMs > 0);
  const full = runs.filter((r) => r.machineCpuMs >= 0.9 * cores * r.wallMs);
  if (!runs.length || full.length < runs.length / 4) return [];
  return [
    '',
    `Machine CPU was at 90% or more of ${cores} cores × wall in ${full.length} of ${runs.length} runs: the machine was saturated (other work), so machine CPU there is mostly the ceiling, not what the deploys cost.`,
  ];
}

/**
 * The connect floor table, against ship's own 1-host same-sha redeploy (remote): if the floor
 * alone at N hosts is over twice that, "N hosts at most 2x the 1-host time" is out of reach for
 * any SSH tool on this machine, whatever ship does.
 */
function floorReport(results) {
  const sizes = Object.keys(results.floor)
    .map(Number)
    .sort((a, b) => a - b);
  if (!sizes.length) return [];
  const floors = sizes.map((n) => {
    const ok = results.floor[n].filter((r) => r.ok);
    return {
      n,
      runs: results.floor[n].length,
      failed: results.floor[n].length - ok.length,
      wall: stat(ok.map((r) => r.wallMs)),
      cpu: stat(ok.map((r) => r.cpuMs)),
      mcpu: stat(ok.map((r) => r.machineCpuMs)),
    };
  });
  const base = stat((results.cells['1|remote|same']?.ship ?? []).filter((r) => r.ok).map((r) => r.wallMs));
  const L = ['', '### Connect floor', ''];
  L.push(
    'One ssh2 connection per host, all at once, one exec of `true` on each, then close (limit.mjs in mode floor): what any SSH deploy tool pays at the least here. Once per run, after the deploys.',
    '',
  );
  L.push(`| hosts | floor wall s | process CPU s | machine CPU s | floor / ship 1-host same (remote) |`, '|---:|---:|---:|---:|---:|');
  for (const f of floors)
    L.push(`| ${f.n} | ${fmtS(f.wall)}${f.failed ? ` (${f.failed} failed)` : ''} | ${fmtS(f.cpu)} | ${fmtS(f.mcpu)} | ${ratio(f.wall, base)} |`);
  L.push('');
  if (!base) {
    L.push(
      "ship's 1-host same-sha redeploy (remote) was not measured (BENCH_HOSTS without 1, or BENCH_STRATEGIES without remote): no ratio, no verdict on the 2x target.",
    );
    return L;
  }
  const target = 2 * base.median;
  const many = floors.filter((f) => f.n > 1 && f.wall);
  const over = many.filter((f) => f.wall.median > target);
  const under = many.filter((f) => f.wall.median <= target);
  const list = (fs, headroom) =>
    fs.map((f) => `${f.n} hosts (${sec(f.wall.median)} s${headroom ? `, leaving ${sec(target - f.wall.median)} s` : ''})`).join(', ');
  const head = `Target "N hosts within 2x of ship's 1-host time" = 2 × ${sec(base.median)} s = ${sec(target)} s: `;
  if (!many.length) L.push(`${head}no fleet of more than 1 host measured, no verdict.`);
  else if (!over.length) L.push(`${head}the floor stays under it at ${list(under, true)}, so it is reachable on this machine as far as connecting goes.`);
  else
    L.push(
      `${head}the floor alone exceeds it at ${list(over, false)}, so no SSH deploy tool can meet it there on this machine${under.length ? `; it stays under at ${list(under, true)}` : ''}.`,
    );
  return L;
}

function report(results) {
  const L = [];
  const m = results.machine;
  L.push('## ship benchmark', '');
  L.push(`Machine: ${m.cpus} CPU (${m.cpuModel}), ${m.memGb} GB RAM, ${m.kernel}; ${m.node}; ${m.openssh}; ${m.git}; ship ${m.ship}.`);
  L.push(
    `Load average (1, 5, 15 min) at start ${m.loadAvgAtStart.join(', ')}, at end ${m.loadAvgAtEnd.join(', ')}: other work on this machine skews the numbers; the limit and Capistrano run interleaved with ship, so the ratios suffer less than the absolute times.`,
  );
  L.push(
    `App: ${results.repo.files} files, ${Math.round(results.repo.bytes / 1024)} KB, ${results.repo.commits}+ commits. Runs: ${RUNS} per cell; median (min–max). Fleet: real sshd on loopback, on this machine.`,
  );
  L.push(
    `CPU = user+sys of the process and the children it waited for (git, tar); machine CPU = busy time of the whole machine during the run, all cores (/proc/stat): adds sshd and the hosts' shells, git and tar, and whatever else ran meanwhile; RSS = peak of the largest single process${m.gnuTime ? '' : ' (n/a: GNU time not installed)'}. ship runs with --json${CONCURRENCY ? ` --concurrency ${CONCURRENCY}` : ' and its default concurrency (20)'}.`,
  );
  L.push('');
  if (ALT)
    L.push(
      `alt = BENCH_ALT=${ALT}${ALT_ARGS.length ? ` with ${ALT_ARGS.join(' ')}` : ''}, run interleaved with ship on the same fleet (deploy_to /srv/alt).`,
      '',
    );
  const withCap = Object.values(results.cells).some((c) => c.cap.length);
  const withAlt = Object.values(results.cells).some((c) => c.alt?.length);
  L.push(
    `| hosts | strategy | step | ship wall s | ship CPU s | ship machine CPU s | ship RSS MB |${withAlt ? ' alt wall s | alt CPU s | alt RSS MB | alt/ship |' : ''} limit wall s | limit CPU s | limit machine CPU s | ship/limit |${withAlt ? ' alt/limit |' : ''}${withCap ? ' cap wall s | cap CPU s | ship/cap |' : ''}`,
  );
  L.push(
    `|---:|---|---|---:|---:|---:|---:|${withAlt ? '---:|---:|---:|---:|' : ''}---:|---:|---:|---:|${withAlt ? '---:|' : ''}${withCap ? '---:|---:|---:|' : ''}`,
  );
  for (const c of Object.values(results.cells)) {
    const okS = c.ship.filter((r) => r.ok);
    const s = {
      wall: stat(okS.map((r) => r.wallMs)),
      cpu: stat(okS.map((r) => r.cpuMs)),
      mcpu: stat(okS.map((r) => r.machineCpuMs)),
      rss: stat(okS.map((r) => r.rssMb)),
    };
    const okL = c.limit.filter((r) => r.ok);
    const l = { wall: stat(okL.map((r) => r.wallMs)), cpu: stat(okL.map((r) => r.cpuMs)), mcpu: stat(okL.map((r) => r.machineCpuMs)) };
    const okC = c.cap.filter((r) => r.ok);
    const k = { wall: stat(okC.map((r) => r.wallMs)), cpu: stat(okC.map((r) => r.cpuMs)) };
    const fails = c.ship.length - okS.length;
    const okA = (c.alt ?? []).filter((r) => r.ok);
    const a = { wall: stat(okA.map((r) => r.wallMs)), cpu: stat(okA.map((r) => r.cpuMs)), rss: stat(okA.map((r) => r.rssMb)) };
    const altCells = withAlt
      ? ` ${fmtS(a.wall)}${okA.length < c.alt.length ? ` (${c.alt.length - okA.length} failed)` : ''} | ${fmtS(a.cpu)} | ${fmtMb(a.rss)} | ${ratio(a.wall, s.wall)} |`
      : '';
    const capCells = c.cap.length
      ? ` ${fmtS(k.wall)}${okC.length < c.cap.length ? ` (${c.cap.length - okC.length} failed)` : ''} | ${fmtS(k.cpu)} | ${ratio(s.wall, k.wall)} |`
      : withCap
        ? ' | | |'
        : '';
    L.push(
      `| ${c.hosts} | ${c.strategy} | ${c.scenario} | ${fmtS(s.wall)}${fails ? ` (${fails} failed)` : ''} | ${fmtS(s.cpu)} | ${fmtS(s.mcpu)} | ${fmtMb(s.rss)} |${altCells} ${fmtS(l.wall)} | ${fmtS(l.cpu)} | ${fmtS(l.mcpu)} | ${ratio(s.wall, l.wall)} |${withAlt ? ` ${ratio(a.wall, l.wall)} |` : ''}${capCells}`,
    );
  }
  if (results.capistrano.requested && !results.capistrano.ok) L.push('', `Capistrano: not run: ${results.capistrano.why}`);

  L.push(...saturationNote(results));
  L.push(...floorReport(results));

  L.push('', "### Where ship's time goes (medians, ms)", '');
  const segNames = ['startup', 'connect+lock', 'prepare', 'publish', 'switch', 'finish', 'exit'];
  for (const c of Object.values(results.cells)) {
    for (const r of [...c.ship, ...(c.alt ?? [])]) {
      for (const name of Object.keys(r.profile?.segments ?? {})) if (!segNames.includes(name)) segNames.splice(segNames.length - 1, 0, name);
    }
  }
  L.push(`| hosts | strategy | step |${withAlt ? ' build |' : ''} wall | ${segNames.join(' | ')} | connect/host (med, max) | tasks/host (med, max) |`);
  L.push(`|---:|---|---|${withAlt ? '---|' : ''}---:|${segNames.map(() => '---:').join('|')}|---|---|`);
  for (const c of Object.values(results.cells))
    for (const build of withAlt ? ['ship', 'alt'] : ['ship']) {
      const profs = c[build].filter((r) => r.ok && r.profile).map((r) => r.profile);
      if (!profs.length) continue;
      const seg = (n) => ms(median(profs.map((p) => p.segments[n]).filter((x) => x !== undefined)));
      const conn = `${ms(median(profs.map((p) => p.connectMs?.median)))}, ${ms(median(profs.map((p) => p.connectMs?.max)))}`;
      const taskNames = [...new Set(profs.flatMap((p) => Object.keys(p.tasks)))];
      const tasks = taskNames
        .map((t) => `${t} ${ms(median(profs.map((p) => p.tasks[t]?.median)))}/${ms(median(profs.map((p) => p.tasks[t]?.max)))}`)
        .join(', ');
      L.push(
        `| ${c.hosts} | ${c.strategy} | ${c.scenario} |${withAlt ? ` ${build} |` : ''} ${ms(median(c[build].filter((r) => r.ok).map((r) => r.wallMs)))} | ${segNames.map(seg).join(' | ')} | ${conn} | ${tasks} |`,
      );
    }

  L.push('', '### Startup (10 runs each)', '', '| command | wall ms | CPU ms | RSS MB |', '|---|---:|---:|---:|');
  for (const [name, s] of Object.entries(results.startup)) {
    L.push(
      `| \`${name}\` | ${ms(s.wall?.median)} (${ms(s.wall?.min)}–${ms(s.wall?.max)}) | ${ms(s.cpu?.median)} | ${s.rss ? Math.round(s.rss.median) : '-'} |`,
    );
  }

  if (results.importMs) {
    L.push(
      '',
      'Importing each dependency alone (ms over `node -e 0`, median of 5): ' +
        Object.entries(results.importMs)
          .map(([d, t]) => `${d} ${Math.round(t)}`)
          .join(', ') +
        '.',
    );
  }

  if (results.cpuProfile) {
    const p = results.cpuProfile;
    L.push('', `### CPU profile: one redeploy of a new sha to ${p.hosts} hosts (remote)`, '');
    if (p.error) L.push(p.error);
    else {
      L.push(`wall ${sec(p.wallMs)} s, CPU ${sec(p.cpuMs)} s (incl. children), sampled in the ship process ${p.sampledMs} ms; profile: ${p.file}`, '');
      L.push('| self time by whose work it is | ms |', '|---|---:|', ...p.categories.map((c) => `| ${c.name} | ${c.ms} |`));
      L.push('', '| top functions (self) | ms |', '|---|---:|', ...p.functions.map((f) => `| \`${f.name}\` | ${f.ms} |`));
    }
  }
  return `${L.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main() {
  const harness = await loadFleetHarness(ROOT);
  if (!harness.fleetAvailable.ok) throw new Error(`the test fleet cannot start here: ${harness.fleetAvailable.why}`);
  const began = Date.now();
  const repo = makeRepo();
  const results = {
    date: new Date().toISOString(),
    machine: machine(),
    settings: { sizes: SIZES, runs: RUNS, strategies: STRATEGIES, concurrency: CONCURRENCY ?? null, capistrano: WANT_CAP, ship: SHIP, alt: ALT ?? null },
    repo: repo.size(),
    capistrano: { requested: WANT_CAP, ok: false, why: 'not requested (BENCH_CAPISTRANO=1)' },
    cells: {},
    floor: {},
    startup: {},
  };
  if (WANT_CAP) {
    const why = ensureCapistrano({ isRoot, log });
    results.capistrano = why
      ? { requested: true, ok: false, why }
      : { requested: true, ok: true, version: spawnSync('cap', ['--version'], { encoding: 'utf8' }).stdout.trim() };
    log(why ? `Capistrano: ${why}` : `Capistrano: ${results.capistrano.version}`);
  }
  try {
    log('startup: ship --version / --help x10');
    results.startup = await startup();
    results.importMs = await importCosts();
    for (const size of SIZES) await benchSize(harness, size, repo, results);
  } finally {
    rmSync(repo.dir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
  results.totalMs = Date.now() - began;
  results.machine.loadAvgAtEnd = os.loadavg().map((x) => Number(x.toFixed(2)));
  const md = report(results);
  mkdirSync(OUT_DIR, { recursive: true });
  const stamp = results.date.replace(/[:.]/g, '-');
  writeFileSync(join(OUT_DIR, `bench-${stamp}.json`), JSON.stringify(results, null, 2));
  writeFileSync(join(OUT_DIR, 'latest.json'), JSON.stringify(results, null, 2));
  writeFileSync(join(OUT_DIR, 'latest.md'), md);
  process.stdout.write(md);
  log(`done in ${Math.round(results.totalMs / 1000)} s; JSON in bench-results/bench-${stamp}.json`);
}

main().catch((e) => {
  process.stderr.write(`[bench] failed: ${e?.stack ?? e}\n`);
  process.exitCode = 1;
});
