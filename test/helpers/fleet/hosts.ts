/**
 * The fleet: N real OpenSSH servers on loopback, started and torn down by the test itself.
 * No SSH is mocked here.
 *
 * Root mode (uid 0): host i listens on 127.0.NET.(first+i):22 inside its own mount namespace,
 * where a per-host backing directory is bind-mounted over /srv and another over the login
 * user's home. Every host therefore has the same deploy path (/srv/app) and the same home path
 * with different contents, like a real fleet (its own npm cache, its own pm2 daemon), and the
 * test can still inspect each host's files on this machine through `root` / `localPath()`.
 * NET is SHIP_E2E_NET (default 1): two checkouts can run their suites at once on different
 * nets.
 *
 * Non-root mode: sshd on 127.0.0.1 with a free high port per host and no namespace; each host
 * deploys to `${root}/app` instead, and its sessions get HOME=`${hostDir}/home` from sshd's
 * SetEnv. Weaker isolation, but it needs no privileges.
 */
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lacksFor, machine } from '../requirements.js';
import { killSelectedSync, run, runOk, scanProcs, type ExecResult, type ProcInfo } from './processes.js';
import { FLEET_DIR_PREFIX, guard, reapOrphans, release, unmountUnder } from './safety-net.js';
import { HostRuntime, KILL_TIMEOUT_MS, type HostOptions } from './sshd.js';
import type { Fleet, FleetHost } from './types.js';
import { currentUser, ensureLoginUser, type LoginUser } from './users.js';

const fleetLacks = lacksFor(['fleet'], machine);

/** The third octet of every fleet address in root mode (SHIP_E2E_NET, 1-254, default 1). */
export const E2E_NET = ((): number => {
  const raw = process.env.SHIP_E2E_NET ?? '1';
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 254) throw new Error(`SHIP_E2E_NET=${raw}: expected 1-254`);
  return n;
})();

/** Whether startFleet can work on this machine, and if not, why. */
export const fleetAvailable: { ok: boolean; why?: string } =
  fleetLacks.length === 0 ? { ok: true } : { ok: false, why: fleetLacks.map((l) => l.what).join('; ') };

