import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import type { LoadedConfig } from '../../src/config/loaded.js';
import { primaryFor } from '../../src/engine/select.js';
import { formatProblem } from '../../src/config/problem.js';
import { resolveStage, type ResolveOptions } from '../../src/config/resolve.js';
import type { StageConfig, TaskDef } from '../../src/config/types.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/config');
const HOME = '/home/me';

function load(text: string, env: Record<string, string> = {}): LoadedConfig {
  const result = parseConfig({ text, path: 'deploy.yaml', cwd: '/proj', env });
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.config;
}

function resolve(text: string, stage = 'production', opts: ResolveOptions & { env?: Record<string, string> } = {}): StageConfig {
  const result = resolveStage(load(text, opts.env), stage, { homedir: HOME, ...opts });
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
  return result.stage;
}

function resolveProblems(text: string, stage: string, env: Record<string, string> = {}): string[] {
  const result = resolveStage(load(text, env), stage, { homedir: HOME });
  return result.ok ? [] : result.problems.map(formatProblem);
}

const HEAD = 'app: demo\nrepo: https://example.com/demo.git\ndeploy_to: /srv/demo\n';

describe('resolveStage', () => {
  test('the full example configuration, stage production', async () => {
    const loaded = await loadConfig({ path: 'full.yaml', cwd: FIXTURES, env: { DATABASE_URL: 'postgres://app:s3cret@db/app' } });
    if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
    expect(loaded.config.stages).toEqual(['local', 'production']);
    const result = resolveStage(loaded.config, 'production', { homedir: HOME });
    const ssh = {
      user: 'deploy',
      port: 22,
      identity: '/home/me/.ssh/id_ed25519',
      knownHosts: 'strict',
      jump: 'deploy@bastion.example.com',
      connectTimeoutMs: 10_000,
      keepaliveMs: 15_000,
    };
    const env = { NODE_ENV: 'production', DATABASE_URL: 'postgres://app:s3cret@db/app' };
    expect(result).toEqual({
      ok: true,
      stage: {
        configPath: path.join(FIXTURES, 'full.yaml'),
        configDir: FIXTURES,
        app: 'demo',
        stage: 'production',
        repo: 'https://github.com/acme/demo.git',
        branch: 'main',
        recipe: 'node',
        keepReleases: 5,
        strategy: 'remote',
        shared: { dirs: ['log', 'storage'], files: ['.env'] },
        env,
        secrets: ['DATABASE_URL'],
        secretValues: ['postgres://app:s3cret@db/app'],
        concurrency: 20,
        confirm: false,
        health: {
          http: 'http://{{host}}:3000/health',
          expect: { status: 200, body: 'ok' },
          timeoutMs: 60_000,
          intervalMs: 1_000,
        },
        healthChecks: [{ http: 'http://{{host}}:3000/health', expect: { status: 200, body: 'ok' }, timeoutMs: 60_000, intervalMs: 1_000 }],
        check: { urls: ['https://demo.example.com/'], diskMinBytes: 1024 ** 3 },
        rollout: { batch: 2 },
        tasks: {
          build: { name: 'build', run: ['npm ci --omit=dev && npm run build'], once: false, local: false, source: 'config' },
          notify: { name: 'notify', run: ['./scripts/notify.sh {{release}}'], once: false, local: true, source: 'config' },
        },
        hooks: { 'after:publish': [{ task: 'notify' }] },
        vars: {},
        hosts: [
          { name: 'web1.example.com', local: false, roles: ['web', 'app'], primary: false, deployTo: '/srv/demo', ssh, env, vars: {} },
          {
            name: 'web2.example.com',
            local: false,
            roles: ['web', 'app'],
            primary: false,
            deployTo: '/srv/demo',
            ssh: { ...ssh, user: 'ops', port: 2222 },
            env,
            vars: {},
          },
          { name: 'db1.example.com', local: false, roles: ['db'], primary: true, deployTo: '/srv/demo', ssh, env, vars: {} },
        ],
      },
    });
  });

  test('the full example configuration, stage local: deploy_to relative to the config file', async () => {
    const loaded = await loadConfig({ path: 'full.yaml', cwd: FIXTURES, env: { DATABASE_URL: 'x-db-url' } });
    if (!loaded.ok) throw new Error('invalid');
    const result = resolveStage(loaded.config, 'local', { homedir: HOME });
    expect(result.ok && result.stage.hosts.map((h) => [h.name, h.local, h.deployTo, h.primary])).toEqual([
      ['localhost', true, path.join(FIXTURES, '.ship/local'), true],
    ]);
  });

  test('defaults', () => {
    const stage = resolve(`${HEAD}stages:\n  production:\n    hosts: [web1]\n`);
    expect(stage).toEqual({
      configPath: '/proj/deploy.yaml',
      configDir: '/proj',
      app: 'demo',
      stage: 'production',
      repo: 'https://example.com/demo.git',
      recipe: 'base',
      keepReleases: 5,
      strategy: 'remote',
      shared: { dirs: [], files: [] },
      env: {},
      secrets: [],
      secretValues: [],
      concurrency: 20,
      confirm: false,
      healthChecks: [],
      check: { urls: [] },
      rollout: {},
      tasks: {},
      hooks: {},
      vars: {},
      hosts: [
        {
          name: 'web1',
          local: false,
          roles: ['web', 'app'],
          primary: true,
          deployTo: '/srv/demo',
          ssh: { knownHosts: 'strict', connectTimeoutMs: 10_000, keepaliveMs: 15_000 },
          env: {},
          vars: {},
        },
      ],
    });
    expect(Object.keys(stage)).not.toContain('health');
    expect(Object.keys(stage)).not.toContain('branch');
  });

  test('an unknown stage lists the known ones and the likely one, at the stages key', () => {
    const text = `${HEAD}stages:\n  local:\n    hosts: [{ host: localhost, local: true }]\n  production:\n    hosts: [web1]\n`;
    expect(resolveProblems(text, 'prod')).toEqual([
      'deploy.yaml:4:1 stages: unknown stage "prod" (known stages: local, production; did you mean "production"?)',
    ]);
    expect(resolveProblems(text, 'qa')).toEqual(['deploy.yaml:4:1 stages: unknown stage "qa" (known stages: local, production)']);
    expect(resolveProblems(text, 'constructor')).toEqual(['deploy.yaml:4:1 stages: unknown stage "constructor" (known stages: local, production)']);
  });
});

