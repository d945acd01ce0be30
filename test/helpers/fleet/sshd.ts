/**
 * One fleet host: its sshd_config, and starting, finding and killing its sshd and sessions.
 *
 * Root mode: sshd listens on 127.0.NET.N:22 inside its own mount namespace, where the host's
 * backing directory is bind-mounted over /srv and its home directory over the login user's
 * home. Non-root mode: sshd on 127.0.0.1 with a free high port and no namespace; the host
 * deploys to `${root}/app` instead, and sshd's SetEnv points HOME at the host's home.
 *
 * A host's processes, picked from one /proc snapshot, are:
 *   - the listener: by pid, or by `-f <its sshd_config>` in its command line;
 *   - session commands: by the environment tag (TAG_VAR=<owner pid>:<host dir>) that `SetEnv`
 *     in sshd_config hands to every session. (sshd's own processes carry it too, but
 *     setproctitle() overwrites their /proc/PID/environ, so it cannot be read back there);
 *   - in root mode, anything in its mount namespace, which nothing inside can leave, even a
 *     command that clears its environment and daemonises;
 *   - and everything below those in the process tree (sshd's per-connection processes).
 * reaper.cjs finds the processes of a dead owner the same way.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chownSync, closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { machine } from '../requirements.js';
import { isAlive, killSelectedSync, ownNs, readLinkOr, runOk, scanProcs, settledWithin, sleep, TAG_VAR, withDescendants, type ProcInfo } from './processes.js';
import type { FleetHost } from './types.js';

const START_TIMEOUT_MS = 10_000;
export const KILL_TIMEOUT_MS = 5_000;

/** What became of a listener that was just spawned. */
interface ListenerExit {
  exited: boolean;
  spawnError?: Error;
}

/** What makes one host differ from a plain OpenSSH host. Dropbear and loginShell need root. */
export interface HostOptions {
  /** The SSH server: OpenSSH's sshd (default) or Dropbear (`dropbear-bin`). */
  server?: 'openssh' | 'dropbear';
  /**
   * sshd_config lines ahead of the harness's own: sshd keeps the first value of a keyword, so
   * `MaxStartups 10:30:100` here gives that host the stock setting back. OpenSSH only.
   */
  sshdConfig?: string[];
  /** The login user's shell on this host (its own /etc/passwd, bind-mounted in its namespace). */
  loginShell?: string;
  /** PATH of the host's sessions (sshd's SetEnv). OpenSSH only. */
  path?: string;
}

