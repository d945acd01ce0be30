/**
 * The deploy fast path over real SSH: with `strategy: remote`, the code rides in each host's
 * lock script (Piggyback in src/deploy/fleet.ts) under a "tentative" release id made from the
 * leader's releases, guarded on every host by `fresh id`. Real sshd hosts on loopback, each
 * with its own /srv, driven through the built `ship` CLI.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { formatReleaseId } from '../../src/release/id.js';
import { runShip } from '../helpers/cli.js';
import { hostView } from '../helpers/fleet-stage.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

/** What every test needs around one fleet: deploy.yaml, the ship runner, views of the hosts. */
function harness(getFleet: () => Fleet, getRepo: () => FixtureRepo, getWork: () => string) {
  const view = hostView(getFleet);
  const config = (o: { roles?: (i: number) => string; tasks?: string } = {}) => {
    const fleet = getFleet();
    const roles = o.roles ?? ((i: number) => (i === fleet.hosts.length - 1 ? 'db' : 'web, app'));
    const hosts = fleet.hosts.map((h, i) => `      - { host: ${h.address}, port: ${h.port}, roles: [${roles(i)}] }`).join('\n');
    writeFileSync(
      join(getWork(), 'deploy.yaml'),
      `app: demo
repo: ${getRepo().dir}
deploy_to: ${fleet.hosts[0]!.deployTo}
keep_releases: 5
shared:
  dirs: [log, storage]
ssh:
  user: ${fleet.user}
  identity: ${fleet.identityFile}
  known_hosts: strict
${o.tasks ? `tasks:\n${o.tasks}\n` : ''}stages:
  test:
    hosts:
${hosts}
`,
    );
  };
  const ship = (args: string[]) =>
    runShip(['--config', join(getWork(), 'deploy.yaml'), ...args], {
      cwd: getWork(),
      env: { HOME: getFleet().home, SHIP_KNOWN_HOSTS: getFleet().knownHostsFile },
      timeoutMs: 90_000,
    });
  /** Runs a shell command on host i as the login user (so ship can later change what it made). */
  const onHost = async (i: number, command: string, input?: string) => {
    const r = await getFleet().ssh(i, command, input === undefined ? {} : { input });
    expect(r.code, `${command}: ${r.stderr}`).toBe(0);
    return r.stdout;
  };
  /** Every file and directory under a path of host i (relative names, sorted). */
  const tree = (i: number, p: string): string[] => {
    const root = view.at(i, p);
    if (!existsSync(root)) return [];
    return (readdirSync(root, { recursive: true }) as string[]).map(String).sort();
  };
  const release = (r: { events(): Record<string, unknown>[] }) => r.events().at(-1)!.release as string;
  /**
   * What the lock scripts did, from a --json run: per host, `task exitCode` for each task that
   * ended before deploy:start (the whole run when it never started), and the release id the
   * early `update` made (the tentative id).
   */
  const early = (r: { events(): Record<string, unknown>[] }) => {
    const events = r.events();
    const start = events.findIndex((e) => e.event === 'deploy:start');
    const before = start < 0 ? events : events.slice(0, start);
    const tasks = (host: string) => before.filter((e) => e.host === host && e.event === 'task:end').map((e) => `${e.task as string} ${e.exitCode as number}`);
    const ids = new Set(
      before.filter((e) => e.event === 'task:start' && e.task === 'update').map((e) => /\/releases\/(\d{14})(?:\s|$)/.exec(e.command as string)?.[1]),
    );
    expect(ids.size, 'one tentative id in every early update').toBe(1);
    return { tasks, tentative: [...ids][0]! };
  };
  return { ...view, config, ship, onHost, tree, release, early };
}

/** No Node.js process warning of any kind on ship's stderr. */
function expectNoNodeWarning(stderr: string) {
  expect(stderr).not.toMatch(/MaxListenersExceededWarning/);
  expect(stderr).not.toMatch(/Warning:/);
  expect(stderr).not.toMatch(/\(node:\d+\)/);
}

