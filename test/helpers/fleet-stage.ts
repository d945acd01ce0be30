import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Fleet } from './fleet/index.js';
import { runShip, type ShipRun } from './cli.js';

/**
 * A stage `test` on an e2e fleet, as the output, exec and dry-run tests use it: every host a
 * web host but the last, which is db (it migrates); the fleet's key and known hosts; one
 * secret in env (DATABASE_URL, from TEST_DATABASE_URL) that must never be printed.
 */
export interface FleetStage {
  /** Writes deploy.yaml: `body` goes between the common keys and `stages:`; `hosts` replaces the host lines. */
  write(o?: { body?: string; hosts?: string[] }): void;
  /** Runs the built ship on this stage's deploy.yaml, as the fleet's user would. */
  ship(...args: string[]): Promise<ShipRun>;
  /** The environment ship runs with (for a terminal session). */
  env(extra?: Record<string, string>): Record<string, string>;
  config: string;
  /** Empties every host's deploy path. */
  reset(): Promise<void>;
}

/** The head every fleet test's deploy.yaml starts with: app demo, the repository, the fleet's deploy path and its ssh login. */
export function fleetConfigHead(fleet: Fleet, repo: string): string {
  return `app: demo
repo: ${repo}
deploy_to: ${fleet.hosts[0]!.deployTo}
ssh:
  user: ${fleet.user}
  identity: ${fleet.identityFile}`;
}

export function fleetStage(fleet: Fleet, repo: string, work: string, secret: string): FleetStage {
  const config = join(work, 'deploy.yaml');
  const env = (extra: Record<string, string> = {}) => ({ HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile, TEST_DATABASE_URL: secret, ...extra });
  const last = fleet.hosts.length - 1;
  const hostLines = () => fleet.hosts.map((h, i) => `{ host: ${h.address}, roles: [${i === last ? 'db' : 'web'}] }`);
  return {
    config,
    env,
    write: (o = {}) =>
      writeFileSync(
        config,
        `${fleetConfigHead(fleet, repo)}
env:
  DATABASE_URL: \${TEST_DATABASE_URL}
secrets: [DATABASE_URL]
${o.body ?? ''}
stages:
  test:
    hosts:
${(o.hosts ?? hostLines()).map((h) => `      - ${h}`).join('\n')}
`,
      ),
    ship: (...args) => runShip(['--config', config, ...args], { cwd: work, env: env() }),
    reset: async () => {
      await Promise.all(fleet.hosts.map((h) => fleet.ssh(h.index, `rm -rf ${h.deployTo}/* ${h.deployTo}/.ship`)));
    },
  };
}

/**
 * What a fleet host holds, read from this machine through its backing directory. Links point
 * into the host's own /srv, which this machine does not see: they are read, never followed.
 * `fleet` is a getter: tests start their fleet in beforeAll.
 */
export function hostView(fleet: () => Fleet) {
  const at = (i: number, p: string) => fleet().hosts[i]!.localPath(`${fleet().hosts[i]!.deployTo}/${p}`);
  return {
    at,
    current: (i: number): string | undefined => {
      try {
        return readlinkSync(at(i, 'current')).split('/').at(-1);
      } catch {
        return undefined;
      }
    },
    releases: (i: number): string[] => (existsSync(at(i, 'releases')) ? readdirSync(at(i, 'releases')).sort() : []),
    locked: (i: number): boolean => existsSync(at(i, '.ship/lock')),
  };
}

/**
 * `ship setup` adds a logrotate line per host to the login user's crontab (on this machine, as
 * the fleet's hosts share it): take the fleet's lines back out, keeping everyone else's.
 */
export function removeSetupCronLines(fleet: Fleet): void {
  const mine = fleet.isolated ? ['-u', fleet.user] : [];
  let current = '';
  try {
    current = execFileSync('crontab', [...mine, '-l'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return; // no crontab (or no cron here): setup wrote none
  }
  const kept = current.split('\n').filter((l) => l && !fleet.hosts.some((h) => l.includes(`${h.deployTo}/.ship/logrotate.conf`)));
  execFileSync('crontab', [...mine, '-'], { input: kept.length ? `${kept.join('\n')}\n` : '' });
}
