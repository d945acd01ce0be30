#!/usr/bin/env node
/**
 * The real-app bench (part of `npm run bench`): an Express app made from npm registry packages
 * (express and pino; the lockfile is written at bench time, nothing of it is committed), deployed
 * with `recipe: node` to fleets of BENCH_APP_HOSTS hosts (default 1,10,20), each host with its
 * own home (its own npm cache, as real servers have). A script: it asserts nothing about timings.
 *
 * Per size and run (BENCH_RUNS, default 3), wall time of:
 *   plain new      ship, the dependency-free app (recipe base), redeploy of a new commit: the yardstick
 *   upload first   ship, strategy upload, empty deploy_to (npm cache of the host cold in run 1 only)
 *   upload same    ship, strategy upload, new commit, same lockfile (the install is reused)
 *   upload lock    ship, strategy upload, new commit, changed lockfile (one npm ci per host)
 *   artifact ...   the same three with strategy artifact (built once here)
 *   npm ci here    one `npm ci` of the app on this machine (warm cache)
 *   limit upload   the built release (node_modules included) streamed to every host and
 *                  unpacked, one ssh2 connection and one exec per host (limit.mjs)
 *   cap first/same/lock   Capistrano with an `npm ci` task in each release (BENCH_CAPISTRANO=1)
 * Every deploy is checked: `current` holds the sha on every host and node_modules has express.
 *
 * Environment: BENCH_APP_HOSTS, BENCH_RUNS, BENCH_CAPISTRANO=1, BENCH_FIRST_ADDRESS (hosts are
 * 127.0.NET.N from there; NET is SHIP_E2E_NET). Output: markdown on stdout, progress on stderr,
 * JSON in bench-results/real-app-<time>.json.
 */
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { capProject, ensureCapistrano } from './capistrano.mjs';
import { loadFleetHarness } from './load-fleet.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const OUT_DIR = join(ROOT, 'bench-results');
const SIZES = (process.env.BENCH_APP_HOSTS ?? '1,10,20').split(',').map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const FIRST_ADDRESS = Number(process.env.BENCH_FIRST_ADDRESS ?? 101);
const WANT_CAP = process.env.BENCH_CAPISTRANO === '1';
const isRoot = process.getuid?.() === 0;
const T0 = Date.now();
const log = (s) => process.stderr.write(`[real-app +${Math.round((Date.now() - T0) / 1000)}s] ${s}\n`);
const scratch = mkdtempSync(join(os.tmpdir(), 'ship-bench-app-'));
chmodSync(scratch, 0o755);
const baseEnv = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' });

/** A copy of dist/ taken now (a rebuild meanwhile changes nothing), with recipes/ and templates/ beside it. */
function snapshotOfDist() {
  const dir = join(OUT_DIR, '.cache', 'ship-app');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  for (const d of ['recipes', 'templates']) symlinkSync(join(ROOT, d), join(dir, d));
  return join(dir, 'dist', 'bin', 'main.js');
}
const SHIP = snapshotOfDist();

/** Runs a command; resolves with its wall time, exit code and output (never rejects). */
function timed(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    const load = os.loadavg()[0];
    const h0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { cwd: opts.cwd ?? scratch, env: opts.env ?? baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 900_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, wallMs: Number(process.hrtime.bigint() - h0) / 1e6, load, out });
    });
  });
}

const git = (cwd, ...args) =>
  execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@ship.invalid', '-c', 'commit.gpgsign=false', ...args], {
    cwd,
    encoding: 'utf8',
  }).trim();

/**
 * A repository holding an app. With `deps`, an Express app whose lockfile npm writes now from
 * the registry, in two versions (`lock(false)`: express + pino, `lock(true)`: also ms), made
 * once so that switching between them later needs no registry.
 */
