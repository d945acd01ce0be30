/**
 * End-to-end test fleet: N real OpenSSH servers on loopback, started and torn down by the
 * test suite itself (DESIGN.md section 9). No SSH is mocked here.
 *
 * Root mode (uid 0): host i listens on 127.0.1.(first+i):22 inside its own mount namespace,
 * where a per-host backing directory is bind-mounted over /srv. Every host therefore has the
 * same deploy path (/srv/app) with different contents, like a real fleet, and the test can
 * still inspect each host's files on this machine through `root` / `localPath()`.
 *
 * Non-root mode: sshd on 127.0.0.1 with a free high port per host and no namespace; each host
 * deploys to `${root}/app` instead. Weaker isolation, but it needs no privileges.
 *
 * How processes are found again (to kill a host mid-deploy, or to clean up after a crash):
 * sshd forks one child per connection and those call setsid(), and user commands call setsid()
 * again, so killing the listener's process group misses them, and once the listener is dead
 * they are re-parented to init. So each /proc scan picks, from one snapshot, a host's
 *   - listener: by pid, or by `-f <its sshd_config>` in its command line;
 *   - session commands: by an environment tag (SHIP_E2E_FLEET=<owner pid>:<host dir>) that
 *     `SetEnv` in sshd_config hands to every session. (sshd's own processes carry it too, but
 *     setproctitle() overwrites their /proc/PID/environ, so it cannot be read back there);
 *   - in root mode, anything in its mount namespace, which nothing inside can leave, even a
 *     command that clears its environment and daemonises;
 *   - and everything below those in the process tree (sshd's per-connection processes);
 * and SIGKILLs them all, repeating until a scan finds nothing.
 * Only node builtins are used, so this harness does not depend on the code under test.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface FleetHost {
  /** 0-based position in `fleet.hosts`. */
  index: number;
  /** 'host1', 'host2', ... */
  name: string;
  /** '127.0.1.N' in root mode, '127.0.0.1' otherwise. */
  address: string;
  /** 22 in root mode, a free high port otherwise. */
  port: number;
  /** The directory on this machine that the host sees as /srv (root mode). */
  root: string;
  /** The deploy path as the host sees it: '/srv/app' (root mode) or `${root}/app`. */
  deployTo: string;
  /** Maps a path as the host sees it (e.g. '/srv/app/current') to the path on this machine. */
  localPath(p: string): string;
  /** False after kill() (or if sshd died), true again after restart(). */
  running: boolean;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Fleet {
  hosts: FleetHost[];
  /** The SSH login user: 'shipe2e' in root mode, the current user otherwise. */
  user: string;
  uid: number;
  gid: number;
  /** Private key (ed25519, no passphrase) authorised on every host. */
  identityFile: string;
  /** known_hosts with one line per host ("127.0.1.1 ssh-ed25519 ..." or "[127.0.0.1]:PORT ..."). */
  knownHostsFile: string;
  /** 'SHA256:...' of each host's key, in host order. */
  hostKeyFingerprints: string[];
  /** The fleet's temp dir (keys, configs, logs, backing dirs). Removed by stop(). */
  dir: string;
  /** An empty HOME (with an empty .ssh) for the ship process under test. */
  home: string;
  /** True when hosts live in their own mount namespaces (root mode). */
  isolated: boolean;
  /** SIGKILL the host's sshd and every process of its sessions; then connecting fails. */
  kill(i: number): Promise<void>;
  /** Start the host again (killing it first if it runs): same key, same data. */
  restart(i: number): Promise<void>;
  /** Kill everything and remove the temp dir. Idempotent; never throws. */
  stop(): Promise<void>;
  /** OpenSSH client arguments that reach host i with the fleet's key and known_hosts only. */
  sshArgs(i: number): string[];
  /** Run a command on host i with the OpenSSH client (for assertions; ship itself uses ssh2). */
  ssh(i: number, command: string, opts?: { timeoutMs?: number; input?: string }): Promise<ExecResult>;
  /**
   * Run a shell script as the current (local) user but with host i's view of the filesystem:
   * inside its mount namespace in root mode. For fault injection, e.g. mounting a tiny tmpfs
   * over a directory of one host to fill its disk. The host must be running.
   */
  exec(i: number, script: string, opts?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Live pids of host i's sshd and sessions, or of the whole fleet. */
  processes(i?: number): number[];
  /** sshd's log of host i (auth failures and the like), for debugging a failing test. */
  log(i: number): string;
}

const LOGIN_USER = 'shipe2e';
const TAG_VAR = 'SHIP_E2E_FLEET';
const START_TIMEOUT_MS = 10_000;
const KILL_TIMEOUT_MS = 5_000;
const isRoot = process.getuid?.() === 0;

// ---------------------------------------------------------------------------------------------
// Availability (synchronous, at import, so that `describe.skipIf` can use it)
// ---------------------------------------------------------------------------------------------

function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    if (d && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}

const SSHD = which('sshd');
const SSH_KEYGEN = which('ssh-keygen');
const UNSHARE = which('unshare');
const NSENTER = which('nsenter');

function checkAvailable(): { ok: boolean; why?: string } {
  if (process.platform !== 'linux') return { ok: false, why: 'the e2e fleet needs Linux' };
  if (!SSHD) return { ok: false, why: 'sshd (openssh-server) is not installed' };
  if (!SSH_KEYGEN) return { ok: false, why: 'ssh-keygen is not installed' };
  if (isRoot) {
    if (!UNSHARE) return { ok: false, why: 'unshare (util-linux) is not installed' };
    // Being root is not enough inside some containers (no CAP_SYS_ADMIN): try it once.
    const probe = spawnSync(UNSHARE, ['-m', '--propagation', 'private', 'true'], { stdio: 'ignore' });
    if (probe.status !== 0) return { ok: false, why: 'unshare -m does not work here (no CAP_SYS_ADMIN?)' };
  }
  return { ok: true };
}

export const fleetAvailable: { ok: boolean; why?: string } = checkAvailable();

// ---------------------------------------------------------------------------------------------
// Small process helpers
// ---------------------------------------------------------------------------------------------

function run(
  cmd: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A command that exits without reading its stdin must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

async function runOk(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits for `p`, but no longer than `ms`, and leaves no timer behind. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, ms))))]);
  clearTimeout(timer);
}

