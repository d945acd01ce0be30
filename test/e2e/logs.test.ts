/**
 * `ship logs` and log rotation against two real sshd hosts: the last lines of every host
 * merged by time and prefixed with the host, --grep and --hosts narrowing them, -f following
 * both hosts until Ctrl-C (leaving nothing running on them); the logrotate rule `ship setup`
 * writes (rotate, maxage, maxsize, compress from vars) run for real, and `ship check`
 * failing on a big log that was never rotated, then passing once it was.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIP_BIN } from '../helpers/cli.js';
import { fleetStage, removeSetupCronLines, type FleetStage } from '../helpers/fleet-stage.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { fixtureRepo } from '../helpers/repo.js';
import { skipWithout } from '../helpers/requirements.js';

describe.skipIf(skipWithout('fleet'))('ship logs and log rotation', () => {
  let fleet: Fleet;
  let stage: FleetStage;
  const addr = (i: number) => fleet.hosts[i]!.address;
  const log = (i: number) => `${fleet.hosts[i]!.deployTo}/shared/log/app.log`;
  const append = async (i: number, text: string) => {
    const r = await fleet.ssh(i, `cat >> ${log(i)}`, { input: text });
    if (r.code !== 0) throw new Error(r.stderr);
  };

  beforeAll(async () => {
    fleet = await startFleet({ count: 2, firstAddress: 147 });
    const repo = fixtureRepo({ withApp: false });
    stage = fleetStage(fleet, repo.dir, mkdtempSync(join(tmpdir(), 'ship-e2e-logs-')), 'unused');
    stage.write({ body: 'strategy: upload\nshared: { dirs: [log] }\nvars: { log_max_size: 2k, log_rotate: 3, log_maxage: 10 }' });
    const deploy = await stage.ship('deploy', 'test');
    expect(deploy.code, deploy.stderr).toBe(0);
    await append(0, '2026-11-30T10:00:01 web started\n2026-11-30T10:00:03 ERROR web failed to charge card\n');
    await append(1, '2026-11-30T10:00:02 db started\n    at Stack.frame (db.js:1)\n2026-11-30T10:00:04 db vacuum done\n');
  });
  afterAll(async () => {
    if (fleet) removeSetupCronLines(fleet);
    await fleet?.stop();
  });

  it('merges the last lines of every host by time, each with its host', async () => {
    const r = await stage.ship('logs', 'test', '-n', '10');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      [
        `${addr(0)} | 2026-11-30T10:00:01 web started`,
        `${addr(1)} | 2026-11-30T10:00:02 db started`,
        `${addr(1)} |     at Stack.frame (db.js:1)`,
        `${addr(0)} | 2026-11-30T10:00:03 ERROR web failed to charge card`,
        `${addr(1)} | 2026-11-30T10:00:04 db vacuum done`,
        '',
      ].join('\n'),
    );
  });

  it('--grep, --hosts and -n narrow it; --json gives one event per line', async () => {
    const grep = await stage.ship('logs', 'test', '--grep', 'ERROR|vacuum');
    expect(grep.stdout.trim().split('\n')).toEqual([
      `${addr(0)} | 2026-11-30T10:00:03 ERROR web failed to charge card`,
      `${addr(1)} | 2026-11-30T10:00:04 db vacuum done`,
    ]);
    const one = await stage.ship('logs', 'test', '--hosts', addr(1), '-n', '1');
    expect(one.stdout).toBe(`${addr(1)} | 2026-11-30T10:00:04 db vacuum done\n`);
    const json = await stage.ship('logs', 'test', '--json', '-n', '1');
    const lines = json.events().filter((e) => e.event === 'logs:line');
    expect(lines.map((e) => [e.event, e.host, e.line])).toEqual([
      ['logs:line', addr(0), '2026-11-30T10:00:03 ERROR web failed to charge card'],
      ['logs:line', addr(1), '2026-11-30T10:00:04 db vacuum done'],
    ]);
    const bad = await stage.ship('logs', 'test', '--grep', '(');
    expect(bad.code).toBe(2);
  });

  it('-f follows every host until Ctrl-C, and leaves nothing running on them', async () => {
    const before = [fleet.processes(0).length, fleet.processes(1).length];
    const child = spawn(process.execPath, [SHIP_BIN, '--config', stage.config, 'logs', 'test', '-f', '-n', '1'], {
      env: { ...process.env, ...stage.env(), CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const waitFor = async (text: string) => {
      for (let i = 0; i < 100 && !out.includes(text); i++) await new Promise((r) => setTimeout(r, 100));
      expect(out).toContain(text);
    };
    await waitFor(`${addr(1)} | 2026-11-30T10:00:04 db vacuum done`);
    await append(0, '2026-11-30T10:00:05 web new order\n');
    await append(1, '2026-11-30T10:00:06 db checkpoint\n');
    await waitFor(`${addr(0)} | 2026-11-30T10:00:05 web new order`);
    await waitFor(`${addr(1)} | 2026-11-30T10:00:06 db checkpoint`);
    const exited = new Promise<number | null>((r) => child.on('close', r));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    for (let i = 0; i < 50 && (fleet.processes(0).length > before[0]! || fleet.processes(1).length > before[1]!); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect([fleet.processes(0).length, fleet.processes(1).length]).toEqual(before);
  });

  it('setup writes the rotation settings; check fails on a big unrotated log and passes once logrotate ran', async () => {
    const setup = await stage.ship('setup', 'test');
    expect(setup.code, setup.stderr).toBe(0);
    const conf = `${fleet.hosts[0]!.deployTo}/.ship/logrotate.conf`;
    const rule = readFileSync(fleet.hosts[0]!.localPath(conf), 'utf8');
    expect(rule).toMatch(/rotate 3\n\s+maxage 10\n\s+maxsize 2k\n(.|\n)*\n\s+compress\n/);
    await append(0, `${'x'.repeat(99)}\n`.repeat(60));
    const failing = await stage.ship('check', 'test', '--json');
    const rotated = () => failing.events().filter((e) => e.event === 'check' && e.check === 'rotated logs');
    expect(rotated().map((e) => [e.host, e.status])).toEqual([
      [addr(0), 'fail'],
      [addr(1), 'pass'],
    ]);
    expect(rotated()[0]!.detail).toMatch(/^app\.log is 6\.\d KB, over vars\.log_max_size 2k, and has never been rotated: logrotate is not running this rule/);
    const state = `${fleet.hosts[0]!.deployTo}/.ship/logrotate.state`;
    const run = await fleet.ssh(0, `logrotate -s ${state} ${conf} || /usr/sbin/logrotate -s ${state} ${conf}`);
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(fleet.hosts[0]!.localPath(`${log(0)}.1`))).toBe(true);
    const passing = await stage.ship('check', 'test', '--json');
    const item = passing.events().find((e) => e.event === 'check' && e.check === 'rotated logs' && e.host === addr(0))!;
    expect(item).toMatchObject({ status: 'pass', detail: expect.stringMatching(/^1 log\(s\), largest app\.log \d+ B, 1 rotated copy$/) });
    // a second rotation compresses the first copy (delaycompress)
    await append(0, `${'y'.repeat(99)}\n`.repeat(60));
    const again = await fleet.ssh(0, `logrotate -s ${state} ${conf} || /usr/sbin/logrotate -s ${state} ${conf}`);
    expect(again.code, again.stderr).toBe(0);
    expect(existsSync(fleet.hosts[0]!.localPath(`${log(0)}.2.gz`))).toBe(true);
  });
});