describe.skipIf(skipWithout('fleet'))('deploy fast path: 3 hosts', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 94 });
    repo = fixtureRepo({ withApp: false });
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(async () => {
    await Promise.all(fleet.hosts.map((h) => fleet.ssh(h.index, `rm -rf ${h.deployTo}/* ${h.deployTo}/.ship`)));
    work = mkdtempSync(join(tmpdir(), 'ship-e2e-fast-'));
  });

  const { at, current, releases, locked, config, ship, onHost, tree, release, early } = harness(
    () => fleet,
    () => repo,
    () => work,
  );
  const all = [0, 1, 2];
  const addr = (i: number) => fleet.hosts[i]!.address;
  const dir = (i: number) => fleet.hosts[i]!.deployTo;
  const delivered = ['update 0', 'revision 0', 'app env 0', 'link shared 0', 'prepared 0'];

  it('a non-leader host holding a release from the future: the whole fleet moves to a later id, the tentative release is removed', async () => {
    config();
    // a host whose clock runs two hours ahead made it (ids more than a day ahead are ignored as strays)
    const ahead = Date.now() + 2 * 3600_000;
    const future = formatReleaseId(new Date(ahead));
    const oldSha = 'abcdef0123456789abcdef0123456789abcdef01';
    await onHost(1, `mkdir -p ${dir(1)}/releases/${future} && printf '%s\\n' ${oldSha} > ${dir(1)}/releases/${future}/REVISION`);
    const r = await ship(['deploy', 'test', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const id = release(r);
    expect(id).toBe(formatReleaseId(new Date(ahead + 1000))); // the second after the newest id on any host
    // the lock scripts delivered under the leader's id on hosts 0 and 2; host 1's guard refused it
    const { tasks, tentative } = early(r);
    expect(tentative < future).toBe(true);
    expect(tasks(addr(0))).toEqual(delivered);
    expect(tasks(addr(2))).toEqual(delivered);
    expect(tasks(addr(1))).toEqual([]);
    const starts = r.events().filter((e) => e.event === 'deploy:start');
    expect(starts).toHaveLength(1);
    expect(starts[0]!.release).toBe(id);
    for (const i of all) {
      expect(current(i)).toBe(id);
      expect(readFileSync(at(i, `releases/${id}/REVISION`), 'utf8')).toBe(`${repo.head()}\n`);
      expect(existsSync(at(i, `releases/${id}/.ship-preparing`))).toBe(false);
      expect(locked(i)).toBe(false);
    }
    // hosts 0 and 2 got the tentative release in their lock scripts: it is gone
    expect(releases(0)).toEqual([id]);
    expect(releases(2)).toEqual([id]);
    // host 1 refused the tentative id and kept its future release exactly as it was
    expect(releases(1)).toEqual([future, id]);
    expect(tree(1, `releases/${future}`)).toEqual(['REVISION']);
    expect(readFileSync(at(1, `releases/${future}/REVISION`), 'utf8')).toBe(`${oldSha}\n`);
  });

  it('a non-leader host locked by someone else: exit 4, the code delivered early is removed, our locks released, the foreign lock untouched', async () => {
    config();
    const first = await ship(['deploy', 'test', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const id = release(first);
    const owner = `${JSON.stringify({
      user: 'mallory',
      machine: 'elsewhere',
      pid: 4242,
      started: '2024-01-02T03:04:05.000Z',
      reason: 'hands off',
      command: 'lock',
      token: 'f0f0f0f0f0f0f0f0f0f0f0f0',
    })}\n`;
    await onHost(2, `mkdir -p ${dir(2)}/.ship/lock && cat > ${dir(2)}/.ship/lock/owner.json`, owner);
    expect(readFileSync(at(2, '.ship/lock/owner.json'), 'utf8')).toBe(owner);
    const before = all.map((i) => tree(i, 'releases'));

    repo.commit({ 'next.txt': 'next' });
    const r = await ship(['deploy', 'test', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    // hosts 0 and 1 had the new code in place before host 2 refused its lock
    const { tasks, tentative } = early(r);
    expect(tasks(addr(0))).toEqual(delivered);
    expect(tasks(addr(1))).toEqual(delivered);
    expect(tasks(addr(2))).toEqual([]);
    expect(r.events().filter((e) => e.event === 'lock' && !e.ok)).toMatchObject([{ host: addr(2) }]);
    expect(r.events().filter((e) => e.event === 'deploy:start')).toEqual([]);
    expect(r.stderr).toContain(`stage test is locked (on ${addr(2)}); nothing was changed`);
    expect(r.stderr).toMatch(/held by mallory on elsewhere \(pid 4242, lock\).*: hands off/);
    expectNoNodeWarning(r.stderr);
    for (const i of all) {
      expect(tree(i, 'releases')).toEqual(before[i]); // not one file more or less, anywhere
      expect(releases(i)).not.toContain(tentative);
      expect(releases(i)).toEqual([id]);
      expect(current(i)).toBe(id);
    }
    expect(locked(0)).toBe(false);
    expect(locked(1)).toBe(false);
    expect(locked(2)).toBe(true);
    expect(readdirSync(at(2, '.ship/lock'))).toEqual(['owner.json']);
    expect(readFileSync(at(2, '.ship/lock/owner.json'), 'utf8')).toBe(owner);
  });

  it('delivery failing on one non-leader host: exit 1 naming the host and `update`, nothing moved, nothing left, nothing locked', async () => {
    config();
    const first = await ship(['deploy', 'test', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const id = release(first);
    // host 1's mirror is now a regular file: `git clone --mirror` cannot make it
    await onHost(1, `rm -rf ${dir(1)}/repo && echo 'not a repository' > ${dir(1)}/repo`);
    const before = all.map((i) => current(i));

    repo.commit({ 'broken.txt': 'x' });
    const r = await ship(['deploy', 'test', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const { tasks, tentative } = early(r);
    expect(tasks(addr(0))).toEqual(delivered);
    expect(tasks(addr(2))).toEqual(delivered);
    expect(tasks(addr(1))).toEqual([expect.stringMatching(/^update [1-9]\d*$/)]);
    expect(r.stderr).toMatch(new RegExp(`update failed on ${addr(1).replace(/\./g, '\\.')} \\(exit \\d+\\)`));
    expect(r.stderr).not.toMatch(new RegExp(`failed on ${addr(0).replace(/\./g, '\\.')}`));
    expect(r.stderr).not.toMatch(new RegExp(`failed on ${addr(2).replace(/\./g, '\\.')}`));
    expect(r.stderr).toMatch(/deploy failed before publish on 1 of 3 host\(s\)/);
    expectNoNodeWarning(r.stderr);
    for (const i of all) {
      expect(current(i)).toBe(before[i]);
      expect(current(i)).toBe(id);
      expect(releases(i)).toEqual([id]);
      expect(releases(i)).not.toContain(tentative);
      expect(locked(i)).toBe(false);
    }
    expect(readFileSync(at(1, 'repo'), 'utf8')).toBe('not a repository\n');
  });

  it('a real directory named current on a non-leader host: refused, the tentative release removed everywhere, no lock left', async () => {
    config();
    const first = await ship(['deploy', 'test', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const id = release(first);
    await onHost(2, `rm ${dir(2)}/current && mkdir ${dir(2)}/current && echo keep > ${dir(2)}/current/file`);

    repo.commit({ 'again.txt': 'x' });
    const r = await ship(['deploy', 'test', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    // every host got the code in its lock script, host 2 too: the refusal comes after
    const { tasks } = early(r);
    for (const i of all) expect(tasks(addr(i))).toEqual(delivered);
    expect(r.events().filter((e) => e.event === 'deploy:start')).toEqual([]);
    expect(r.stderr).toContain(`${addr(2)}: ${dir(2)}/current is a real directory`);
    expectNoNodeWarning(r.stderr);
    for (const i of all) {
      expect(releases(i)).toEqual([id]);
      expect(locked(i)).toBe(false);
    }
    expect(current(0)).toBe(id);
    expect(current(1)).toBe(id);
    expect(tree(2, 'current')).toEqual(['file']);
    expect(readFileSync(at(2, 'current/file'), 'utf8')).toBe('keep\n');
  });

  it('--json: per host, connect, lock, then update, revision, app env, link shared, prepared in the lock script, later publish and swap; one deploy:start', async () => {
    config();
    const r = await ship(['deploy', 'test', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectNoNodeWarning(r.stderr);
    const events = r.events();
    const starts = events.filter((e) => e.event === 'deploy:start');
    expect(starts).toHaveLength(1);
    const id = starts[0]!.release as string;
    expect(starts[0]).toMatchObject({ revision: repo.head(), hosts: fleet.hosts.map((h) => h.address) });
    expect(release(r)).toBe(id);
    for (const i of all) expect(current(i)).toBe(id);

    const key = (e: Record<string, unknown>) =>
      e.event === 'task:start' || e.event === 'task:end'
        ? `${e.event as string} ${e.task as string}`
        : e.event === 'lock'
          ? `lock ${e.ok ? 'ok' : 'refused'}`
          : (e.event as string);
    const publishAt = events.findIndex((e) => e.event === 'phase' && e.phase === 'publish');
    const startAt = events.indexOf(starts[0]!);
    expect(publishAt).toBeGreaterThan(startAt);
    for (const i of all) {
      const mine = events.map((e, n) => ({ e, n })).filter(({ e }) => e.host === addr(i) && e.event !== 'output');
      const swapEnd = mine.findIndex(({ e }) => key(e) === 'task:end swap');
      expect(swapEnd, JSON.stringify(mine.map(({ e }) => key(e)))).toBeGreaterThan(0);
      expect(mine.slice(0, swapEnd + 1).map(({ e }) => key(e))).toEqual([
        'host:connect',
        'lock ok',
        'task:start update',
        'task:end update',
        'task:start revision',
        'task:end revision',
        'task:start app env',
        'task:end app env',
        'task:start link shared',
        'task:end link shared',
        'task:start prepared',
        'task:end prepared',
        'publish',
        'task:start swap',
        'task:end swap',
      ]);
      // the code went out before the run announced its id; the swap came after the publish phase began
      const prepared = mine.find(({ e }) => key(e) === 'task:end prepared')!;
      const swap = mine.find(({ e }) => key(e) === 'task:start swap')!;
      expect(swap.n).toBeGreaterThan(publishAt);
      expect(prepared.n).toBeLessThan(publishAt);
      for (const { e } of mine) if (e.event === 'task:end') expect(e.exitCode).toBe(0);
      expect(mine.find(({ e }) => e.event === 'publish')!.e).toMatchObject({ release: id });
      // bookkeeping steps of the lock script are never reported as tasks
      expect(mine.map(({ e }) => e.task)).not.toContain('fresh id');
      expect(mine.map(({ e }) => e.task)).not.toContain('inspect');
      expect(mine.map(({ e }) => e.task)).not.toContain('lock');
    }
  });

  it('--json with a build task on every host: update, revision, link shared early; build then prepared in the prepare phase', async () => {
    config({ tasks: '  build: echo "built {{release}} on {{host}}" > built.txt' });
    const r = await ship(['deploy', 'test', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const id = release(r);
    const events = r.events();
    const prepareAt = events.findIndex((e) => e.event === 'phase' && e.phase === 'prepare');
    expect(prepareAt).toBeGreaterThan(0);
    for (const i of all) {
      const mine = events.map((e, n) => ({ e, n })).filter(({ e }) => e.host === addr(i) && (e.event === 'task:start' || e.event === 'lock'));
      const names = mine.map(({ e }) => (e.event === 'lock' ? 'lock' : (e.task as string)));
      expect(names.slice(0, names.indexOf('swap') + 1)).toEqual(['lock', 'update', 'revision', 'app env', 'link shared', 'build', 'prepared', 'swap']);
      expect(mine.find(({ e }) => e.task === 'link shared')!.n).toBeLessThan(prepareAt);
      expect(mine.find(({ e }) => e.task === 'build')!.n).toBeGreaterThan(prepareAt);
      expect(readFileSync(at(i, `releases/${id}/built.txt`), 'utf8')).toBe(`built ${id} on ${addr(i)}\n`);
      expect(existsSync(at(i, `releases/${id}/.ship-preparing`))).toBe(false);
      expect(current(i)).toBe(id);
    }
  });
});

describe.skipIf(skipWithout('fleet'))('deploy fast path: 12 hosts', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;

  beforeAll(async () => {
    fleet = await startFleet({ count: 12, firstAddress: 81 });
    repo = fixtureRepo({ withApp: false });
    work = mkdtempSync(join(tmpdir(), 'ship-e2e-fast-'));
  }, 180_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  const { at, current, releases, locked, config, ship, tree, release, early } = harness(
    () => fleet,
    () => repo,
    () => work,
  );

  it('one deploy to 12 hosts, then a second: one id everywhere, the branch sha, shared links, no marker, no Node warning', async () => {
    // hosts 8-11 build (their release is finished in the prepare phase), the others do not
    // (theirs is finished in the lock script): both ways must end the same
    const builds = (i: number) => i >= 8;
    config({ roles: (i) => (builds(i) ? 'db' : 'web'), tasks: `  build: { roles: [db], run: 'echo "built {{release}}" > built.txt' }` });
    const hosts = fleet.hosts.map((_, i) => i);
    const sha = repo.head();

    const r = await ship(['deploy', 'test', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expectNoNodeWarning(r.stderr);
    const id = release(r);
    expect(r.events().filter((e) => e.event === 'deploy:start')).toMatchObject([{ release: id, revision: sha }]);
    // every host got its code in its lock script, under the id the run kept
    const { tasks, tentative } = early(r);
    expect(tentative).toBe(id);
    for (const i of hosts) {
      expect(tasks(fleet.hosts[i]!.address), fleet.hosts[i]!.address).toEqual([
        'update 0',
        'revision 0',
        'app env 0',
        'link shared 0',
        ...(builds(i) ? [] : ['prepared 0']),
      ]);
    }
    for (const i of hosts) {
      const h = fleet.hosts[i]!;
      expect(current(i), h.address).toBe(id);
      expect(releases(i), h.address).toEqual([id]);
      expect(readFileSync(at(i, `releases/${id}/REVISION`), 'utf8'), h.address).toBe(`${sha}\n`);
      expect(readlinkSync(at(i, `releases/${id}/log`)), h.address).toBe(`${h.deployTo}/shared/log`);
      expect(readlinkSync(at(i, `releases/${id}/storage`)), h.address).toBe(`${h.deployTo}/shared/storage`);
      expect(existsSync(at(i, 'shared/log')) && existsSync(at(i, 'shared/storage')), h.address).toBe(true);
      expect(tree(i, `releases/${id}`), h.address).toEqual(['.ship-env', 'README', 'REVISION', ...(builds(i) ? ['built.txt'] : []), 'log', 'storage'].sort());
      expect(locked(i), h.address).toBe(false);
    }

    const again = await ship(['deploy', 'test', '--json']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expectNoNodeWarning(again.stderr);
    const id2 = release(again);
    expect(id2 > id).toBe(true);
    for (const i of hosts) {
      const h = fleet.hosts[i]!;
      expect(current(i), h.address).toBe(id2);
      expect(releases(i), h.address).toEqual([id, id2]);
      expect(readFileSync(at(i, `releases/${id2}/REVISION`), 'utf8'), h.address).toBe(`${sha}\n`);
      expect(readlinkSync(at(i, `releases/${id2}/log`)), h.address).toBe(`${h.deployTo}/shared/log`);
      for (const rel of [id, id2]) expect(existsSync(at(i, `releases/${rel}/.ship-preparing`)), `${h.address} ${rel}`).toBe(false);
      expect(locked(i), h.address).toBe(false);
    }
  }, 150_000);
});