/** Blocking sleep, for the exit handler where no event loop turn is left. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed child we have not reaped yet is a zombie: its sockets are already closed.
  return procState(pid) !== 'Z';
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may itself contain spaces or ')'.
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Finding a host's processes in /proc
// ---------------------------------------------------------------------------------------------

interface ProcInfo {
  pid: number;
  ppid: number;
  /** Value of SHIP_E2E_FLEET in its environment, if readable. */
  tag?: string;
  /** Its command line, NULs turned into spaces (sshd's proctitle for sshd processes). */
  cmd: string;
  /** Its mount namespace (root mode). */
  ns?: string;
}

const ownNs = readLinkOr(`/proc/self/ns/mnt`);

function readLinkOr(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

function readOr(p: string): string {
  try {
    return readFileSync(p, 'latin1');
  } catch {
    return ''; // Gone already, or another user's process (non-root mode): not ours.
  }
}

function scanProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  const needle = `${TAG_VAR}=`;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const stat = readOr(`/proc/${pid}/stat`);
    // Fields after the parenthesised command name (which may contain spaces): state, ppid.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (!state || state === 'Z' || state === 'X') continue;
    const info: ProcInfo = { pid, ppid: Number(ppid), cmd: readOr(`/proc/${pid}/cmdline`).replace(/\0/g, ' ') };
    const kv = readOr(`/proc/${pid}/environ`)
      .split('\0')
      .find((s) => s.startsWith(needle));
    if (kv) info.tag = kv.slice(needle.length);
    if (isRoot) info.ns = readLinkOr(`/proc/${pid}/ns/mnt`);
    out.push(info);
  }
  return out;
}