describe('precedence: host over stage over top level', () => {
  test('per-host overrides of deploy_to, ssh, env and vars', async () => {
    const loaded = await loadConfig({ path: 'per-host-overrides.yaml', cwd: FIXTURES, env: {} });
    if (!loaded.ok) throw new Error(loaded.problems.map(formatProblem).join('\n'));
    const result = resolveStage(loaded.config, 'staging', { homedir: HOME });
    if (!result.ok) throw new Error('unresolved');
    const { stage } = result;
    expect(stage.repo).toBe('git@github.com:acme/demo.git');
    expect(stage.env).toEqual({ NODE_ENV: 'staging', LOG_LEVEL: 'info' });
    expect(stage.vars).toEqual({ port: '3000' });
    const stagingSsh = {
      user: 'deploy',
      port: 2200,
      identity: '/home/me/.ssh/deploy_key',
      knownHosts: 'accept-new',
      connectTimeoutMs: 5_000,
      keepaliveMs: 15_000,
    };
    expect(stage.hosts).toEqual([
      {
        name: 'web1.staging.example.com',
        local: false,
        roles: ['web', 'app'],
        primary: true,
        deployTo: '/srv/demo-staging',
        ssh: stagingSsh,
        env: { NODE_ENV: 'staging', LOG_LEVEL: 'info' },
        vars: { port: '3000' },
      },
      {
        name: 'web2.staging.example.com',
        local: false,
        roles: ['web', 'app'],
        primary: false,
        deployTo: '/opt/demo',
        ssh: { ...stagingSsh, user: 'ops', identity: path.join(FIXTURES, 'keys/web2'), keepaliveMs: 30_000 },
        env: { NODE_ENV: 'staging', LOG_LEVEL: 'debug' },
        vars: { port: '3001' },
      },
      {
        name: 'localhost',
        local: true,
        roles: ['web', 'app'],
        primary: false,
        deployTo: path.join(FIXTURES, '.ship/staging'),
        ssh: stagingSsh,
        env: { NODE_ENV: 'staging', LOG_LEVEL: 'info' },
        vars: { port: '3000' },
      },
    ]);
  });

  test('a stage overrides any top-level key; maps merge, health and rollout are replaced whole', () => {
    const text = [
      HEAD,
      'branch: main',
      'keep_releases: 3',
      'strategy: upload',
      'concurrency: 5',
      'recipe: node',
      'repo_tree: ./apps/web/',
      'shared: { dirs: [log], files: [.env] }',
      'check: { urls: ["https://a.example.com/"], disk_min: 1GB }',
      'health: { http: "http://{{host}}/up", timeout: 2m }',
      'rollout: { canary: 1 }',
      'secrets: [A]',
      'env: { A: aaaa, B: b }',
      'vars: { x: "1", y: "2" }',
      'stages:',
      '  staging:',
      '    app: demo-staging',
      '    repo: ./repo',
      '    branch: develop',
      '    deploy_to: /srv/staging',
      '    keep_releases: 1',
      '    strategy: remote',
      '    concurrency: 1',
      '    recipe: ./recipes/mine.yaml',
      '    repo_tree: .',
      '    shared: { files: [.env.staging] }',
      '    check: { disk_min: 10MB }',
      '    health: { tcp: "{{host}}:3000" }',
      '    rollout: { batch: 1 }',
      '    secrets: [B]',
      '    env: { B: bbbbb }',
      '    vars: { y: "22" }',
      '    hosts: [s1]',
      '',
    ].join('\n');
    const stage = resolve(text, 'staging');
    expect({ ...stage, hosts: stage.hosts.map((h) => h.deployTo) }).toEqual({
      configPath: '/proj/deploy.yaml',
      configDir: '/proj',
      app: 'demo-staging',
      stage: 'staging',
      repo: '/proj/repo',
      branch: 'develop',
      recipe: '/proj/recipes/mine.yaml',
      keepReleases: 1,
      strategy: 'remote',
      shared: { dirs: ['log'], files: ['.env.staging'] },
      env: { A: 'aaaa', B: 'bbbbb' },
      secrets: ['A', 'B'],
      secretValues: ['bbbbb', 'aaaa'],
      concurrency: 1,
      confirm: false,
      health: { tcp: '{{host}}:3000', expect: { status: 200 }, timeoutMs: 60_000, intervalMs: 1_000 },
      healthChecks: [{ tcp: '{{host}}:3000', expect: { status: 200 }, timeoutMs: 60_000, intervalMs: 1_000 }],
      check: { urls: ['https://a.example.com/'], diskMinBytes: 10 * 1024 ** 2 },
      rollout: { batch: 1 },
      tasks: {},
      hooks: {},
      vars: { x: '1', y: '22' },
      hosts: ['/srv/staging'],
    });
    expect(resolve(text.replace('    repo_tree: .\n', ''), 'staging').repoTree).toBe('apps/web');
  });

  test('env and vars values are kept as written in the file', () => {
    const stage = resolve(`${HEAD}env: { A: 1.10, B: true, C: 0x1F, D: "" }\nvars: { v: 08 }\nstages:\n  production:\n    hosts: [web1]\n`);
    expect(stage.env).toEqual({ A: '1.10', B: 'true', C: '0x1F', D: '' });
    expect(stage.vars).toEqual({ v: '08' });
  });
});