function makeRepo(name, deps) {
  const dir = join(scratch, name);
  mkdirSync(dir);
  git(dir, 'init', '-q', '-b', 'main');
  const pkg = (extra) => ({
    name: `bench-${name}`,
    version: '1.0.0',
    private: true,
    scripts: { start: 'node server.js' },
    ...(deps ? { dependencies: { express: '^4.21.2', pino: '^9.5.0', ...(extra ? { ms: '^2.1.3' } : {}) } } : {}),
  });
  writeFileSync(
    join(dir, 'server.js'),
    deps
      ? "const express = require('express');\nconst log = require('pino')();\nconst app = express();\napp.get('/health', (_, res) => res.send('ok'));\napp.listen(process.env.PORT || 3000, '127.0.0.1', () => log.info('up'));\n"
      : "require('http').createServer((_, res) => res.end('ok')).listen(process.env.PORT || 3000, '127.0.0.1');\n",
  );
  const locks = [false, true].map((extra) => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg(extra), null, 2));
    if (deps) execFileSync('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund', '--silent'], { cwd: dir, stdio: 'inherit' });
    return {
      'package.json': readFileSync(join(dir, 'package.json'), 'utf8'),
      ...(deps ? { 'package-lock.json': readFileSync(join(dir, 'package-lock.json'), 'utf8') } : {}),
    };
  });
  let n = 0;
  let extra = true;
  const commit = (files) => {
    for (const [f, c] of Object.entries(files)) writeFileSync(join(dir, f), c);
    writeFileSync(join(dir, 'CHANGE'), `${++n}\n`);
    git(dir, 'add', '-A');
    git(dir, 'commit', '-q', '-m', `change ${n}`);
    execFileSync('chmod', ['-R', 'a+rX', dir]);
    return git(dir, 'rev-parse', 'HEAD');
  };
  return {
    dir,
    /** A new commit, same lockfile. */
    change: () => commit({}),
    /** A new commit whose lockfile differs from the one before. */
    changeLock: () => {
      extra = !extra;
      return commit(locks[extra ? 1 : 0]);
    },
  };
}

function shipConfig(work, fleet, repo, name, recipe, strategy) {
  const file = join(work, `deploy.${name}.yaml`);
  writeFileSync(
    file,
    [
      'app: bench',
      `repo: ${repo.dir}`,
      `recipe: ${recipe}`,
      `strategy: ${strategy}`,
      'keep_releases: 5',
      `ssh: { user: ${fleet.user}, identity: ${fleet.identityFile}, known_hosts: strict }`,
      'stages:',
      '  bench:',
      '    hosts:',
      ...fleet.hosts.map((h) => `      - { host: ${h.address}, port: ${h.port}, deploy_to: /srv/${name} }`),
      '',
    ].join('\n'),
  );
  return file;
}

/** Hosts where /srv/<name>/current does not hold `sha`, or (node apps) has no express. */
function wrongHosts(fleet, name, sha, node) {
  return fleet.hosts
    .filter((h) => {
      try {
        const target = readlinkSync(h.localPath(`/srv/${name}/current`));
        const rev = readFileSync(h.localPath(`${target}/REVISION`), 'utf8').trim();
        if (rev !== sha) return true;
        if (!node) return false;
        const nm = join(target, 'node_modules');
        let real = nm;
        try {
          real = readlinkSync(h.localPath(nm));
        } catch {}
        return !existsSync(h.localPath(`${real}/express/package.json`));
      } catch {
        return true;
      }
    })
    .map((h) => h.address);
}

/** The size of the manifest in /srv/<name>/current on the first host (undefined without one). */
function manifestSize(fleet, name) {
  const h = fleet.hosts[0];
  try {
    return statSync(h.localPath(`${readlinkSync(h.localPath(`/srv/${name}/current`))}/.ship-manifest`)).size;
  } catch {
    return undefined;
  }
}

function wipe(fleet, names) {
  for (const h of fleet.hosts)
    for (const name of names) {
      const p = h.localPath(`/srv/${name}`);
      rmSync(p, { recursive: true, force: true });
      mkdirSync(p, { recursive: true });
      chownSync(p, fleet.uid, fleet.gid);
    }
}