/** The seeds and everything below them in the process tree of one snapshot. */
function withDescendants(procs: ProcInfo[], seeds: Iterable<number>): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const found = new Set<number>();
  const todo = [...seeds];
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    if (pid === process.pid || found.has(pid)) continue;
    found.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return [...found].filter((pid) => procs.some((p) => p.pid === pid));
}

/**
 * SIGKILL what `select` picks, again and again until it picks nothing: a process may fork
 * between one scan and its kill, and its child only shows up in the next scan. Everything of
 * a round is picked from one snapshot before anything dies, so nothing is re-parented away
 * from the tree first.
 */
function killSelectedSync(select: (procs: ProcInfo[]) => number[], deadline: number): number[] {
  let left: number[] = [];
  do {
    left = select(scanProcs());
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (left.length > 0) sleepSync(5);
  } while (left.length > 0 && Date.now() < deadline);
  return left;
}

// ---------------------------------------------------------------------------------------------
// Process-wide safety net: no sshd outlives the test process
// ---------------------------------------------------------------------------------------------

const liveFleets = new Set<FleetImpl>();
let exitHookInstalled = false;
let guardian: ChildProcess | undefined;

function killEverythingSync(): void {
  const hosts = [...liveFleets].flatMap((f) => f.runtimes);
  killSelectedSync((procs) => hosts.flatMap((h) => h.select(procs)), Date.now() + 2_000);
  for (const f of liveFleets) {
    unmountUnder(f.dir);
    rmSync(f.dir, { recursive: true, force: true });
  }
  liveFleets.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killEverythingSync();
  stopGuardian();
  // Keep the default meaning of the signal (vitest stops its workers with SIGTERM) unless
  // someone else also listens for it and will decide.
  process.removeListener(signal, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function armSafetyNet(): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      if (liveFleets.size > 0) killEverythingSync();
      stopGuardian();
    });
  }
  // Signal listeners only while fleets live, so the default behaviour is back afterwards.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    if (!process.listeners(sig).includes(onSignal)) process.on(sig, onSignal);
  }
  if (!guardian) startGuardian();
}

function disarmSafetyNetIfIdle(): void {
  if (liveFleets.size > 0) return;
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.removeListener(sig, onSignal);
  stopGuardian();
}

/**
 * Reaper of fleets whose test process is gone, as plain CommonJS run by this node binary
 * (`node -e`), with two modes:
 *   watch OWNER  stay detached; when OWNER dies (even by SIGKILL: vitest does that to a worker
 *                that ignores SIGTERM for 500 ms, and so does the OOM killer), reap its fleets.
 *   reap-dead    reap now the fleets of every dead owner (a crashed earlier run), so a stale
 *                sshd cannot hold 127.0.1.N:22 and fail this run for an unrelated reason.
 * Owners are found from the environment tag (session processes) and from the listener's
 * command line, which holds the fleet dir, named ship-fleet-<owner pid>-XXXXXX: sshd's
 * setproctitle() overwrites the environment block of sshd's own processes, so the tag cannot
 * be read there. From a listener it follows its mount namespace and its process tree.
 * Keep in step with HostRuntime.select().
 */
