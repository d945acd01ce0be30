/**
 * The built-in recipes, each exercised by a real deploy over SSH to three real sshd hosts
 * (two web, one db): node runs npm ci in every release and its migrate script once on the
 * primary; static builds in the release and serves its output as public/; rails runs
 * Bundler's and rake's real command lines, here against a stand-in `bundle` that records
 * them (Ruby is not installable on this machine).
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runShip } from '../helpers/cli.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { skipWithout } from '../helpers/requirements.js';

describe.skipIf(skipWithout('fleet'))('built-in recipes, deployed over SSH', () => {
  let fleet: Fleet;
  let repo: FixtureRepo;
  let work: string;

  beforeAll(async () => {
    fleet = await startFleet({ count: 3, firstAddress: 71 });
    repo = fixtureRepo();
  });
  afterAll(async () => {
    await fleet?.stop();
  });
  beforeEach(async () => {
    await Promise.all(fleet.hosts.map((h) => fleet.ssh(h.index, `rm -rf ${h.deployTo}/* ${h.deployTo}/.ship`)));
    work = mkdtempSync(join(tmpdir(), 'ship-e2e-recipes-'));
  });

  /** Hosts 1 and 2 are web servers, host 3 the database (so the migration primary). */
  const config = (recipe: string, vars: Record<string, string>, hostEnv?: (i: number) => string) => {
    const hosts = fleet.hosts
      .map((h, i) => `      - { host: ${h.address}, port: ${h.port}, roles: [${i === 2 ? 'db' : 'web, app'}]${hostEnv ? `, env: { ${hostEnv(i)} }` : ''} }`)
      .join('\n');
    const varLines = Object.entries(vars).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`);
    writeFileSync(
      join(work, 'deploy.yaml'),
      [
        'app: demo',
        `repo: ${repo.dir}`,
        `recipe: ${recipe}`,
        `deploy_to: ${fleet.hosts[0]!.deployTo}`,
        'strategy: upload',
        'shared: { dirs: [log] }',
        `ssh: { user: ${fleet.user}, identity: ${fleet.identityFile}, known_hosts: strict }`,
        ...(varLines.length ? ['vars:', ...varLines] : []),
        'stages:',
        '  test:',
        '    hosts:',
        hosts,
        '',
      ].join('\n'),
    );
  };
  const deploy = async () => {
    const r = await runShip(['--config', join(work, 'deploy.yaml'), 'deploy', 'test', '--json'], {
      cwd: work,
      env: { HOME: fleet.home, SHIP_KNOWN_HOSTS: fleet.knownHostsFile },
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return r.events().at(-1)!.release as string;
  };
  const at = (i: number, p: string) => fleet.hosts[i]!.localPath(`${fleet.hosts[i]!.deployTo}/${p}`);
  const read = (i: number, p: string) => readFileSync(at(i, p), 'utf8');

  /** The example app's package.json with extra scripts; each records what ran it. */
  const withScripts = (scripts: Record<string, string>) => {
    const pkg = JSON.parse(readFileSync(join(repo.dir, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    repo.commit({ 'package.json': JSON.stringify({ ...pkg, scripts: { ...pkg.scripts, ...scripts } }, null, 2) });
  };
  const writes = (file: string, value: string) => `node -e "require('fs').writeFileSync('${file}', ${value})"`;

  it('node: npm ci in each release on every host, the migrate script once on the db primary', async () => {
    // npm runs a package's own postinstall on `npm ci` and names the command in npm_command
    withScripts({ postinstall: writes('npm-ran.txt', 'process.env.npm_command'), migrate: writes('migrated.txt', 'process.env.SHIP_HOST') });
    config('node', { migrate_script: 'migrate' });
    const id = await deploy();
    for (const i of [0, 1, 2]) {
      expect(read(i, `releases/${id}/npm-ran.txt`), `host ${i}`).toBe('ci');
      expect(existsSync(at(i, `releases/${id}/migrated.txt`)), `host ${i}`).toBe(i === 2);
    }
    expect(read(2, `releases/${id}/migrated.txt`)).toBe(fleet.hosts[2]!.address);
  });

  it('static: the build runs in the release and current/public is its output directory', async () => {
    withScripts({ build: `node -e "require('fs').mkdirSync('site',{recursive:true}); require('fs').writeFileSync('site/index.html', 'hello')"` });
    config('static', { publish_dir: 'site' });
    const id = await deploy();
    for (const i of [0, 1, 2]) {
      expect(readlinkSync(at(i, `releases/${id}/public`))).toBe('site');
      expect(read(i, `releases/${id}/site/index.html`)).toBe('hello');
    }
  });

  it('rails: bundle install in deployment mode, assets:precompile, db:migrate once on the db primary, restart.txt', async () => {
    // A stand-in for Bundler on each host's PATH: records its directory, RAILS_ENV and argv.
    const binOnHost = (i: number) => `${dirname(fleet.hosts[i]!.deployTo)}/bin`;
    for (const h of fleet.hosts) {
      const bin = h.localPath(binOnHost(h.index));
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'bundle'), '#!/bin/sh\nprintf \'%s|%s|%s\\n\' "$(pwd)" "${RAILS_ENV:-}" "$*" >> "$(dirname "$0")/bundle.log"\n');
      chmodSync(join(bin, 'bundle'), 0o755);
      writeFileSync(join(bin, 'bundle.log'), '');
      chmodSync(join(bin, 'bundle.log'), 0o666);
    }
    config('rails', {}, (i) => `PATH: "${binOnHost(i)}:/usr/local/bin:/usr/bin:/bin"`);
    const id = await deploy();
    for (const i of [0, 1, 2]) {
      const release = `${fleet.hosts[i]!.deployTo}/releases/${id}`;
      const calls = readFileSync(fleet.hosts[i]!.localPath(`${binOnHost(i)}/bundle.log`), 'utf8')
        .trim()
        .split('\n');
      expect(calls, `host ${i}`).toEqual([
        `${release}||config set --local deployment true`,
        `${release}||config set --local path ${fleet.hosts[i]!.deployTo}/shared/bundle`,
        `${release}||config set --local without development test`,
        `${release}||install`,
        `${release}|production|exec rake assets:precompile`,
        ...(i === 2 ? [`${release}|production|exec rake db:migrate`] : []),
      ]);
      expect(existsSync(at(i, `releases/${id}/tmp/restart.txt`)), `host ${i}`).toBe(true);
    }
  });
});
