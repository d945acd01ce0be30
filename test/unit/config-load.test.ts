import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findConfigFile, loadConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problem.js';
import { resolveStage } from '../../src/config/resolve.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/config');

describe('findConfigFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ship-config-'));
    await mkdir(path.join(dir, 'app/ops'), { recursive: true });
    await mkdir(path.join(dir, 'empty'));
    await writeFile(path.join(dir, 'app/deploy.yaml'), 'app: a\n');
    await writeFile(path.join(dir, 'app/deploy.yml'), 'app: b\n');
    await writeFile(path.join(dir, 'app/ops/other.yaml'), 'app: c\n');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const found = async (opts: { cwd: string; flag?: string; env?: Record<string, string>; root?: string }) => {
    const result = await findConfigFile({ env: {}, ...opts });
    return result.ok ? path.relative(dir, result.path) : result.problems.map(formatProblem);
  };

  test('./deploy.yaml, then ./deploy.yml', async () => {
    expect(await found({ cwd: path.join(dir, 'app') })).toBe('app/deploy.yaml');
    await rm(path.join(dir, 'app/deploy.yaml'));
    expect(await found({ cwd: path.join(dir, 'app') })).toBe('app/deploy.yml');
    await writeFile(path.join(dir, 'app/deploy.yaml'), 'app: a\n');
  });

  test('--config wins over SHIP_CONFIG, which wins over ./deploy.yaml', async () => {
    const cwd = path.join(dir, 'app');
    const env = { SHIP_CONFIG: 'deploy.yml' };
    expect(await found({ cwd, flag: 'ops/other.yaml', env })).toBe('app/ops/other.yaml');
    expect(await found({ cwd, env })).toBe('app/deploy.yml');
    expect(await found({ cwd, env: { SHIP_CONFIG: '' } })).toBe('app/deploy.yaml');
  });

  test('from a subdirectory, the nearest deploy.yaml above is found, and said to be above', async () => {
    await mkdir(path.join(dir, 'app/src/routes'), { recursive: true });
    expect(await found({ cwd: path.join(dir, 'app/src/routes') })).toBe('app/deploy.yaml');
    const above = await findConfigFile({ cwd: path.join(dir, 'app/src/routes'), env: {} });
    expect(above).toMatchObject({ ok: true, above: true });
    expect(await findConfigFile({ cwd: path.join(dir, 'app'), env: {} })).toMatchObject({ ok: true, above: false });
    // an explicit file is never looked for above
    expect(await found({ cwd: path.join(dir, 'app/src'), flag: 'deploy.yaml' })).toEqual(['deploy.yaml: config file not found (given by --config)']);
  });

  test('a missing file names the paths tried and suggests ship init', async () => {
    expect(await found({ cwd: path.join(dir, 'empty'), root: dir })).toEqual([
      'deploy.yaml: no config file found (tried deploy.yaml, deploy.yml here and in every directory above): run `ship init` to write one, or pass --config FILE',
    ]);
    expect(await found({ cwd: path.join(dir, 'app'), flag: 'nope.yaml', env: { SHIP_CONFIG: 'deploy.yml' } })).toEqual([
      'nope.yaml: config file not found (given by --config)',
    ]);
    expect(await found({ cwd: path.join(dir, 'app'), env: { SHIP_CONFIG: '../missing.yaml' } })).toEqual([
      '../missing.yaml: config file not found (given by SHIP_CONFIG)',
    ]);
    expect(await found({ cwd: dir, flag: 'app' })).toEqual(['app: is a directory, not a config file']);
  });
});

describe('loadConfig', () => {
  test('reads, validates, and keeps what resolving a stage needs', async () => {
    const result = await loadConfig({ path: 'project/deploy.yaml', cwd: FIXTURES, env: { A: '1' } });
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    const { raw, positions: _, ...config } = result.config;
    expect(config).toEqual({
      file: 'project/deploy.yaml',
      configPath: path.join(FIXTURES, 'project/deploy.yaml'),
      configDir: path.join(FIXTURES, 'project'),
      stages: ['local'],
      env: { A: '1' },
    });
    expect(raw).toEqual({
      app: 'demo',
      repo: '.',
      deploy_to: '/srv/demo',
      stages: { local: { hosts: [{ host: 'localhost', local: true, deploy_to: './.ship/local' }] } },
    });
  });

  test('problems name the file relative to cwd', async () => {
    const result = await loadConfig({ path: path.join(FIXTURES, 'misspelt-key-and-wrong-type.yaml'), cwd: path.dirname(FIXTURES), env: {} });
    expect(result.ok ? [] : result.problems.map(formatProblem)[0]).toBe(
      'config/misspelt-key-and-wrong-type.yaml:4:1 keep_release: unknown key "keep_release" (did you mean "keep_releases"?)',
    );
  });

  test('an unreadable file is one problem without a position', async () => {
    const result = await loadConfig({ path: 'nope/deploy.yaml', cwd: FIXTURES, env: {} });
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual(['nope/deploy.yaml: file not found']);
  });

  test('recipe task names may be given, so hooks can name them', async () => {
    const names = await loadConfig({ path: 'project-yml/deploy.yml', cwd: FIXTURES, env: {}, recipeTasks: ['assets'] });
    expect(names.ok).toBe(true);
  });
});

describe('the shipped files', () => {
  const ROOT = path.resolve(import.meta.dirname, '../..');

  test('deploy.example.yaml is valid, and its local stage resolves', async () => {
    const result = await loadConfig({ path: 'deploy.example.yaml', cwd: ROOT, env: {} });
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    const local = resolveStage(result.config, 'local', { homedir: '/home/me' });
    expect(local.ok && local.stage.hosts.map((h) => [h.name, h.local, h.deployTo])).toEqual([['localhost', true, path.join(ROOT, '.ship/local')]]);
    // production reads DATABASE_URL from the environment
    expect(resolveStage(result.config, 'production', { homedir: '/home/me' }).ok).toBe(false);
  });
});
