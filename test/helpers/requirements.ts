/**
 * What the end-to-end suite needs from this machine, and what it lacks: OpenSSH's server and
 * client for the sshd fleet, root with util-linux's unshare and nsenter for one mount
 * namespace per host, tmux for the tests on a real terminal.
 *
 * Test files skip what this machine cannot run with `describe.skipIf(skipWithout(...))`; the
 * requirements reporter (see vitest.config.ts) prints at the end of the run what was skipped
 * and the command that installs what is missing. With CI set nothing is skipped:
 * `skipWithout` throws, so the file fails with the same message.
 *
 * SHIP_TEST_SSHD and SHIP_TEST_TMUX name the binaries to use instead of the ones found on
 * PATH; a path that does not exist shows what a machine without them gets.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { postgresBin, postgresClients } from './postgres.js';

/** What a test can ask for. */
export type Capability =
  /** An OpenSSH server the test starts itself, on 127.0.0.1 high ports. */
  | 'sshd'
  /** The sshd fleet of the fleet harness (startFleet). */
  | 'fleet'
  /** The fleet with one mount namespace per host on 127.0.1.N:22: needs root. */
  | 'isolation'
  /** A real pseudo-terminal, driven through tmux. */
  | 'terminal'
  /** HAProxy, and socat to speak to its admin socket (the load balancer tests). */
  | 'haproxy'
  /** Dropbear as the SSH server of a fleet host (root: its host has its own namespace). */
  | 'dropbear'
  /** BusyBox, to make a host whose PATH has only its applets. */
  | 'busybox'
  /** fish and tcsh, as login shells of fleet hosts. */
  | 'shells'
  /** pm2 on PATH, which the fleet's hosts share (each host runs its own daemon in its home). */
  | 'pm2'
  /** systemd-analyze, to verify the systemd unit ship setup writes (systemd need not run). */
  | 'systemd-analyze'
  /** A PostgreSQL server the test starts itself (initdb), and its client programs. */
  | 'postgres'
  /** SQLite's command-line shell, sqlite3. */
  | 'sqlite';

export const CAPABILITIES: readonly Capability[] = [
  'sshd',
  'fleet',
  'isolation',
  'terminal',
  'haproxy',
  'dropbear',
  'busybox',
  'shells',
  'pm2',
  'systemd-analyze',
  'postgres',
  'sqlite',
];

/** The pm2 version .ci/run installs (npm install -g pm2@PM2_VERSION). */
export const PM2_VERSION = '7.0.4';

/** One thing this machine lacks, and how to get it. */
export interface Lack {
  /** What is missing, as a person would say it. */
  what: string;
  /** The Debian package that provides it, when installing one is the fix. */
  package?: string;
  /** Otherwise what to do about it. */
  advice?: string;
}

/** What was found on this machine; paths are undefined when the tool is missing. */
export interface MachineFacts {
  linux: boolean;
  root: boolean;
  ci: boolean;
  sshd?: string;
  sshKeygen?: string;
  ssh?: string;
  unshare?: string;
  nsenter?: string;
  tmux?: string;
  haproxy?: string;
  socat?: string;
  dropbear?: string;
  dropbearconvert?: string;
  busybox?: string;
  fish?: string;
  tcsh?: string;
  pm2?: string;
  systemdAnalyze?: string;
  /** PostgreSQL's server (initdb, postgres) and clients (pg_dump, pg_restore, psql) were found. */
  postgres: boolean;
  sqlite3?: string;
  /** Whether `unshare -m` works (as root; a container without CAP_SYS_ADMIN refuses it). */
  mountNamespaces: boolean;
  /** The overrides that were set, to name them in the message. */
  overrides: { sshd?: string; tmux?: string };
}

/** The name of the error `skipWithout` throws with CI set; the reporter looks for it. */
export const REQUIREMENTS_ERROR = 'E2eRequirementsError';