describe('primary', () => {
  const primaries = (hosts: string): string[] =>
    resolve(`${HEAD}stages:\n  production:\n    hosts:\n${hosts}`)
      .hosts.filter((h) => h.primary)
      .map((h) => h.name);

  test('the host that says primary: true', () => {
    expect(primaries('      - web1\n      - { host: db1, roles: [db] }\n      - { host: db2, roles: [db], primary: true }\n')).toEqual(['db2']);
  });

  test('else the first db host', () => {
    expect(primaries('      - web1\n      - { host: db1, roles: [db] }\n      - { host: db2, roles: [db] }\n')).toEqual(['db1']);
  });

  test('else the first host', () => {
    expect(primaries('      - web1\n      - web2\n')).toEqual(['web1']);
  });

  test('one declared primary per role is kept for each role', () => {
    expect(
      primaries(
        '      - { host: web1, roles: [web] }\n      - { host: web2, roles: [web], primary: true }\n      - { host: db1, roles: [db], primary: true }\n',
      ),
    ).toEqual(['web2', 'db1']);
  });

  test('primaryFor picks the host for a once-only task of some roles', () => {
    const hosts = [
      { name: 'web1', roles: ['web', 'app'], primary: false },
      { name: 'web2', roles: ['web', 'app'], primary: true },
      { name: 'db1', roles: ['db'], primary: false },
      { name: 'db2', roles: ['db'], primary: false },
      { name: 'worker1', roles: ['worker'], primary: false },
    ];
    expect(primaryFor(hosts)?.name).toBe('web2');
    expect(primaryFor(hosts, ['web'])?.name).toBe('web2');
    expect(primaryFor(hosts, ['db'])?.name).toBe('db1');
    expect(primaryFor(hosts, ['worker'])?.name).toBe('worker1');
    expect(primaryFor(hosts, ['cache'])).toBeUndefined();
    expect(primaryFor(hosts.filter((h) => !h.primary))?.name).toBe('db1');
    // no roles, or an empty list: any host, as a task with `roles: []` runs on every host
    expect(primaryFor(hosts, [])?.name).toBe(primaryFor(hosts)?.name);
  });
});