/** The built release of the app at HEAD, as the artifact strategy makes it: for the npm ci and upload limits. */
async function buildHere(repo) {
  const dir = mkdtempSync(join(scratch, 'built-'));
  execFileSync('sh', ['-c', 'git -C "$1" archive HEAD | tar -x -f - -C "$2"', 'sh', repo.dir, dir]);
  const ci = await timed('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { cwd: dir, env: { ...baseEnv(), HOME: process.env.HOME ?? '/root' } });
  const tar = `${dir}.tar`;
  execFileSync('tar', ['-c', '-f', tar, '-C', dir, '.']);
  rmSync(dir, { recursive: true, force: true });
  return { ci, tar, sha: git(repo.dir, 'rev-parse', 'HEAD') };
}

const NPM_CI_TASK = [
  'namespace :deploy do',
  '  task :npm_ci do',
  '    on roles(:app) do',
  '      within release_path do',
  '        execute :npm, "ci", "--omit=dev", "--no-audit", "--no-fund"',
  '      end',
  '    end',
  '  end',
  '  after :updated, :npm_ci',
  'end',
];

async function benchSize(harness, size, repos, results, cap) {
  log(`starting ${size} host(s)...`);
  const fleet = await harness.startFleet({ count: size, firstAddress: FIRST_ADDRESS });
  const work = mkdtempSync(join(scratch, `work-${size}-`));
  const env = { ...baseEnv(), CI: 'true', HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile };
  const configs = {
    plain: shipConfig(work, fleet, repos.plain, 'plain', 'base', 'upload'),
    upload: shipConfig(work, fleet, repos.app, 'upload', 'node', 'upload'),
    artifact: shipConfig(work, fleet, repos.app, 'artifact', 'node', 'artifact'),
  };
  const capDir = cap ? capProject(fleet, repos.app, { scratch, deployTo: '/srv/cap', tasks: NPM_CI_TASK }) : undefined;
  const record = (key, r, ok) => {
    const cell = (results[`${size}|${key}`] ??= { hosts: size, key, runs: [] });
    cell.runs.push({ wallMs: r.wallMs, load: r.load, ok, ...(ok ? {} : { error: r.out.trim().split('\n').slice(-6).join('\n') }) });
    log(
      `${size} hosts ${key}: ${ok ? `${(r.wallMs / 1000).toFixed(2)} s (load ${r.load.toFixed(1)})` : `FAILED\n${r.out.trim().split('\n').slice(-12).join('\n')}`}`,
    );
  };
  const ship = async (tool, key, sha) => {
    const r = await timed(process.execPath, [SHIP, '--config', configs[tool], 'deploy', 'bench', '--json'], { cwd: work, env });
    record(key, r, r.code === 0 && wrongHosts(fleet, tool, sha, tool !== 'plain').length === 0);
    // what each host was sent, from ship's own report (the size of the stream it read)
    const sent = [...r.out.matchAll(/"message":"sent (\d+) bytes/g)].map((m) => Number(m[1]));
    if (sent.length) (results[`${size}|${key}`].bytes ??= []).push(median(sent));
    const manifest = manifestSize(fleet, tool);
    if (manifest !== undefined) (results[`${size}|${key}`].manifest ??= []).push(manifest);
  };
  const capistrano = async (key, sha) => {
    if (!capDir) return;
    const r = await timed('cap', ['bench', 'deploy'], { cwd: capDir, env: { ...baseEnv(), HOME: fleet.home } });
    record(key, r, r.code === 0 && wrongHosts(fleet, 'cap', sha, true).length === 0);
  };
  try {
    for (let run = 1; run <= RUNS; run++) {
      wipe(fleet, ['plain', 'upload', 'artifact', 'limit', ...(capDir ? ['cap'] : [])]);
      // the yardstick: a dependency-free app, first deploy, then a new commit (measured)
      await ship('plain', 'plain first', repos.plain.change());
      await ship('plain', 'plain new', repos.plain.change());
      // first deploy to empty hosts
      let sha = repos.app.change();
      await ship('upload', 'upload first', sha);
      await ship('artifact', 'artifact first', sha);
      await capistrano('cap first', sha);
      // a new commit, same lockfile
      sha = repos.app.change();
      await ship('upload', 'upload same', sha);
      await ship('artifact', 'artifact same', sha);
      await capistrano('cap same', sha);
      // a new commit with a changed lockfile
      sha = repos.app.changeLock();
      await ship('upload', 'upload lock', sha);
      await ship('artifact', 'artifact lock', sha);
      await capistrano('cap lock', sha);
      // the artifact's limits: one npm ci here, and streaming the built release to every host
      const built = await buildHere(repos.app);
      record('npm ci here', built.ci, built.ci.code === 0);
      const job = join(work, 'limit.json');
      writeFileSync(
        job,
        JSON.stringify({
          hosts: fleet.hosts.map((h) => ({ address: h.address, port: h.port, deployTo: '/srv/limit' })),
          user: fleet.user,
          identityFile: fleet.identityFile,
          knownHostsFile: fleet.knownHostsFile,
          mode: 'deploy',
          strategy: 'upload',
          archive: built.tar,
          repo: repos.app.dir,
          sha: built.sha,
          release: `2000000000${String(run).padStart(4, '0')}`,
          keep: 5,
          shared: [],
        }),
      );
      const lim = await timed(process.execPath, [join(ROOT, 'test', 'bench', 'limit.mjs'), job], { cwd: work });
      record('limit upload', lim, lim.code === 0);
      rmSync(built.tar, { force: true });
    }
  } finally {
    await fleet.stop();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : undefined;
};

function report(results) {
  const med = (size, key) => median((results[`${size}|${key}`]?.runs ?? []).filter((r) => r.ok).map((r) => r.wallMs));
  const s = (ms) => (ms === undefined ? '-' : (ms / 1000).toFixed(2));
  const x = (a, b) => (a !== undefined && b !== undefined ? `${(a / b).toFixed(2)}x` : '-');
  const keys = [
    'plain new',
    'upload first',
    'upload same',
    'upload lock',
    'artifact first',
    'artifact same',
    'artifact lock',
    'npm ci here',
    'limit upload',
    'cap first',
    'cap same',
    'cap lock',
  ];
  const lines = [
    `Real app (express + pino), medians of ${RUNS} run(s), seconds; load average when each started: ${loadRange(results)}`,
    '',
    `| step | ${SIZES.map((n) => `${n} host${n > 1 ? 's' : ''}`).join(' | ')} |`,
    `|---|${SIZES.map(() => '---:').join('|')}|`,
    ...keys.map((k) => `| ${k} | ${SIZES.map((n) => s(med(n, k))).join(' | ')} |`),
    '',
    `| target | ${SIZES.map((n) => `${n} host${n > 1 ? 's' : ''}`).join(' | ')} |`,
    `|---|${SIZES.map(() => '---:').join('|')}|`,
    `| upload same / plain new (target ≤ 1.5x at 10) | ${SIZES.map((n) => x(med(n, 'upload same'), med(n, 'plain new'))).join(' | ')} |`,
    `| artifact same / plain new | ${SIZES.map((n) => x(med(n, 'artifact same'), med(n, 'plain new'))).join(' | ')} |`,
    `| artifact lock / (npm ci here + 1.5 × limit upload) (target ≤ 1 at 10) | ${SIZES.map((n) => x(med(n, 'artifact lock'), med(n, 'npm ci here') + 1.5 * med(n, 'limit upload'))).join(' | ')} |`,
    `| artifact lock / limit upload | ${SIZES.map((n) => x(med(n, 'artifact lock'), med(n, 'limit upload'))).join(' | ')} |`,
    `| cap same / upload same (target ≥ 5x at 10) | ${SIZES.map((n) => x(med(n, 'cap same'), med(n, 'upload same'))).join(' | ')} |`,
    `| cap lock / upload lock | ${SIZES.map((n) => x(med(n, 'cap lock'), med(n, 'upload lock'))).join(' | ')} |`,
    '',
    'Bytes sent per host (median over hosts, then runs), the manifest of the release deployed, and what was sent beyond',
    'the manifest; `same` changes one file of a few bytes (CHANGE): beyond the manifest go that file and tar headers',
    '',
    `| step | ${SIZES.map((n) => `${n} host${n > 1 ? 's' : ''}: sent / manifest / beyond`).join(' | ')} |`,
    `|---|${SIZES.map(() => '---:').join('|')}|`,
    ...['upload first', 'upload same', 'upload lock', 'artifact first', 'artifact same', 'artifact lock'].map((k) => {
      const cells = SIZES.map((n) => {
        const sent = median(results[`${n}|${k}`]?.bytes ?? []);
        const manifest = median(results[`${n}|${k}`]?.manifest ?? []);
        return `${bytes(sent)} / ${bytes(manifest)} / ${sent !== undefined && manifest !== undefined ? bytes(sent - manifest) : '-'}`;
      });
      return `| ${k} | ${cells.join(' | ')} |`;
    }),
  ];
  return lines.join('\n');
}

const bytes = (b) => (b === undefined ? '-' : b < 10_000 ? `${b} B` : b < 10_000_000 ? `${Math.round(b / 1024)} KiB` : `${(b / 1048576).toFixed(1)} MiB`);

function loadRange(results) {
  const loads = Object.values(results).flatMap((c) => c.runs.map((r) => r.load));
  return loads.length ? `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (2 cores)` : '-';
}

const harness = await loadFleetHarness(ROOT);
if (!harness.fleetAvailable.ok) throw new Error(`the test fleet cannot start here: ${harness.fleetAvailable.why}`);
let cap = false;
if (WANT_CAP) {
  const why = ensureCapistrano({ isRoot, log });
  if (why) log(`Capistrano not measured: ${why}`);
  cap = !why;
}
log('writing the apps (lockfiles from the npm registry)...');
const repos = { plain: makeRepo('plain', false), app: makeRepo('app', true) };
const results = {};
mkdirSync(OUT_DIR, { recursive: true });
const file = join(OUT_DIR, `real-app-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
try {
  for (const size of SIZES) {
    await benchSize(harness, size, repos, results, cap);
    // after each size: a long run stopped later still leaves what it measured
    writeFileSync(file, JSON.stringify({ sizes: SIZES, runs: RUNS, results }, null, 2));
    log(`\n${report(results)}`);
  }
} finally {
  writeFileSync(file, JSON.stringify({ sizes: SIZES, runs: RUNS, results }, null, 2));
  process.stdout.write(`${report(results)}\n\nJSON: ${file}\n`);
  rmSync(scratch, { recursive: true, force: true });
}
