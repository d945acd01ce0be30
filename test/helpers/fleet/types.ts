import type { ExecResult } from './processes.js';

export type { ExecResult };

export interface FleetHost {
  /** 0-based position in `fleet.hosts`. */
  index: number;
  /** 'host1', 'host2', ... */
  name: string;
  /** '127.0.NET.N' in root mode (NET: SHIP_E2E_NET, default 1), '127.0.0.1' otherwise. */
  address: string;
  /** 22 in root mode, a free high port otherwise. */
  port: number;
  /** The directory on this machine that the host sees as /srv (root mode). */
  root: string;
  /** The deploy path as the host sees it: '/srv/app' (root mode) or `${root}/app`. */
  deployTo: string;
  /**
   * The host's own home directory on this machine: the login user's HOME as the host's
   * sessions see it (its npm cache, its pm2 daemon), like a real server's.
   */
  home: string;
  /** Maps a path as the host sees it (e.g. '/srv/app/current') to the path on this machine. */
  localPath(p: string): string;
  /** False after kill() (or if sshd died), true again after restart(). */
  running: boolean;
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