describe('${VAR} from the environment', () => {
  const text = [
    HEAD,
    'env:',
    '  DATABASE_URL: ${DATABASE_URL}',
    '  SENTRY_DSN: ${SENTRY_DSN}',
    '  MODE: ${MODE:-production}',
    '  LITERAL: $${NOT_EXPANDED}',
    'stages:',
    '  production:',
    '    hosts:',
    '      - web1',
    '      - { host: web2, env: { TOKEN: "${WEB2_TOKEN}" } }',
    '  staging:',
    '    env: { SENTRY_DSN: none, DATABASE_URL: "${STAGING_DATABASE_URL}" }',
    '    hosts: [s1]',
    '',
  ].join('\n');

  test('every missing variable of the stage is reported, where it is written', () => {
    expect(resolveProblems(text, 'production', { DATABASE_URL: 'db' })).toEqual([
      'deploy.yaml:7:15 env.SENTRY_DSN: environment variable "SENTRY_DSN" is not set',
      'deploy.yaml:14:37 stages.production.hosts.1.env.TOKEN: environment variable "WEB2_TOKEN" is not set',
    ]);
  });

  test('variables only another stage needs are not required', () => {
    const stage = resolve(text, 'staging', { env: { STAGING_DATABASE_URL: 'staging-db' } });
    expect(stage.env).toEqual({ DATABASE_URL: 'staging-db', SENTRY_DSN: 'none', MODE: 'production', LITERAL: '${NOT_EXPANDED}' });
  });

  test('values are expanded for the stage and each host', () => {
    const stage = resolve(text, 'production', {
      env: { DATABASE_URL: 'db', SENTRY_DSN: 'dsn', MODE: 'canary', WEB2_TOKEN: 't2' },
    });
    expect(stage.env).toEqual({ DATABASE_URL: 'db', SENTRY_DSN: 'dsn', MODE: 'canary', LITERAL: '${NOT_EXPANDED}' });
    expect(stage.hosts.map((h) => h.env.TOKEN)).toEqual([undefined, 't2']);
  });

  test('for a dry run, an unset variable can stand as a placeholder; fallbacks still apply; a placeholder is no secret', () => {
    const loaded = load(`${text}secrets: [DATABASE_URL, TOKEN]\n`, {});
    const result = resolveStage(loaded, 'production', { homedir: HOME, env: { SENTRY_DSN: 'dsn' }, unsetAs: (name) => `<unset: ${name}>` });
    if (!result.ok) throw new Error(result.problems.map(formatProblem).join('\n'));
    expect(result.stage.env).toEqual({ DATABASE_URL: '<unset: DATABASE_URL>', SENTRY_DSN: 'dsn', MODE: 'production', LITERAL: '${NOT_EXPANDED}' });
    expect(result.stage.hosts.map((h) => h.env.TOKEN)).toEqual([undefined, '<unset: WEB2_TOKEN>']);
    expect(result.unset).toEqual(['DATABASE_URL', 'WEB2_TOKEN']);
    expect(result.stage.secretValues).toEqual([]);
  });

  test('the environment given to resolveStage wins over the one given to loadConfig', () => {
    const loaded = load(text, {});
    const result = resolveStage(loaded, 'staging', { homedir: HOME, env: { STAGING_DATABASE_URL: 'x' } });
    expect(result.ok).toBe(true);
  });
});