const REAPER_SRC = String.raw`
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const [mode, tagVar, ownerArg] = process.argv.slice(1);
const LISTENER = /(?:^|\s)-f (\S*\/ship-fleet-(\d+)-[^\/\s]+)\/host\d+\/sshd_config(?:\s|$)/;
const read = (p) => { try { return fs.readFileSync(p, 'latin1'); } catch { return ''; } };
const readlink = (p) => { try { return fs.readlinkSync(p); } catch { return undefined; } };
const ownNs = readlink('/proc/self/ns/mnt');
function stat(pid) {
  const s = read('/proc/' + pid + '/stat');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]) };
}
function alive(pid) {
  try { process.kill(pid, 0); } catch (e) { if (e.code !== 'EPERM') return false; }
  const st = stat(pid).state;
  return !!st && st !== 'Z'; // this machine's init reaps orphans lazily
}
function scan() {
  const out = [];
  for (const n of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(n) || Number(n) === process.pid) continue;
    const st = stat(n);
    if (!st.state || st.state === 'Z' || st.state === 'X') continue;
    const kv = read('/proc/' + n + '/environ').split('\0').find((s) => s.startsWith(tagVar + '='));
    const tag = kv && kv.slice(tagVar.length + 1);
    const m = LISTENER.exec(read('/proc/' + n + '/cmdline').replace(/\0/g, ' '));
    const p = { pid: Number(n), ppid: st.ppid, ns: readlink('/proc/' + n + '/ns/mnt'), listener: !!m };
    if (m) { p.owner = Number(m[2]); p.dir = m[1]; }
    else if (tag) { p.owner = Number(tag.split(':')[0]); p.dir = path.dirname(tag.slice(tag.indexOf(':') + 1)); }
    out.push(p);
  }
  return out;
}
function select(procs, isDead, dirs) {
  const seeds = procs.filter((p) => p.owner !== undefined && isDead(p.owner));
  for (const p of seeds) dirs.add(p.dir);
  const nss = new Set(seeds.filter((p) => p.listener && p.ns && p.ns !== ownNs).map((p) => p.ns));
  const todo = [...seeds, ...procs.filter((p) => nss.has(p.ns))].map((p) => p.pid);
  const found = new Set();
  while (todo.length) {
    const pid = todo.pop();
    if (found.has(pid)) continue;
    found.add(pid);
    for (const c of procs) if (c.ppid === pid) todo.push(c.pid);
  }
  return [...found];
}
function reap(isDead) {
  const dirs = new Set();
  for (let round = 0; round < 400; round++) {
    const victims = select(scan(), isDead, dirs);
    if (!victims.length) break;
    for (const pid of victims) { try { process.kill(pid, 'SIGKILL'); } catch {} }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
  }
  for (const d of dirs) {
    if (!/\/ship-fleet-\d+-[^\/]+$/.test(d)) continue;
    const mounts = read('/proc/self/mounts').split('\n').map((l) => (l.split(' ')[1] || '').replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))));
    for (const m of mounts.filter((m) => m.startsWith(d + '/')).sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
    try { fs.rmSync(d, { recursive: true, force: true }); } catch {}
  }
}
if (mode === 'watch') {
  const owner = Number(ownerArg);
  setInterval(() => { if (!alive(owner)) { reap((o) => o === owner); process.exit(0); } }, 500);
} else {
  const dead = new Map();
  reap((o) => { if (!dead.has(o)) dead.set(o, !alive(o)); return dead.get(o); });
}
`;

function startGuardian(): void {
  guardian = spawn(process.execPath, ['-e', REAPER_SRC, 'watch', TAG_VAR, String(process.pid)], {
    detached: true, // Not in our process group: whatever kills us must not kill it too.
    stdio: 'ignore',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  guardian.on('error', () => {});
  guardian.unref();
}

function stopGuardian(): void {
  if (guardian?.pid !== undefined) {
    try {
      process.kill(guardian.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  guardian = undefined;
}

function reapOrphans(): void {
  spawnSync(process.execPath, ['-e', REAPER_SRC, 'reap-dead', TAG_VAR], { stdio: 'ignore', timeout: 10_000 });
}

/** A test may have mounted something (a tiny tmpfs for a full disk) below the fleet dir. */
function unmountUnder(dir: string): void {
  if (!isRoot) return;
  let mounts: string[];
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  } catch {
    return;
  }
  const points = mounts
    .map((l) => l.split(' ')[1] ?? '')
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync('umount', ['-l', p], { stdio: 'ignore' });
}

// ---------------------------------------------------------------------------------------------
// The login user
// ---------------------------------------------------------------------------------------------

interface LoginUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function lookupPasswd(name: string): LoginUser | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 7) {
      return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? `/home/${name}` };
    }
  }
  return undefined;
}

let loginUserReady: Promise<LoginUser> | undefined;

