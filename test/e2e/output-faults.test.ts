/**
 * Output, secrets and signals on real sshd hosts: a reader that closes the pipe early, stdout
 * on a full device and SIGHUP never end a deploy half done; secrets that span lines and host
 * text with control characters never reach the screen raw.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runShip, SHIP_BIN } from '../helpers/cli.js';
import { fleetConfigHead, hostView } from '../helpers/fleet-stage.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { skipWithout } from '../helpers/requirements.js';

/** A multi-line secret, as a deploy key is: every line of it but the short last one must stay hidden. */
const KEY = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  `b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW${process.pid}`,
  'QyNTUxOQAAACDc0h0DjD8yq0mF1Jb5uTQe3d5A0Ycv8aF6Z2m2a9rWxQAAAJgAAAAAAAAA',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');

describe.skipIf(skipWithout('fleet'))('output faults, secrets and signals over SSH', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 111 });
    repo = fixtureRepo({ withApp: false });
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(async () => {
    await Promise.all(fleet.hosts.map((h) => fleet.ssh(h.index, `rm -rf ${h.deployTo}/* ${h.deployTo}/.ship`)));
    work = mkdtempSync(join(tmpdir(), 'ship-outfault-'));
  });

  /** A batched rollout (one host per wave) whose tasks print a good many lines and take a moment. */
  const config = (o: { restart?: string; body?: string; env?: string } = {}) => {
    const hosts = fleet.hosts.map((h) => `      - { host: ${h.address}, roles: [web] }`).join('\n');
    writeFileSync(
      join(work, 'deploy.yaml'),
      `${fleetConfigHead(fleet, repo.dir)}
${o.env ?? ''}
tasks:
  build: |
    i=0; while [ $i -lt 40 ]; do echo "build line $i on {{host}}"; i=$((i+1)); done
  restart: |
    ${o.restart ?? 'sleep 0.3; echo restarted'}
${o.body ?? ''}
stages:
  test:
    rollout: { batch: 1 }
    hosts:
${hosts}
`,
    );
  };
  const env = () => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CI: 'true',
    HOME: fleet.home,
    SHIP_KNOWN_HOSTS: fleet.knownHostsFile,
    TEST_DEPLOY_KEY: KEY,
  });
  const ship = (...args: string[]) => runShip(['--config', join(work, 'deploy.yaml'), ...args], { cwd: work, env: env() });
  const { current, locked, releases } = hostView(() => fleet);
  const all = [0, 1, 2];
  const deployOk = async () => {
    const r = await ship('deploy', 'test', '--json');
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return r.events().at(-1)!.release as string;
  };
  /** The deploy logs of this stage, oldest first, with their text. */
  const logs = () => {
    const dir = join(work, '.ship', 'logs');
    return existsSync(dir)
      ? readdirSync(dir)
          .sort()
          .map((f) => ({ name: f, text: readFileSync(join(dir, f), 'utf8') }))
      : [];
  };

  /** Runs ship with stdout read by `reader` and stderr collected; resolves with the exit code. */
  const runWith = (args: string[], stdout: 'pipe' | number, reader?: (child: ReturnType<typeof spawn>) => void) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, [SHIP_BIN, '--config', join(work, 'deploy.yaml'), ...args], {
        cwd: work,
        env: env(),
        stdio: ['ignore', stdout, 'pipe'],
      });
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      reader?.(child);
      child.on('close', (code) => resolve({ code, err }));
    });
  /** Reads three lines and closes the pipe, as `| head -n 3` does. */
  const headThree = (child: ReturnType<typeof spawn>) => {
    let seen = '';
    child.stdout!.on('data', (c: Buffer) => {
      seen += c.toString();
      if (seen.split('\n').length > 3) child.stdout!.destroy();
    });
  };
  const expectWholeFleetOn = (id: string) => {
    for (const i of all) {
      expect(current(i)).toBe(id);
      expect(locked(i)).toBe(false);
    }
  };

  it('a reader that closes early (| head -n 3): the batched deploy finishes, exit 0, locks released, the log has everything', async () => {
    config();
    const one = await deployOk();
    repo.commit({ 'v2.txt': '2' });
    const r = await runWith(['deploy', 'test', '--verbose'], 'pipe', headThree);
    expect(r.err).not.toMatch(/unexpected|EPIPE\n\s+at /);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/stopped writing to stdout \(EPIPE\)/);
    const log = logs().at(-1)!;
    const two = /deploy done: release (\d{14})/.exec(log.text)?.[1];
    expect(two).toBeDefined();
    expect(two).not.toBe(one);
    expectWholeFleetOn(two!);
    expect(log.text).toContain('build line 39 on'); // every line, the ones after the pipe closed too
  });

  it('a reader that closes early while the deploy fails: the exit code is the failure, every host put back', async () => {
    config({ restart: `if [ {{host}} = ${fleet.hosts[2]!.address} ] && [ -e FAIL_RESTART ]; then exit 7; fi; sleep 0.3` });
    const one = await deployOk();
    repo.commit({ FAIL_RESTART: '' });
    const r = await runWith(['deploy', 'test', '--json'], 'pipe', headThree);
    const end = logs().at(-1)!.text;
    const code = Number(/deploy failed \(exit (\d+)\)/.exec(end)?.[1]);
    expect(code).toBeGreaterThan(0);
    expect(r.code, r.err).toBe(code);
    expectWholeFleetOn(one);
    repo.remove('FAIL_RESTART');
  });

  it('stdout on a full device (> /dev/full): no stack trace, the deploy finishes, exit 0', async () => {
    config();
    await deployOk();
    repo.commit({ 'v3.txt': '3' });
    const full = openSync('/dev/full', 'w');
    const r = await runWith(['deploy', 'test'], full).finally(() => closeSync(full));
    expect(r.err).not.toMatch(/unexpected|ENOSPC: no space left on device, write\n\s+at /);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/stopped writing to stdout \(ENOSPC\)/);
    const two = /deploy done: release (\d{14})/.exec(logs().at(-1)!.text)?.[1];
    expectWholeFleetOn(two!);
  });

  it('SIGHUP mid-publish winds down like SIGTERM: the published hosts go back, locks released, exit 130', async () => {
    config({ restart: 'if [ -e SLOW_RESTART ]; then sleep 3; fi' });
    const one = await deployOk();
    repo.commit({ SLOW_RESTART: '' });
    let hung = false;
    const r = await runWith(['deploy', 'test', '--json'], 'pipe', (child) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        // the second wave's restart: the first host is already published
        if (!hung && out.split('\n').some((l) => l.includes('"task:start"') && l.includes('"restart"') && l.includes(fleet.hosts[1]!.address))) {
          hung = true;
          child.kill('SIGHUP');
        }
      });
    });
    expect(hung).toBe(true);
    expect(r.code, r.err).toBe(130);
    expect(r.err).toMatch(/SIGHUP: stopping safely/);
    expectWholeFleetOn(one);
    for (const i of all) expect(releases(i)).toContain(one);
    repo.remove('SLOW_RESTART');
  });

  it('a multi-line secret (a PEM key) is redacted line by line: --json, plain output, the deploy log, error tails, history', async () => {
    config({
      env: 'env:\n  DEPLOY_KEY: ${TEST_DEPLOY_KEY}\nsecrets: [DEPLOY_KEY]',
      restart: 'printf "%s\\n" "$DEPLOY_KEY"; if [ -e FAIL_KEY ]; then printf "%s\\n" "$DEPLOY_KEY" >&2; exit 3; fi',
    });
    const json = await ship('deploy', 'test', '--json', '--verbose');
    expect(json.code, json.stderr).toBe(0);
    const plain = await ship('deploy', 'test', '--verbose');
    expect(plain.code, plain.stderr).toBe(0);
    repo.commit({ FAIL_KEY: '' });
    const failed = await ship('deploy', 'test');
    expect(failed.code).not.toBe(0);
    repo.remove('FAIL_KEY');
    const history = await ship('history', 'test', '--json');
    const everything =
      [json, plain, failed, history].map((r) => r.stdout + r.stderr).join('\n') +
      logs()
        .map((l) => l.text)
        .join('\n');
    expect(json.stdout).toContain('[REDACTED]'); // the key was printed, and hidden
    expect(failed.stderr).toContain('[REDACTED]'); // in the error's stderr tail too
    for (const line of KEY.split('\n')) expect(everything).not.toContain(line);
    for (const l of json.stdout.trim().split('\n')) JSON.parse(l);
  });

  it('control characters in host text (a lock reason, history fields) never reach the screen', async () => {
    config();
    await deployOk();
    const hostile = '\u001b[2J\u001b[H\rdeploy done: release 20990101000000\nforged line\u0007';
    const lock = await ship('lock', 'test', '--reason', hostile);
    expect(lock.code).toBe(0);
    const entry =
      '{"action":"deploy","release":"20261122021500","user":"mallory\\u001b[31m\\r","started":"2026-11-22T02:15:00Z","finished":"2026-11-22T02:15:09Z","result":"deployed","branch":"x\\u001b]0;pwned\\u0007"}';
    await fleet.ssh(0, `printf '%s\\n' '${entry}' >> ${fleet.hosts[0]!.deployTo}/.ship/history.jsonl`);
    const refused = await ship('deploy', 'test');
    expect(refused.code).toBe(4);
    const releases = await ship('releases', 'test');
    const history = await ship('history', 'test');
    const unlock = await ship('unlock', 'test');
    for (const r of [lock, refused, releases, history, unlock]) {
      const text = r.stdout + r.stderr;
      expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
      expect(text.split('\n').some((l) => l.startsWith('forged line'))).toBe(false);
    }
    expect(refused.stderr).toContain(': deploy done: release 20990101000000 forged line'); // the text is shown, made harmless
    expect(history.stdout).toMatch(/\bmallory\b/);
    expect(history.stdout + refused.stderr).not.toMatch(/\[2J|\[31m|pwned/); // escape sequences go whole
  });
});