describe('secretValues', () => {
  test('values of secret entries, of entries built from secret variables, on every host; never empty', () => {
    const text = [
      HEAD,
      'env:',
      '  DB_PASSWORD: ${DB_PASSWORD}',
      '  DATABASE_URL: postgres://app:${DB_PASSWORD}@db/app',
      '  API_KEY: ${API_KEY}',
      '  PUBLIC: hello',
      '  EMPTY_SECRET: ""',
      'secrets: [DB_PASSWORD, API_KEY, EMPTY_SECRET]',
      'stages:',
      '  production:',
      '    hosts: [web1, { host: web2, env: { API_KEY: host-key-2 } }]',
      '',
    ].join('\n');
    const stage = resolve(text, 'production', { env: { DB_PASSWORD: 'pw-1', API_KEY: 'key-1' } });
    expect(stage.secrets).toEqual(['DB_PASSWORD', 'API_KEY', 'EMPTY_SECRET']);
    expect(stage.secretValues).toEqual(['postgres://app:pw-1@db/app', 'host-key-2', 'key-1', 'pw-1']);
  });
});

describe('paths', () => {
  const at = (repo: string): string => resolve(`app: demo\nrepo: "${repo}"\ndeploy_to: /srv/demo\nstages:\n  production:\n    hosts: [web1]\n`).repo;

  test.each([
    ['https://github.com/acme/demo.git', 'https://github.com/acme/demo.git'],
    ['ssh://git@github.com/acme/demo.git', 'ssh://git@github.com/acme/demo.git'],
    ['file:///srv/git/demo.git', 'file:///srv/git/demo.git'],
    ['git@github.com:acme/demo.git', 'git@github.com:acme/demo.git'],
    ['github.com:acme/demo.git', 'github.com:acme/demo.git'],
    ['.', '/proj'],
    ['..', '/'],
    ['../demo', '/demo'],
    ['./repos/a:b', '/proj/repos/a:b'],
    ['/srv/git/demo.git', '/srv/git/demo.git'],
    ['~/src/demo', '/home/me/src/demo'],
  ])('repo %s → %s', (repo, resolved) => {
    expect(at(repo)).toBe(resolved);
  });

  test('remote deploy_to is normalized; identity and local deploy_to expand ~', () => {
    const stage = resolve(
      `${HEAD}stages:\n  production:\n    ssh: { identity: "~/.ssh/id" }\n    hosts:\n      - { host: web1, deploy_to: /srv//demo/./x/../ }\n      - { host: here, local: true, deploy_to: ~/deploys/demo }\n`,
    );
    expect(stage.hosts.map((h) => [h.deployTo, h.ssh.identity])).toEqual([
      ['/srv/demo', '/home/me/.ssh/id'],
      ['/home/me/deploys/demo', '/home/me/.ssh/id'],
    ]);
  });
});

describe('tasks and hooks', () => {
  const recipeTasks: Record<string, TaskDef> = {
    build: { name: 'build', run: ['npm ci'], once: false, local: false, source: 'recipe:node' },
    migrate: { name: 'migrate', run: ['npm run migrate'], roles: ['db'], once: true, local: false, source: 'recipe:node' },
    restart: { name: 'restart', run: ['systemctl restart demo'], once: false, local: false, source: 'recipe:node' },
  };

  const text = [
    HEAD,
    'tasks:',
    '  build: [npm ci, npm run build]',
    '  migrate: []',
    '  notify: { run: ./notify.sh, local: true, desc: Tell the team }',
    '  seed: { run: [a, b], roles: [db], once: true }',
    'hooks:',
    '  after:publish: [notify, { run: "curl -fs {{host}}", roles: [web] }]',
    '  before:build: [seed]',
    'stages:',
    '  production:',
    '    tasks: { notify: ./notify-prod.sh }',
    '    hooks: { "before:build": [] }',
    '    hosts: [web1, { host: db1, roles: [db] }]',
    '',
  ].join('\n');

  test('run is always a list; deploy.yaml overrides the recipe by name, a stage overrides the top level', () => {
    expect(resolve(text, 'production', { recipeTasks }).tasks).toEqual({
      build: { name: 'build', run: ['npm ci', 'npm run build'], once: false, local: false, source: 'config' },
      migrate: { name: 'migrate', run: [], once: true, local: false, source: 'config' },
      restart: recipeTasks.restart,
      notify: { name: 'notify', run: ['./notify-prod.sh'], once: false, local: false, source: 'config' },
      seed: { name: 'seed', run: ['a', 'b'], roles: ['db'], once: true, local: false, source: 'config' },
    });
  });

  test('backup and migrate are once-only slots: a string, a list or a map without once runs once; only once: false says otherwise', () => {
    const tasks = (lines: string[]) =>
      resolve([HEAD, 'tasks:', ...lines, 'stages:', '  production:', '    hosts: [web1, { host: db1, roles: [db] }]', ''].join('\n'), 'production', {
        recipeTasks,
      }).tasks;
    const written = tasks(['  migrate: npm run migrate', '  backup: [pg_dump app]', '  build: npm run build']);
    expect(written.migrate).toEqual({ name: 'migrate', run: ['npm run migrate'], once: true, local: false, source: 'config' });
    expect(written.backup?.once).toBe(true);
    expect(written.build?.once).toBe(false);
    expect(tasks(['  migrate: { run: npm run migrate, roles: [web] }']).migrate).toMatchObject({ once: true, roles: ['web'] });
    expect(tasks(['  migrate: { run: npm run migrate, once: false }']).migrate?.once).toBe(false);
  });

  test('hooks: recipe entries first, then deploy.yaml; a stage replaces a top-level key', () => {
    const recipeHooks = { 'after:publish': [{ task: 'restart' }], 'after:build': [{ task: 'restart' }] };
    expect(resolve(text, 'production', { recipeTasks, recipeHooks }).hooks).toEqual({
      'after:publish': [
        { task: 'restart' },
        { task: 'notify' },
        {
          inline: {
            name: 'after:publish[1]',
            run: ['curl -fs {{host}}'],
            roles: ['web'],
            once: false,
            local: false,
            source: 'config',
          },
        },
      ],
      'after:build': [{ task: 'restart' }],
      'before:build': [],
    });
  });
});