class FleetImpl implements Fleet {
  readonly isolated = machine.root;
  readonly hostKeyFingerprints: string[] = [];
  readonly identityFile: string;
  readonly knownHostsFile: string;
  readonly authorizedKeys: string;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly runtimes: HostRuntime[],
    readonly loginUser: LoginUser,
    readonly dir: string,
    readonly home: string,
  ) {
    this.identityFile = join(dir, 'id_ed25519');
    this.knownHostsFile = join(dir, 'known_hosts');
    this.authorizedKeys = join(dir, 'authorized_keys');
  }

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

  select(procs: ProcInfo[]): number[] {
    return this.runtimes.flatMap((h) => h.select(procs));
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
        const left = killSelectedSync((procs) => this.select(procs), deadline);
        await Promise.allSettled(this.runtimes.map((h) => h.afterKill(left, deadline)));
        unmountUnder(this.dir);
        rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // Teardown never throws: the test's own failure is the interesting one.
      } finally {
        release(this);
      }
    })();
    return this.stopping;
  }

  sshArgs(i: number): string[] {
    const h = this.host(i);
    return [
      '-F',
      '/dev/null', // The developer's ~/.ssh/config must not change what is tested.
      '-i',
      this.identityFile,
      '-p',
      String(h.port),
      '-l',
      this.user,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'IdentityAgent=none',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `UserKnownHostsFile=${this.knownHostsFile}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'ConnectTimeout=5',
      '-o',
      'LogLevel=ERROR',
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
    if (!machine.root) return run('sh', ['-c', script], { timeoutMs });
    if (!h.running || h.pid === undefined) return Promise.reject(new Error(`${h.name} is not running`));
    if (!machine.nsenter) return Promise.reject(new Error('nsenter is not installed'));
    return run(machine.nsenter, ['-t', String(h.pid), '-m', '--', 'sh', '-c', script], { timeoutMs });
  }

  processes(i?: number): number[] {
    if (i !== undefined) return this.host(i).processes();
    return [...new Set(this.select(scanProcs()))];
  }

  log(i: number): string {
    return this.host(i).readLog();
  }

  /** Keys, known_hosts, backing dirs and sshd configs, before any host starts. */
  async provision(): Promise<void> {
    const user = this.loginUser;
    const gitconfig = readOr(join(user.home, '.gitconfig'));
    for (const h of this.runtimes) {
      mkdirSync(join(h.root, 'app'), { recursive: true });
      mkdirSync(h.home, { recursive: true, mode: 0o755 });
      chmodSync(h.hostDir, 0o755);
      chownSync(h.root, user.uid, user.gid);
      chownSync(join(h.root, 'app'), user.uid, user.gid);
      // Each host's own home starts like the login user's (git's safe.directory).
      if (gitconfig) writeFileSync(join(h.home, '.gitconfig'), gitconfig);
      for (const f of gitconfig ? [h.home, join(h.home, '.gitconfig')] : [h.home]) chownSync(f, user.uid, user.gid);
    }
    const [userKey, ...hostKeys] = await Promise.all([
      keygen(this.identityFile, `${user.name}@ship-e2e`),
      ...this.runtimes.map((h) => keygen(h.hostKeyFile, h.name)),
    ]);
    writeFileSync(this.authorizedKeys, `${userKey}\n`, { mode: 0o644 });
    this.hostKeyFingerprints.push(...hostKeys.map((k) => fingerprint(k)));
    const knownHosts = this.runtimes.map((h, i) => knownHostsLine(h, hostKeys[i] ?? ''));
    writeFileSync(this.knownHostsFile, knownHosts.join(''), { mode: 0o644 });
    for (const h of this.runtimes) writeFileSync(h.conf, h.config(user.name, this.authorizedKeys));
    await Promise.all(this.runtimes.map((h) => h.provisionOwn(user, userKey)));
  }
}

export interface FleetOptions {
  count: number;
  firstAddress?: number;
  /** What makes host i differ from a plain OpenSSH host (its server, login shell, sshd_config). */
  host?: (i: number) => HostOptions;
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  if (!fleetAvailable.ok) throw new Error(`e2e fleet unavailable: ${fleetAvailable.why}`);
  const { count } = opts;
  const first = opts.firstAddress ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new Error(`bad fleet size ${count}`);
  const net = E2E_NET;
  if (machine.root && (first < 1 || first + count - 1 > 254)) {
    throw new Error(`127.0.${net}.${first}..${first + count - 1} is outside 127.0.${net}.1-254`);
  }

  reapOrphans();
  const user = await prepareLogin();
  // The owner pid in the name lets a later run recognise this fleet's leftovers (reaper.cjs).
  const dir = mkdtempSync(join(tmpdir(), `${FLEET_DIR_PREFIX}${process.pid}-`));
  // sshd reads AuthorizedKeysFile as the login user: the path to it must be traversable.
  chmodSync(dir, 0o755);
  const home = join(dir, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true, mode: 0o700 });

  const ports = machine.root ? Array.from({ length: count }, () => 22) : await freePorts(count);
  const runtimes = ports.map((port, i) => {
    const hostDir = join(dir, `host${i + 1}`);
    const address = machine.root ? `127.0.${net}.${first + i}` : '127.0.0.1';
    const options = opts.host?.(i) ?? {};
    if (!machine.root && (options.server === 'dropbear' || options.loginShell)) throw new Error('a Dropbear host or another login shell needs root');
    return new HostRuntime(i, address, port, hostDir, join(hostDir, 'srv'), user.home, options);
  });
  const fleet = new FleetImpl(runtimes, user, dir, home);
  // Under the safety net before anything starts, so a failure half-way is still cleaned up.
  guard(fleet);
  try {
    await fleet.provision();
    const started = await Promise.allSettled(runtimes.map((h) => h.start()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}

/** The login user, and as root what sshd needs of this machine. */
function readOr(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

async function prepareLogin(): Promise<LoginUser> {
  if (!machine.root) return currentUser();
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation chroot
  mkdirSync('/srv', { recursive: true }); // the bind mount target
  return ensureLoginUser();
}

async function keygen(file: string, comment: string): Promise<string> {
  await runOk(machine.sshKeygen!, ['-t', 'ed25519', '-N', '', '-q', '-C', comment, '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

/** Same as `ssh-keygen -lf`: SHA-256 of the key blob, unpadded base64. */
function fingerprint(publicKeyLine: string): string {
  const blob = Buffer.from(publicKeyLine.split(/\s+/)[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function knownHostsLine(h: HostRuntime, publicKeyLine: string): string {
  const [type, b64] = publicKeyLine.split(/\s+/);
  // OpenSSH writes the bare address for port 22 and "[addr]:port" otherwise.
  const hostPattern = h.port === 22 ? h.address : `[${h.address}]:${h.port}`;
  return `${hostPattern} ${type} ${b64}\n`;
}

/** Non-root mode: free ports, all held at once so two hosts never get the same one. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Server>((resolve, reject) => {
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