/** Root mode: a dedicated unprivileged user, so deploys run as on a real server. */
function ensureLoginUser(): Promise<LoginUser> {
  loginUserReady ??= (async () => {
    let user = lookupPasswd(LOGIN_USER);
    if (!user) {
      const r = await run('useradd', ['-m', '-s', '/bin/sh', LOGIN_USER]);
      // 9: created meanwhile by another process; fine.
      if (r.code !== 0 && r.code !== 9) throw new Error(`useradd ${LOGIN_USER} failed: ${r.stderr.trim()}`);
      user = lookupPasswd(LOGIN_USER);
      if (!user) throw new Error(`user ${LOGIN_USER} missing after useradd`);
    }
    // useradd leaves the account locked ('!'), and sshd refuses locked accounts even for a
    // valid key. '*' means "no password login" without locking.
    const shadow = readFileSync('/etc/shadow', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${LOGIN_USER}:`));
    if (shadow?.split(':')[1] !== '*') await runOk('usermod', ['-p', '*', LOGIN_USER]);
    mkdirSync(user.home, { recursive: true });
    chownSync(user.home, user.uid, user.gid);
    // Deploy directories are created by that user, but tests may prepare repositories as root:
    // without this git stops with "dubious ownership".
    const gitconfig = join(user.home, '.gitconfig');
    const current = existsSync(gitconfig) ? readFileSync(gitconfig, 'utf8') : '';
    if (!/^\s*directory\s*=\s*\*\s*$/m.test(current)) {
      appendFileSync(gitconfig, '[safe]\n\tdirectory = *\n');
      chownSync(gitconfig, user.uid, user.gid);
    }
    return user;
  })();
  // A failed attempt must not poison every later fleet.
  loginUserReady.catch(() => (loginUserReady = undefined));
  return loginUserReady;
}

function currentUser(): LoginUser {
  const u = userInfo();
  return { name: u.username, uid: u.uid, gid: u.gid, home: u.homedir };
}

// ---------------------------------------------------------------------------------------------
// Keys and ports
// ---------------------------------------------------------------------------------------------

async function keygen(file: string, comment: string): Promise<string> {
  await runOk(SSH_KEYGEN!, ['-t', 'ed25519', '-N', '', '-q', '-C', comment, '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** Same as `ssh-keygen -lf`: SHA-256 of the key blob, unpadded base64. */
function fingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Non-root mode: free ports, all held at once so two hosts never get the same one. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<import('node:net').Server>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function tcpAccepts(address: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: address, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// One host
// ---------------------------------------------------------------------------------------------

class HostRuntime implements FleetHost {
  readonly name: string;
  readonly deployTo: string;
  running = false;
  /** The sshd listener (unshare execs sh, which execs sshd: one pid throughout). */
  pid: number | undefined;
  /** Its mount namespace, 'mnt:[...]' (root mode). */
  ns: string | undefined;
  readonly conf: string;
  readonly logFile: string;
  readonly pidFile: string;
  readonly tag: string;
  /** Settles when node has reaped the current listener (or at once when none was started). */
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly index: number,
    readonly address: string,
    readonly port: number,
    readonly hostDir: string,
    readonly root: string,
  ) {
    this.name = `host${index + 1}`;
    this.deployTo = isRoot ? '/srv/app' : `${root}/app`;
    this.conf = join(hostDir, 'sshd_config');
    this.logFile = join(hostDir, 'sshd.log');
    this.pidFile = join(hostDir, 'sshd.pid');
    this.tag = `${process.pid}:${hostDir}`;
  }

  localPath(p: string): string {
    if (!isRoot) return p;
    if (p === '/srv') return this.root;
    if (p.startsWith('/srv/')) return join(this.root, p.slice('/srv/'.length));
    return p; // Outside /srv every host shares this machine's filesystem.
  }

  /**
   * This host's processes in a snapshot: the listener (by pid, or by its config path while it
   * is still unshare or sh), whatever runs in its mount namespace, whatever carries its tag
   * (sessions; see the top of this file), and everything below those in the process tree
   * (sshd's own per-connection processes, whose environment setproctitle() has overwritten).
   */
  select(procs: ProcInfo[]): number[] {
    const confArg = ` -f ${this.conf} `;
    const seeds = procs
      .filter(
        (p) =>
          p.pid === this.pid ||
          p.tag === this.tag ||
          `${p.cmd} `.includes(confArg) ||
          (this.ns !== undefined && p.ns === this.ns),
      )
      .map((p) => p.pid);
    return withDescendants(procs, seeds);
  }

  readLog(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async start(): Promise<void> {
    rmSync(this.pidFile, { force: true });
    // sshd's own log goes to the file via -E; this fd catches what comes before it
    // (unshare, mount, an sshd that cannot parse its config).
    const logFd = openSync(this.logFile, 'a');
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', [TAG_VAR]: this.tag };
    const sshdArgs = ['-D', '-E', this.logFile, '-f', this.conf];
    let child: ChildProcess;
    try {
      child = isRoot
        ? spawn(
            UNSHARE!,
            [
              '-m',
              '--propagation',
              'private',
              'sh',
              '-c',
              'mount --bind "$1" /srv && shift && exec "$@"',
              'sh',
              this.root,
              SSHD!,
              ...sshdArgs,
            ],
            // Own process group: a Ctrl-C on the terminal must not reach the servers, which
            // would then die before the test has seen what it was waiting for; stop() or the
            // safety net below takes them down.
            { detached: true, stdio: ['ignore', logFd, logFd], env },
          )
        : spawn(SSHD!, sshdArgs, { detached: true, stdio: ['ignore', logFd, logFd], env });
    } finally {
      closeSync(logFd);
    }
    child.unref(); // The servers must not keep a finished test process alive.
    let exited = false;
    let spawnError: Error | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exited = true;
        if (this.pid === child.pid) this.running = false;
        resolve();
      });
      // No 'exit' follows a failed spawn.
      child.once('error', (err) => {
        spawnError = err;
        exited = true;
        resolve();
      });
    });
    this.pid = child.pid;
    this.ns = undefined;

    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exited || child.pid === undefined) {
        await settledWithin(this.exited, 500);
        const log = this.readLog();
        const hint = /Address already in use/.test(log)
          ? ` Something else listens there: see \`ss -ltnp 'src ${this.address}'\`.`
          : '';
        throw new Error(
          `${this.name} (${this.address}:${this.port}): sshd exited at start` +
            `${spawnError ? ` (${spawnError.message})` : ''}.${hint}\n--- ${this.logFile}\n${log}`,
        );
      }
      // The pid file is written after the listening socket is bound, and holding our pid it
      // proves that whatever answers on the port is this sshd, not a stale one.
      if (this.readPidFile() === child.pid && (await tcpAccepts(this.address, this.port, 500))) break;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(
          `${this.name} (${this.address}:${this.port}): sshd did not accept connections within ` +
            `${START_TIMEOUT_MS / 1000} s.\n--- ${this.logFile}\n${this.readLog()}`,
        );
      }
      await sleep(20);
    }
    if (isRoot) {
      const ns = readLinkOr(`/proc/${child.pid}/ns/mnt`);
      // Never match on our own namespace: that would make kill() shoot the whole machine.
      if (!ns || ns === ownNs) throw new Error(`${this.name}: sshd is not in its own mount namespace`);
      this.ns = ns;
    }
    this.running = true;
  }

  private readPidFile(): number | undefined {
    try {
      return Number(readFileSync(this.pidFile, 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  async kill(): Promise<void> {
    const deadline = Date.now() + KILL_TIMEOUT_MS;
    await this.afterKill(killSelectedSync((procs) => this.select(procs), deadline), deadline);
  }

  /** Waits for the listener to be reaped and forgets it; `left` are pids that would not die. */
  async afterKill(left: number[], deadline: number): Promise<void> {
    // The listener is our child. Once it is a zombie its sockets are closed, but wait for node
    // to reap it: a zombie left at exit is re-parented to init, and `pgrep sshd` shows it
    // until init gets round to it.
    await settledWithin(this.exited, deadline - Date.now());
    while (this.pid !== undefined && isAlive(this.pid) && Date.now() < deadline) await sleep(10);
    this.running = false;
    if (left.length > 0 || (this.pid !== undefined && isAlive(this.pid))) {
      throw new Error(`${this.name}: processes survived SIGKILL: ${left.join(' ')}`);
    }
    // Forget both: a recycled pid, or a namespace id reused by the kernel, must never make a
    // later kill() hit an unrelated process.
    this.pid = undefined;
    this.ns = undefined;
  }

  processes(): number[] {
    return this.select(scanProcs());
  }
}

function sshdConfig(h: HostRuntime, user: string, authorizedKeys: string): string {
  return [
    `ListenAddress ${h.address}:${h.port}`,
    `HostKey ${join(h.hostDir, 'ssh_host_ed25519_key')}`,
    `PidFile ${h.pidFile}`,
    `AuthorizedKeysFile ${authorizedKeys}`,
    // Key files live in a temp dir that sshd's ownership checks would reject.
    'StrictModes no',
    'UsePAM no',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin no',
    `AllowUsers ${user}`,
    // ship health-checks through direct-tcpip channels.
    'AllowTcpForwarding yes',
    // Deploys open many sessions on one connection, and many connections at once.
    'MaxStartups 200:30:400',
    'MaxSessions 200',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'X11Forwarding no',
    'Subsystem sftp internal-sftp',
    // Marks every session process as this host's, for kill() (see the top of this file).
    `SetEnv ${TAG_VAR}=${h.tag}`,
    'LogLevel INFO',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// The fleet
// ---------------------------------------------------------------------------------------------

class FleetImpl implements Fleet {
  readonly isolated = isRoot;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly runtimes: HostRuntime[],
    readonly loginUser: LoginUser,
    readonly dir: string,
    readonly home: string,
    readonly identityFile: string,
    readonly knownHostsFile: string,
    readonly hostKeyFingerprints: string[],
  ) {}

  get hosts(): FleetHost[] {
    return this.runtimes;
  }
  get user(): string {
    return this.loginUser.name;
  }
  get uid(): number {
    return this.loginUser.uid;
  }
  get gid(): number {
    return this.loginUser.gid;
  }

  host(i: number): HostRuntime {
    const h = this.runtimes[i];
    if (!h) throw new Error(`no host ${i} in a fleet of ${this.runtimes.length}`);
    return h;
  }

  async kill(i: number): Promise<void> {
    await this.host(i).kill();
  }

  async restart(i: number): Promise<void> {
    if (this.stopping) throw new Error('fleet is stopped');
    const h = this.host(i);
    await h.kill();
    await h.start();
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      try {
        // One sweep for all hosts: a /proc scan per host would make stopping 50 hosts slow.
        const deadline = Date.now() + KILL_TIMEOUT_MS;
        const left = killSelectedSync((procs) => this.runtimes.flatMap((h) => h.select(procs)), deadline);
        await Promise.allSettled(this.runtimes.map((h) => h.afterKill(left, deadline)));
        unmountUnder(this.dir);
        rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // Teardown never throws: the test's own failure is the interesting one.
      } finally {
        liveFleets.delete(this);
        disarmSafetyNetIfIdle();
      }
    })();
    return this.stopping;
  }

  sshArgs(i: number): string[] {
    const h = this.host(i);
    return [
      '-F', '/dev/null', // The developer's ~/.ssh/config must not change what is tested.
      '-i', this.identityFile,
      '-p', String(h.port),
      '-l', this.user,
      '-o', 'IdentitiesOnly=yes',
      '-o', 'IdentityAgent=none',
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${this.knownHostsFile}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'ConnectTimeout=5',
      '-o', 'LogLevel=ERROR',
      h.address,
    ];
  }

  ssh(i: number, command: string, opts: { timeoutMs?: number; input?: string } = {}): Promise<ExecResult> {
    return run('ssh', [...this.sshArgs(i), command], {
      timeoutMs: opts.timeoutMs ?? 30_000,
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      env: { ...process.env, HOME: this.home },
    });
  }

  exec(i: number, script: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    const h = this.host(i);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    if (!isRoot) return run('sh', ['-c', script], { timeoutMs });
    if (!h.running || h.pid === undefined) return Promise.reject(new Error(`${h.name} is not running`));
    if (!NSENTER) return Promise.reject(new Error('nsenter is not installed'));
    return run(NSENTER, ['-t', String(h.pid), '-m', '--', 'sh', '-c', script], { timeoutMs });
  }

  processes(i?: number): number[] {
    if (i !== undefined) return this.host(i).processes();
    const procs = scanProcs();
    return [...new Set(this.runtimes.flatMap((h) => h.select(procs)))];
  }

  log(i: number): string {
    return this.host(i).readLog();
  }
}

export async function startFleet(opts: { count: number; firstAddress?: number }): Promise<Fleet> {
  if (!fleetAvailable.ok) throw new Error(`e2e fleet unavailable: ${fleetAvailable.why}`);
  const { count } = opts;
  const first = opts.firstAddress ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new Error(`bad fleet size ${count}`);
  if (isRoot && (first < 1 || first + count - 1 > 254)) {
    throw new Error(`127.0.1.${first}..${first + count - 1} is outside 127.0.1.1-254`);
  }

  reapOrphans();
  let user: LoginUser;
  if (isRoot) {
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation chroot
    mkdirSync('/srv', { recursive: true }); // the bind mount target
    user = await ensureLoginUser();
  } else {
    user = currentUser();
  }

  // The owner pid in the name lets a later run recognise this fleet's leftovers (REAPER_SRC).
  const dir = mkdtempSync(join(tmpdir(), `ship-fleet-${process.pid}-`));
  // sshd reads AuthorizedKeysFile as the login user: the path to it must be traversable.
  chmodSync(dir, 0o755);
  const home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });

  const ports = isRoot ? Array.from({ length: count }, () => 22) : await freePorts(count);
  const runtimes = ports.map((port, i) => {
    const hostDir = join(dir, `host${i + 1}`);
    const address = isRoot ? `127.0.1.${first + i}` : '127.0.0.1';
    return new HostRuntime(i, address, port, hostDir, join(hostDir, 'srv'));
  });

  const identityFile = join(dir, 'id_ed25519');
  const knownHostsFile = join(dir, 'known_hosts');
  const authorizedKeys = join(dir, 'authorized_keys');
  const fleet = new FleetImpl(runtimes, user, dir, home, identityFile, knownHostsFile, []);
  // Registered before anything starts, so a failure half-way is still cleaned up.
  liveFleets.add(fleet);
  armSafetyNet();

  try {
    for (const h of runtimes) {
      mkdirSync(join(h.root, 'app'), { recursive: true });
      chmodSync(h.hostDir, 0o755);
      chownSync(h.root, user.uid, user.gid);
      chownSync(join(h.root, 'app'), user.uid, user.gid);
    }
    const [userKey, ...hostKeys] = await Promise.all([
      keygen(identityFile, `${user.name}@ship-e2e`),
      ...runtimes.map((h) => keygen(join(h.hostDir, 'ssh_host_ed25519_key'), h.name)),
    ]);
    writeFileSync(authorizedKeys, `${userKey}\n`, { mode: 0o644 });
    fleet.hostKeyFingerprints.push(...hostKeys.map((k) => fingerprint(k)));
    const knownHosts = runtimes.map((h, i) => {
      const [type, b64] = (hostKeys[i] ?? '').split(/\s+/);
      // OpenSSH writes the bare address for port 22 and "[addr]:port" otherwise.
      const hostPattern = h.port === 22 ? h.address : `[${h.address}]:${h.port}`;
      return `${hostPattern} ${type} ${b64}\n`;
    });
    writeFileSync(knownHostsFile, knownHosts.join(''), { mode: 0o644 });
    for (const h of runtimes) writeFileSync(h.conf, sshdConfig(h, user.name, authorizedKeys));

    const started = await Promise.allSettled(runtimes.map((h) => h.start()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}