describe('health as a list of checks limited to roles', () => {
  test('every check is kept, with its roles; the first is also `health`', () => {
    const text = [
      'app: demo',
      'repo: https://example.com/demo.git',
      'deploy_to: /srv/demo',
      'health:',
      '  - { http: "http://{{host}}:3000/health", roles: [web] }',
      '  - { command: systemctl is-active demo-worker, roles: [worker], timeout: 10s }',
      'stages:',
      '  production:',
      '    hosts: [web1, { host: w1, roles: [worker] }]',
      '',
    ].join('\n');
    const loaded = parseConfig({ text, path: '/proj/deploy.yaml', cwd: '/proj', env: {} });
    expect(loaded.ok).toBe(true);
    const r = loaded.ok ? resolveStage(loaded.config, 'production', { homedir: '/home/me' }) : undefined;
    expect(r?.ok && r.stage.healthChecks).toEqual([
      { roles: ['web'], http: 'http://{{host}}:3000/health', expect: { status: 200 }, timeoutMs: 60_000, intervalMs: 1_000 },
      { roles: ['worker'], command: 'systemctl is-active demo-worker', expect: { status: 200 }, timeoutMs: 10_000, intervalMs: 1_000 },
    ]);
    expect(r?.ok && r.stage.health?.http).toBe('http://{{host}}:3000/health');
  });
});

describe('run bounds in deploy.yaml: task timeout and health expect.header', () => {
  const text = `${HEAD}tasks:
  build: { run: npm ci, timeout: 10m }
  restart: systemctl restart demo
health:
  http: http://127.0.0.1:3000/health
  expect: { body: "ok {{release}}", header: { X-Release: "{{release}}" } }
stages:
  production:
    hosts: [web1.example.com]
`;
  test('a task carries its timeout in ms; a task without one has none', () => {
    const stage = resolve(text);
    expect(stage.tasks.build!.timeoutMs).toBe(600_000);
    expect(stage.tasks.restart!.timeoutMs).toBeUndefined();
  });
  test('expect.header keeps the names as written, placeholders unfilled until a host is checked', () => {
    expect(resolve(text).healthChecks[0]!.expect).toEqual({ status: 200, body: 'ok {{release}}', header: { 'X-Release': '{{release}}' } });
  });
  test('a header name that is no HTTP token and a timeout without unit are refused with their place', () => {
    const bad = text.replace('X-Release:', '"X Release":').replace('timeout: 10m', 'timeout: 10');
    const result = parseConfig({ text: bad, path: 'deploy.yaml', cwd: '/proj', env: {} });
    expect(result.ok).toBe(false);
    const shown = result.ok ? [] : result.problems.map(formatProblem);
    expect(shown).toEqual([
      expect.stringMatching(/^deploy\.yaml:5:\d+ tasks\.build\.timeout: a duration needs a unit/),
      expect.stringMatching(/^deploy\.yaml:9:\d+ health\.expect\.header\.X Release: .*an HTTP header name/),
    ]);
  });
});
