/**
 * How the app's process gets its environment: the app env file (one format, three loaders:
 * sh, systemd's EnvironmentFile= and the pm2 config ship writes), the pm2 config itself run
 * by node as pm2 would load it, and the systemd unit checked by systemd-analyze.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostConfig, StageConfig } from '../../src/config/types.js';
import { appFiles } from '../../src/deploy/app-files.js';
import { hostFacts } from '../../src/engine/index.js';
import { appEnv } from '../../src/release/app-env.js';
import { serverPaths } from '../../src/release/paths.js';
import { parseEnvFile, renderEnvFile } from '../../src/shell/env-file.js';
import { renderExports } from '../../src/shell/render.js';
import { render } from '../../src/shell/render.js';
import { planSetup, type SetupFacts } from '../../src/setup/plan.js';
import { loadRecipe } from '../../src/recipes/load.js';
import { readTemplate } from '../../src/setup/templates.js';
import { skipWithout } from '../helpers/requirements.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'ship-app-process-'));

const HOSTILE: Record<string, string> = {
  PLAIN: 'production',
  QUOTES: `it's "quoted" 'twice'`,
  SHELL: '$HOME `id` $(touch pwned) \\n; rm -rf /',
  LINES: 'first\nsecond\n',
  EMPTY: '',
  SPACES: '  padded  ',
  HASH: '# not a comment',
  EQUALS: 'a=b=c',
};

describe('the app env file', () => {
  it('reads back the same values in JavaScript (the pm2 config) and in sh (set -a; . FILE)', () => {
    const text = renderEnvFile(HOSTILE);
    expect(parseEnvFile(text)).toEqual(HOSTILE);
    const dir = tmp();
    writeFileSync(join(dir, 'env'), text);
    const out = execFileSync('sh', ['-c', `set -a; . ./env; set +a; node -e 'process.stdout.write(JSON.stringify(process.env))'`], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    });
    const seen = JSON.parse(out) as Record<string, string>;
    for (const [k, v] of Object.entries(HOSTILE)) expect(seen[k], k).toBe(v);
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(() => statSync(join(dir, 'pwned'))).toThrow();
  });

  it('refuses a name no loader could read', () => {
    expect(() => renderEnvFile({ 'BAD-NAME': 'x' })).toThrow(/invalid environment variable name/);
  });
});

const host = (over: Partial<HostConfig> = {}): HostConfig => ({
  name: 'web1',
  local: false,
  roles: ['web'],
  primary: true,
  deployTo: '/srv/app',
  ssh: { knownHosts: 'strict', connectTimeoutMs: 1000, keepaliveMs: 1000 },
  env: {},
  vars: {},
  ...over,
});

const stageWith = (over: Partial<StageConfig> = {}): StageConfig =>
  ({
    app: 'demo',
    stage: 'production',
    shared: { dirs: ['log'], files: [] },
    env: { NODE_ENV: 'production', DATABASE_URL: 'postgres://u:s3cret@db/app' },
    vars: {},
    ...over,
  }) as unknown as StageConfig;

const factsFor = (stage: StageConfig, h: HostConfig, deployTo: string, release = '20261122021500') =>
  hostFacts(stage, h, serverPaths(deployTo), release, { revision: 'a'.repeat(40), branch: 'main', previous: undefined });

/** Runs the app files step of a release under `deployTo` on this machine, as a host's script would. */
function writeAppFiles(stage: StageConfig, h: HostConfig, deployTo: string): string {
  const facts = factsFor(stage, h, deployTo);
  const files = appFiles(stage, h, serverPaths(deployTo), facts, readTemplate('pm2.config.cjs.tmpl'));
  const release = join(deployTo, 'releases', facts.release);
  mkdirSync(release, { recursive: true });
  execFileSync('sh', ['-c', `umask 022\n${renderExports(files.env)}\n${render(files.step.command)}`]);
  return release;
}

describe('the app files of a release', () => {
  it("hold the stage's env, host over stage, and the release's facts; readable by the deploy user only", () => {
    const dir = tmp();
    const s = stageWith();
    const h = host({ env: { NODE_ENV: 'staging', PORT: '3000' } });
    const release = writeAppFiles(s, h, dir);
    const file = join(release, '.ship-env');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(parseEnvFile(readFileSync(file, 'utf8'))).toEqual({
      NODE_ENV: 'staging',
      DATABASE_URL: 'postgres://u:s3cret@db/app',
      PORT: '3000',
      SHIP_APP: 'demo',
      SHIP_STAGE: 'production',
      SHIP_RELEASE: '20261122021500',
      SHIP_REVISION: 'a'.repeat(40),
      SHIP_BRANCH: 'main',
    });
    expect(appEnv(s, h, factsFor(s, h, dir)).PORT).toBe('3000');
  });

  it('a file of that name from the repository is replaced, and ends 0600 too', () => {
    const dir = tmp();
    const release = join(dir, 'releases', '20261122021500');
    mkdirSync(release, { recursive: true });
    writeFileSync(join(release, '.ship-env'), 'FROM_GIT=1\n', { mode: 0o644 });
    writeAppFiles(stageWith(), host(), dir);
    expect(statSync(join(release, '.ship-env')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(release, '.ship-env'), 'utf8')).not.toContain('FROM_GIT');
  });

  it('the secrets never stand in the command (they travel as script variables)', () => {
    const s = stageWith({ vars: { restart_with: 'pm2' } });
    const files = appFiles(s, host(), serverPaths('/srv/app'), factsFor(s, host(), '/srv/app'), readTemplate('pm2.config.cjs.tmpl'));
    expect(render(files.step.command)).not.toContain('s3cret');
    expect(Object.values(files.env).join('')).toContain('s3cret');
  });
});