function which(cmd: string, path: string | undefined): string | undefined {
  const dirs = [...(path ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    if (d && existsSync(join(d, cmd))) return join(d, cmd);
  }
  return undefined;
}

/** An override names the binary itself; it counts only if it exists. */
function tool(cmd: string, override: string | undefined, path: string | undefined): string | undefined {
  if (override !== undefined) return existsSync(override) ? override : undefined;
  return which(cmd, path);
}

export function isCi(env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}

/** Looks at this machine (one `unshare -m true` as root: being root is not enough in some containers). */
export function inspectMachine(env: NodeJS.ProcessEnv = process.env): MachineFacts {
  const root = process.getuid?.() === 0;
  const unshare = which('unshare', env.PATH);
  const probe = root && unshare ? spawnSync(unshare, ['-m', '--propagation', 'private', 'true'], { stdio: 'ignore' }) : undefined;
  const overrides = {
    ...(env.SHIP_TEST_SSHD !== undefined ? { sshd: env.SHIP_TEST_SSHD } : {}),
    ...(env.SHIP_TEST_TMUX !== undefined ? { tmux: env.SHIP_TEST_TMUX } : {}),
  };
  return {
    linux: process.platform === 'linux',
    root,
    ci: isCi(env),
    sshd: tool('sshd', overrides.sshd, env.PATH),
    sshKeygen: which('ssh-keygen', env.PATH),
    ssh: which('ssh', env.PATH),
    unshare,
    nsenter: which('nsenter', env.PATH),
    tmux: tool('tmux', overrides.tmux, env.PATH),
    haproxy: which('haproxy', env.PATH),
    socat: which('socat', env.PATH),
    dropbear: which('dropbear', env.PATH),
    dropbearconvert: which('dropbearconvert', env.PATH) ?? which('dropbearconvert', '/usr/lib/dropbear'),
    busybox: which('busybox', env.PATH),
    fish: which('fish', env.PATH),
    tcsh: which('tcsh', env.PATH),
    pm2: which('pm2', env.PATH),
    systemdAnalyze: which('systemd-analyze', env.PATH),
    postgres: postgresBin() !== undefined && postgresClients(),
    sqlite3: which('sqlite3', env.PATH),
    mountNamespaces: probe?.status === 0,
    overrides,
  };
}

function sshdLacks(m: MachineFacts): Lack[] {
  const lacks: Lack[] = [];
  if (!m.sshd) {
    const what = m.overrides.sshd !== undefined ? `sshd: SHIP_TEST_SSHD=${m.overrides.sshd} does not exist` : 'sshd (OpenSSH server)';
    lacks.push({ what, package: 'openssh-server' });
  }
  if (!m.sshKeygen) lacks.push({ what: 'ssh-keygen (OpenSSH client)', package: 'openssh-client' });
  return lacks;
}

function fleetLacks(m: MachineFacts): Lack[] {
  const lacks: Lack[] = [];
  if (!m.linux) lacks.push({ what: 'Linux (the fleet reads /proc)', advice: 'run the end-to-end tests on Linux' });
  lacks.push(...sshdLacks(m));
  if (!m.ssh) lacks.push({ what: 'ssh (OpenSSH client)', package: 'openssh-client' });
  if (m.root) {
    if (!m.unshare) lacks.push({ what: 'unshare', package: 'util-linux' });
    else if (!m.mountNamespaces) {
      lacks.push({ what: 'mount namespaces (`unshare -m` fails: no CAP_SYS_ADMIN?)', advice: 'give the container CAP_SYS_ADMIN (docker run --privileged)' });
    }
    if (!m.nsenter) lacks.push({ what: 'nsenter', package: 'util-linux' });
  }
  return lacks;
}

const ROOT_LACK: Lack = {
  what: 'root (without it the fleet shares one filesystem on 127.0.0.1 high ports: no mount namespace per host)',
  advice: 'run the tests as root: sudo npm test',
};

/** What this machine lacks for `caps`, each lack once. */
export function lacksFor(caps: readonly Capability[], m: MachineFacts): Lack[] {
  const all = caps.flatMap((cap) => lacksOf(cap, m));
  return all.filter((l, i) => all.findIndex((o) => o.what === l.what) === i);
}

function lacksOf(cap: Capability, m: MachineFacts): Lack[] {
  switch (cap) {
    case 'sshd':
      return sshdLacks(m);
    case 'fleet':
      return fleetLacks(m);
    case 'isolation':
      return [...fleetLacks(m), ...(m.root ? [] : [ROOT_LACK])];
    case 'postgres':
      return m.postgres ? [] : [{ what: 'PostgreSQL (initdb, postgres, pg_dump, pg_restore, psql)', package: 'postgresql' }];
    case 'sqlite':
      return m.sqlite3 ? [] : [{ what: 'sqlite3 (SQLite command-line shell)', package: 'sqlite3' }];
    case 'terminal':
      return m.tmux ? [] : [{ what: m.overrides.tmux !== undefined ? `tmux: SHIP_TEST_TMUX=${m.overrides.tmux} does not exist` : 'tmux', package: 'tmux' }];
    case 'haproxy':
      return [
        ...(m.haproxy ? [] : [{ what: 'HAProxy (the load balancer tests)', package: 'haproxy' }]),
        ...(m.socat ? [] : [{ what: 'socat (speaks to the HAProxy admin socket)', package: 'socat' }]),
      ];
    case 'dropbear':
      return [
        ...fleetLacks(m),
        ...(m.root ? [] : [ROOT_LACK]),
        ...(m.dropbear && m.dropbearconvert ? [] : [{ what: 'dropbear and dropbearconvert', package: 'dropbear-bin' }]),
      ];
    case 'busybox':
      return m.busybox ? [] : [{ what: 'busybox', package: 'busybox' }];
    case 'shells':
      return [...(m.root ? [] : [ROOT_LACK]), ...(m.fish ? [] : [{ what: 'fish', package: 'fish' }]), ...(m.tcsh ? [] : [{ what: 'tcsh', package: 'tcsh' }])];
    case 'pm2':
      return m.pm2 ? [] : [{ what: 'pm2 (from the npm registry)', advice: `npm install -g pm2@${PM2_VERSION}` }];
    case 'systemd-analyze':
      return m.systemdAnalyze ? [] : [{ what: 'systemd-analyze', package: 'systemd' }];
  }
}

/** The commands that get what is lacking: one apt-get line for every package, then the advice. */
export function fixesFor(lacks: readonly Lack[], root: boolean): string[] {
  const packages = [...new Set(lacks.flatMap((l) => (l.package ? [l.package] : [])))];
  const advice = [...new Set(lacks.flatMap((l) => (l.advice ? [l.advice] : [])))];
  return [...(packages.length ? [`${root ? '' : 'sudo '}apt-get install -y ${packages.join(' ')}`] : []), ...advice];
}

/** The lacks and their fixes as the lines of a message. */
export function describeLacks(lacks: readonly Lack[], root: boolean): string[] {
  return ['This machine lacks what they need:', ...lacks.map((l) => `  - ${l.what}`), 'To run them:', ...fixesFor(lacks, root).map((f) => `  ${f}`)];
}

/** This machine, looked at once per process. */
export const machine: MachineFacts = inspectMachine();

/**
 * For `describe.skipIf` / `it.skipIf`: true when this machine lacks what `caps` need. With
 * CI set nothing may be skipped: it throws instead, and the test file fails with the message.
 */
export function skipWithout(...caps: Capability[]): boolean {
  return mustSkip(caps, machine);
}

/** skipWithout on the facts given. */
export function mustSkip(caps: readonly Capability[], m: MachineFacts): boolean {
  const lacks = lacksFor(caps, m);
  if (lacks.length === 0) return false;
  if (m.ci) {
    const err = new Error(['CI is set, so the end-to-end tests may not be skipped.', ...describeLacks(lacks, m.root)].join('\n'));
    err.name = REQUIREMENTS_ERROR;
    throw err;
  }
  return true;
}