export class HostRuntime implements FleetHost {
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
  /** This host's home directory on this machine (the login user's home as the host sees it). */
  readonly home: string;
  /** Settles when node has reaped the current listener (or at once when none was started). */
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly index: number,
    readonly address: string,
    readonly port: number,
    readonly hostDir: string,
    readonly root: string,
    /** The login user's home path as sessions see it. */
    readonly loginHome: string,
    readonly options: HostOptions = {},
  ) {
    this.name = `host${index + 1}`;
    this.home = join(hostDir, 'home');
    this.deployTo = machine.root ? '/srv/app' : `${root}/app`;
    this.conf = join(hostDir, 'sshd_config');
    this.logFile = join(hostDir, 'sshd.log');
    this.pidFile = join(hostDir, 'sshd.pid');
    this.tag = `${process.pid}:${hostDir}`;
  }

  localPath(p: string): string {
    if (!machine.root) return p;
    if (p === '/srv') return this.root;
    if (p.startsWith('/srv/')) return join(this.root, p.slice('/srv/'.length));
    if (p === this.loginHome) return this.home;
    if (p.startsWith(`${this.loginHome}/`)) return join(this.home, p.slice(this.loginHome.length + 1));
    return p; // Outside /srv and the home every host shares this machine's filesystem.
  }

  /** This host's processes in a snapshot (see the top of this file). */
  select(procs: ProcInfo[]): number[] {
    const confArg = ` -f ${this.conf} `;
    const seeds = procs
      .filter((p) => p.pid === this.pid || p.tag === this.tag || `${p.cmd} `.includes(confArg) || (this.ns !== undefined && p.ns === this.ns))
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
    const child = this.spawnListener();
    child.unref(); // The servers must not keep a finished test process alive.
    const exit: ListenerExit = { exited: false };
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        exit.exited = true;
        if (this.pid === child.pid) this.running = false;
        resolve();
      });
      // No 'exit' follows a failed spawn.
      child.once('error', (err) => {
        exit.spawnError = err;
        exit.exited = true;
        resolve();
      });
    });
    this.pid = child.pid;
    this.ns = undefined;
    await this.waitListening(child, exit);
    if (machine.root) {
      const ns = readLinkOr(`/proc/${child.pid}/ns/mnt`);
      // Never match on our own namespace: that would make kill() shoot the whole machine.
      if (!ns || ns === ownNs) throw new Error(`${this.name}: sshd is not in its own mount namespace`);
      this.ns = ns;
    }
    this.running = true;
  }

  private spawnListener(): ChildProcess {
    // the server's own log goes to the file (sshd -E); this fd catches what comes before it
    // (unshare, mount, a server that cannot parse its config) and all of Dropbear's
    const logFd = openSync(this.logFile, 'a');
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', [TAG_VAR]: this.tag };
    const serverArgs =
      this.options.server === 'dropbear'
        ? [machine.dropbear ?? 'dropbear', '-F', '-E', '-s', '-p', `${this.address}:${this.port}`, '-r', this.dropbearKeyFile, '-P', this.pidFile]
        : [machine.sshd!, '-D', '-E', this.logFile, '-f', this.conf];
    // Own process group: a Ctrl-C on the terminal must not reach the servers, which would then
    // die before the test has seen what it was waiting for; stop() or the safety net takes
    // them down.
    const opts: SpawnOptions = { detached: true, stdio: ['ignore', logFd, logFd], env };
    // a login shell of its own: this host's copies of /etc/passwd and /etc/shells
    const ownPasswd = this.options.loginShell ? ' && mount --bind "$4" /etc/passwd && mount --bind "$5" /etc/shells && shift 2' : '';
    const bind = `mount --bind "$1" /srv && mount --bind "$2" "$3"${ownPasswd} && shift 3 && exec "$@"`;
    const passwd = this.options.loginShell ? [join(this.hostDir, 'passwd'), join(this.hostDir, 'shells')] : [];
    const bindSrv = ['-m', '--propagation', 'private', 'sh', '-c', bind, 'sh', this.root, this.home, this.loginHome, ...passwd];
    try {
      return machine.root ? spawn(machine.unshare!, [...bindSrv, ...serverArgs], opts) : spawn(serverArgs[0]!, serverArgs.slice(1), opts);
    } finally {
      closeSync(logFd);
    }
  }

  /**
   * What this host has of its own beyond the common provisioning: Dropbear's host key (the
   * same key, converted) and authorized_keys in the home (Dropbear has no AuthorizedKeysFile),
   * and the passwd and shells files that give the login user another shell.
   */
  async provisionOwn(user: { name: string; uid: number; gid: number }, userKey: string): Promise<void> {
    if (this.options.server === 'dropbear') {
      await runOk(machine.dropbearconvert ?? 'dropbearconvert', ['openssh', 'dropbear', this.hostKeyFile, this.dropbearKeyFile]);
      const ssh = join(this.home, '.ssh');
      mkdirSync(ssh, { recursive: true, mode: 0o700 });
      writeFileSync(join(ssh, 'authorized_keys'), `${userKey}\n`, { mode: 0o600 });
      for (const f of [ssh, join(ssh, 'authorized_keys')]) chownSync(f, user.uid, user.gid);
    }
    const shell = this.options.loginShell;
    if (shell) {
      const passwd = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .map((l) => (l.startsWith(`${user.name}:`) ? [...l.split(':').slice(0, 6), shell].join(':') : l))
        .join('\n');
      writeFileSync(join(this.hostDir, 'passwd'), passwd, { mode: 0o644 });
      writeFileSync(join(this.hostDir, 'shells'), `${readFileSync('/etc/shells', 'utf8').trimEnd()}\n${shell}\n`, { mode: 0o644 });
    }
  }

  get dropbearKeyFile(): string {
    return join(this.hostDir, 'dropbear_ed25519_host_key');
  }

  /** Until the listener answers; throws with its log if it exits or times out first. */
  private async waitListening(child: ChildProcess, exit: ListenerExit): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (exit.exited || child.pid === undefined) {
        await settledWithin(this.exited, 500);
        const log = this.readLog();
        const hint = /Address already in use/.test(log) ? ` Something else listens there: see \`ss -ltnp 'src ${this.address}'\`.` : '';
        throw new Error(
          `${this.name} (${this.address}:${this.port}): sshd exited at start` +
            `${exit.spawnError ? ` (${exit.spawnError.message})` : ''}.${hint}\n--- ${this.logFile}\n${log}`,
        );
      }
      // The pid file is written after the listening socket is bound, and holding our pid it
      // proves that whatever answers on the port is this sshd, not a stale one.
      if (this.readPidFile() === child.pid && (await tcpAccepts(this.address, this.port, 500))) return;
      if (Date.now() > deadline) {
        await this.kill();
        throw new Error(
          `${this.name} (${this.address}:${this.port}): sshd did not accept connections within ` +
            `${START_TIMEOUT_MS / 1000} s.\n--- ${this.logFile}\n${this.readLog()}`,
        );
      }
      await sleep(20);
    }
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
    await this.afterKill(
      killSelectedSync((procs) => this.select(procs), deadline),
      deadline,
    );
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

  /** The host's sshd_config; `authorizedKeys` is the fleet's one file for every host. */
  config(user: string, authorizedKeys: string): string {
    return [
      ...(this.options.sshdConfig ?? []),
      `ListenAddress ${this.address}:${this.port}`,
      `HostKey ${this.hostKeyFile}`,
      `PidFile ${this.pidFile}`,
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
      `SetEnv ${TAG_VAR}=${this.tag}${machine.root ? '' : ` HOME=${this.home}`}${this.options.path ? ` PATH=${this.options.path}` : ''}`,
      'LogLevel INFO',
      '',
    ].join('\n');
  }

  get hostKeyFile(): string {
    return join(this.hostDir, 'ssh_host_ed25519_key');
  }
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