describe('the pm2 config ship writes (loaded by node, as pm2 loads it)', () => {
  const load = (dir: string, vars: Record<string, string>, pkg?: object) => {
    const s = stageWith({ vars: { restart_with: 'pm2', ...vars } });
    const release = join(dir, 'releases', '20261122021500');
    mkdirSync(release, { recursive: true });
    if (pkg) writeFileSync(join(release, 'package.json'), JSON.stringify(pkg));
    writeAppFiles(s, host({ env: { QUOTES: HOSTILE.QUOTES!, LINES: HOSTILE.LINES! } }), dir);
    expect(statSync(join(release, '.ship-pm2.config.cjs')).mode & 0o777).toBe(0o600);
    return createRequire(import.meta.url)(join(release, '.ship-pm2.config.cjs')) as { apps: Record<string, unknown>[] };
  };

  it('npm start of a plain node script: that script, from current, in cluster mode, with the env of its release', () => {
    const dir = tmp();
    const app = load(dir, {}, { scripts: { start: 'node server.js --port-file x' } }).apps[0]!;
    expect(app).toMatchObject({
      name: 'demo',
      cwd: join(dir, 'current'),
      script: 'server.js',
      args: ['--port-file', 'x'],
      exec_mode: 'cluster',
      instances: 1,
      out_file: join(dir, 'shared', 'log', 'app.log'),
    });
    expect(app.env).toMatchObject({ DATABASE_URL: 'postgres://u:s3cret@db/app', QUOTES: HOSTILE.QUOTES, LINES: HOSTILE.LINES, SHIP_RELEASE: '20261122021500' });
  });

  it('any other command runs through sh in fork mode; the name and process count follow the vars', () => {
    const dir = tmp();
    const app = load(dir, { start_command: 'npm start', service: 'web' }, { scripts: { start: 'next start -p 3000' } }).apps[0]!;
    expect(app).toMatchObject({ name: 'web', script: '/bin/sh', args: ['-c', 'exec npm start'], interpreter: 'none', exec_mode: 'fork', instances: 1 });
    const many = load(tmp(), { start_command: 'node app.mjs', pm2_instances: 'max', pm2_exec_mode: 'fork' }).apps[0]!;
    expect(many).toMatchObject({ script: 'app.mjs', args: [], exec_mode: 'fork', instances: 'max' });
  });

  it('bad pm2 vars are named', () => {
    expect(() => load(tmp(), { pm2_instances: 'lots' })).toThrow(/vars.pm2_instances: "lots" is not a number/);
    expect(() => load(tmp(), { pm2_exec_mode: 'swarm' })).toThrow(/vars.pm2_exec_mode: "swarm" must be cluster, fork or empty/);
  });

  it('is written only when the app runs under pm2', () => {
    const s = stageWith({ vars: { restart_with: 'command' } });
    const files = appFiles(s, host(), serverPaths('/srv/app'), factsFor(s, host(), '/srv/app'), readTemplate('pm2.config.cjs.tmpl'));
    expect(render(files.step.command)).not.toContain('pm2');
  });
});

describe.skipIf(skipWithout('systemd-analyze'))('the systemd unit of ship setup', () => {
  it('passes systemd-analyze verify', () => {
    const facts: SetupFacts = { uid: 0, user: 'root', group: 'root', sudo: false, systemd: false, programs: {} };
    const recipe = loadRecipe('node', process.cwd(), process.cwd()).recipe!;
    const s = stageWith({ vars: { ...recipe.vars, restart_with: 'systemd', start_command: 'node server.js' } });
    const plan = planSetup({
      stage: s,
      host: host(),
      recipe,
      facts,
      templates: { logrotate: readTemplate('logrotate.tmpl'), systemd: readTemplate('systemd.service.tmpl') },
    });
    const dir = tmp();
    writeFileSync(join(dir, 'demo.service'), plan.env.SHIP_SETUP_UNIT!);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, 'demo.service')], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });
});
