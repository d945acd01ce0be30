/**
 * Thirty hosts behind one bastion whose sshd has the stock settings (MaxStartups 10:30:100,
 * MaxSessions 10): ship makes one connection to the bastion and carries every target's
 * channel on it, so the deploy never meets the bastion's limit on handshakes at once, and
 * accept-new records the bastion's key once.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShip } from '../helpers/cli.js';
import { hostView } from '../helpers/fleet-stage.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { skipWithout } from '../helpers/requirements.js';

const TARGETS = 30;

describe.skipIf(skipWithout('fleet'))('a bastion with stock sshd settings in front of 30 hosts', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;
  const { current } = hostView(() => fleet);

  beforeAll(async () => {
    // host1 is the bastion, with OpenSSH's defaults back in place of the harness's generous ones
    fleet = await startFleet({
      count: TARGETS + 1,
      firstAddress: 100,
      host: (i) => (i === 0 ? { sshdConfig: ['MaxStartups 10:30:100', 'MaxSessions 10'] } : {}),
    });
    repo = fixtureRepo({ withApp: false });
    work = mkdtempSync(join(tmpdir(), 'ship-bastion-'));
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('deploys all of them through one connection to the bastion, its key recorded once', async () => {
    const [bastion, ...targets] = fleet.hosts;
    // the targets' keys are known; the bastion's is learnt by accept-new
    const knownHosts = join(work, 'known_hosts');
    const lines = readFileSync(fleet.knownHostsFile, 'utf8').split('\n');
    writeFileSync(knownHosts, lines.filter((l) => !l.startsWith(`${bastion!.address} `) && !l.startsWith(`[${bastion!.address}]`)).join('\n'));
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: demo
repo: ${repo.dir}
deploy_to: ${targets[0]!.deployTo}
ssh:
  user: ${fleet.user}
  identity: ${fleet.identityFile}
  known_hosts: accept-new
  jump: ${fleet.user}@${bastion!.address}:${bastion!.port}
stages:
  test:
    hosts:
${targets.map((h) => `      - { host: ${h.address}, port: ${h.port} }`).join('\n')}
`,
    );
    const r = await runShip(['--config', join(work, 'deploy.yaml'), 'deploy', 'test', '--json'], {
      cwd: work,
      env: { HOME: fleet.home, SHIP_KNOWN_HOSTS: knownHosts },
      timeoutMs: 240_000,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const id = r.events().at(-1)!.release as string;
    for (const h of targets) expect(current(h.index)).toBe(id);

    const bastionLines = readFileSync(knownHosts, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(`${bastion!.address} `) || l.startsWith(`[${bastion!.address}]:`));
    expect(bastionLines).toHaveLength(1);
    expect(fleet.log(0).match(/Accepted publickey/g)).toHaveLength(1);
  }, 300_000);
});
