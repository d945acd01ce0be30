import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problem.js';
import { validateConfigText, type RecipeTaskNames } from '../../src/config/validate.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/config');

/** Every problem of a config, formatted as the user sees it. */
function problems(text: string, recipeTasks?: RecipeTaskNames): string[] {
  const result = validateConfigText({ text, file: 'deploy.yaml', ...(recipeTasks ? { recipeTasks } : {}) });
  return result.ok ? [] : result.problems.map(formatProblem);
}

async function fixtureProblems(name: string): Promise<string[]> {
  const result = await loadConfig({ path: name, cwd: FIXTURES, env: {} });
  return result.ok ? [] : result.problems.map(formatProblem);
}

/** A valid config with `extra` lines added at the top level (line 4 onwards) and one stage. */
function config(extra: string, stage = 'production:\n    hosts: [web1.example.com]'): string {
  return `app: demo\nrepo: https://example.com/demo.git\ndeploy_to: /srv/demo\n${extra}${extra ? '\n' : ''}stages:\n  ${stage}\n`;
}

describe('validation reports every problem at once, each with file:line:col and key path', () => {
  test('a misspelt key and a wrongly typed value are both reported', async () => {
    expect(await fixtureProblems('misspelt-key-and-wrong-type.yaml')).toEqual([
      'misspelt-key-and-wrong-type.yaml:4:1 keep_release: unknown key "keep_release" (did you mean "keep_releases"?)',
      'misspelt-key-and-wrong-type.yaml:5:14 concurrency: expected an integer from 1 to 1000, got "five"',
      'misspelt-key-and-wrong-type.yaml:10:41 stages.production.hosts.1.port: expected an integer from 1 to 65535, got "abc"',
    ]);
  });

  test('a file with many kinds of problem reports all of them, in file order', async () => {
    expect(await fixtureProblems('many-problems.yaml')).toEqual([
      'many-problems.yaml:3:12 deploy_to: expected an absolute path, got "srv/demo"',
      'many-problems.yaml:4:11 strategy: expected one of "remote", "upload", "artifact", got "uplaod" (did you mean "upload"?)',
      'many-problems.yaml:6:15 shared.dirs.1: expected a path inside the release (relative, without ".."), got "../etc"',
      'many-problems.yaml:8:3 env.1PASSWORD: expected an environment variable name (letters, digits and "_", not starting with a digit), got "1PASSWORD"',
      'many-problems.yaml:9:10 env.TOKEN: invalid reference "${TOKEN": write ${NAME} or ${NAME:-default}, or $${ for a literal "${"',
      'many-problems.yaml:10:11 secrets.0: secret "DB_URL" is not a key of env',
      'many-problems.yaml:12:16 ssh.known_hosts: expected one of "strict", "accept-new", "off", got "yes"',
      'many-problems.yaml:13:20 ssh.connect_timeout: a duration needs a unit (ms, s, m, h or d), got 10: write "10s" or "10ms"',
      'many-problems.yaml:15:3 health: needs at least one of "http", "tcp" or "command"',
      'many-problems.yaml:16:22 rollout.canary: set either "batch" or "canary", not both',
      'many-problems.yaml:18:39 tasks.notify.roles.0: no host of any stage has role "wrker" (roles in use: app, web, worker; did you mean "worker"?)',
      'many-problems.yaml:20:3 hooks.after:publsh: unknown task or deploy step "publsh" (did you mean "publish"?)',
      'many-problems.yaml:21:18 hooks.after:deploy.0: unknown task "notfy" (did you mean "notify"?)',
      'many-problems.yaml:21:25 hooks.after:deploy.1: unknown task "./scripts/ping.sh" (to run a command here, write { run: "./scripts/ping.sh" })',
      'many-problems.yaml:26:17 stages.production.hosts.1.host: duplicate host "web1.example.com" (first at line 25)',
      'many-problems.yaml:27:51 stages.production.hosts.2.primary: hosts "web1.example.com" and "db1.example.com" are both primary for role "worker": at most one host per role may say primary: true',
      'many-problems.yaml:27:66 stages.production.hosts.2.port: set either port or ssh.port on a host, not both',
      'many-problems.yaml:28:9 stages.production.hosts.3: expected a host name or IP address (set the login user with user:, not user@), got "deploy@web3.example.com"',
      'many-problems.yaml:29:10 stages.empty: missing required key "hosts"',
    ]);
  });

  test('broken YAML reports the syntax error alone, with its line:col', async () => {
    expect(await fixtureProblems('broken-yaml.yaml')).toEqual([
      'broken-yaml.yaml:6:1: YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  test('a {{template}} that YAML reads as a flow map gets a hint to quote it', () => {
    expect(problems(config('tasks:\n  notify: { run: ./notify.sh {{release}} }'))).toEqual([
      'deploy.yaml:5:30: YAML syntax: Unexpected flow-map-start at node end (quote a value with {{...}} in it: ' +
        '"{{host}}:3000") [13 more YAML errors may follow from this one]',
    ]);
    expect(problems(config('health:\n  tcp:\n    - {{host}}:3000'))).toEqual([
      'deploy.yaml:6:15: YAML syntax: Unexpected scalar at node end (quote a value with {{...}} in it: "{{host}}:3000")',
    ]);
    expect(problems(config('shared:\n  dirs:\n    - {{x}}'))).toEqual([
      'deploy.yaml:6:7 shared.dirs.0: expected a string, got a map (quote a value with {{...}} in it: "{{host}}:3000")',
    ]);
  });

  test('more than one YAML document', () => {
    expect(problems(`${config('')}---\napp: other\n`)).toEqual([
      'deploy.yaml:7:1: deploy.yaml holds one YAML document: remove the "---" that starts a second one',
    ]);
  });

  test('duplicate keys are reported with their path and the first occurrence', () => {
    expect(problems(config('keep_releases: 3\nkeep_releases: 4', 'production:\n    branch: main\n    branch: dev\n    hosts: [web1]'))).toEqual([
      'deploy.yaml:5:1 keep_releases: duplicate key "keep_releases" (first at line 4)',
      'deploy.yaml:9:5 stages.production.branch: duplicate key "branch" (first at line 8)',
    ]);
  });

  test('missing required keys point at the map that lacks them', () => {
    expect(problems('deploy_to: /srv/demo\n')).toEqual([
      'deploy.yaml:1:1: missing required key "app"',
      'deploy.yaml:1:1: missing required key "repo"',
      'deploy.yaml:1:1: missing required key "stages"',
    ]);
    expect(problems(config('', 'production:\n    branch: main'))).toEqual(['deploy.yaml:6:5 stages.production: missing required key "hosts"']);
    expect(problems(config('', 'production:\n    hosts:\n      - roles: [web]'))).toEqual([
      'deploy.yaml:7:9 stages.production.hosts.0: missing required key "host"',
    ]);
  });

  test('empty and non-map files', () => {
    expect(problems('')).toEqual(['deploy.yaml:1:1: the file is empty: `ship init` writes a starting point']);
    expect(problems('# nothing yet\n')).toEqual(['deploy.yaml:1:1: the file is empty: `ship init` writes a starting point']);
    expect(problems('- app\n- repo\n')).toEqual(['deploy.yaml:1:1: expected a map, got a list']);
  });

  test('names of apps, stages and hosts are checked where they are written', () => {
    expect(problems(config('', 'production:\n    app: my app\n    hosts: [web1]'))).toEqual([
      'deploy.yaml:6:10 stages.production.app: expected an app name (letters, digits, ".", "_" and "-"), got "my app"',
    ]);
  });

  test('stages: at least one, with sane names, and hosts: at least one', () => {
    expect(problems('app: demo\nrepo: r\ndeploy_to: /srv\nstages: {}\n')).toEqual(['deploy.yaml:4:9 stages: expected at least 1 entry, got an empty map']);
    expect(problems('app: demo\nrepo: r\ndeploy_to: /srv\nstages:\n')).toEqual(['deploy.yaml:4:8 stages: expected a map, got nothing']);
    expect(problems(config('', 'prod/eu:\n    hosts: []'))).toEqual([
      'deploy.yaml:5:3 stages.prod/eu: expected a stage name (letters, digits, ".", "_" and "-"), got "prod/eu"',
      'deploy.yaml:6:12 stages.prod/eu.hosts: expected at least 1 entry, got an empty list',
    ]);
  });
});

describe('keys', () => {
  test('unknown keys everywhere, with did-you-mean or a hint where the key belongs', () => {
    expect(
      problems(config('ssh:\n  usr: deploy\nhosts: [web1]\nstratgey: upload', 'production:\n    stages: {}\n    hosts:\n      - { host: web1, role: [web] }')),
    ).toEqual([
      'deploy.yaml:5:3 ssh.usr: unknown key "usr" (did you mean "user"?)',
      'deploy.yaml:6:1 hosts: unknown key "hosts" (hosts are listed per stage, under stages.<name>.hosts)',
      'deploy.yaml:7:1 stratgey: unknown key "stratgey" (did you mean "strategy"?)',
      'deploy.yaml:10:5 stages.production.stages: unknown key "stages" (stages cannot be nested)',
      'deploy.yaml:12:23 stages.production.hosts.0.role: unknown key "role" (did you mean "roles"?)',
    ]);
  });

  test('keys that are properties of every JS object are still unknown keys', () => {
    expect(problems(config('constructor: x\n__proto__: y'))).toEqual([
      'deploy.yaml:4:1 constructor: unknown key "constructor"',
      'deploy.yaml:5:1 __proto__: unknown key "__proto__"',
    ]);
  });

  test('x- keys are ignored: they hold YAML anchors, and << merges them', () => {
    const text = [
      'x-ssh: &ssh { user: deploy, port: 2222 }',
      'app: demo',
      'repo: https://example.com/demo.git',
      'deploy_to: /srv/demo',
      'ssh:',
      '  <<: *ssh',
      '  port: 22',
      'stages:',
      '  production:',
      '    hosts: [web1]',
      '    ssh: *ssh',
      '',
    ].join('\n');
    const result = validateConfigText({ text, file: 'deploy.yaml' });
    expect(result.ok && [result.raw.ssh, result.raw.stages.production?.ssh]).toEqual([
      { port: 22, user: 'deploy' },
      { user: 'deploy', port: 2222 },
    ]);
  });

  test('problems inside an anchor are reported where they are written', () => {
    expect(problems(config('x-ssh: &ssh { usr: deploy }\nssh: *ssh'))).toEqual(['deploy.yaml:4:15 ssh.usr: unknown key "usr" (did you mean "user"?)']);
  });

  test('an alias inside the node it names is refused, not followed forever', () => {
    expect(problems(config('', 'production: &p\n    hosts: [web1]\n    ssh: *p'))).toEqual([
      'deploy.yaml:7:10 stages.production.ssh: alias *p refers to a node that contains it',
    ]);
  });
});

describe('values', () => {
  test.each([
    ['keep_releases: 0', 'deploy.yaml:4:16 keep_releases: expected an integer ≥ 1, got 0'],
    ['keep_releases: 2.5', 'deploy.yaml:4:16 keep_releases: expected an integer ≥ 1, got 2.5'],
    ['keep_releases: "5"', 'deploy.yaml:4:16 keep_releases: expected an integer ≥ 1, got "5"'],
    ['keep_releases:', 'deploy.yaml:4:15 keep_releases: expected an integer ≥ 1, got nothing'],
    ['strategy: rsync', 'deploy.yaml:4:11 strategy: expected one of "remote", "upload", "artifact", got "rsync"'],
    ['branch: 1.10', 'deploy.yaml:4:9 branch: expected a string, got 1.10 (quote it: "1.10")'],
    ['branch: [main]', 'deploy.yaml:4:9 branch: expected a string, got a list'],
    ['branch: ""', 'deploy.yaml:4:9 branch: expected a non-empty string, got ""'],
    ['shared: { dirs: log }', 'deploy.yaml:4:17 shared.dirs: expected a list of strings, got "log"'],
    ['shared: { files: [/etc/passwd] }', 'deploy.yaml:4:19 shared.files.0: expected a path inside the release (relative, without ".."), got "/etc/passwd"'],
    ['repo_tree: ../other', 'deploy.yaml:4:12 repo_tree: expected a path inside the repository (relative, without ".."), got "../other"'],
    ['ssh: { port: 70000 }', 'deploy.yaml:4:14 ssh.port: expected an integer from 1 to 65535, got 70000'],
    ['ssh: { keepalive: 15 seconds }', 'deploy.yaml:4:19 ssh.keepalive: expected a duration such as "500ms", "10s", "2m" or "1h", got "15 seconds"'],
    ['ssh: { connect_timeout: [1] }', 'deploy.yaml:4:25 ssh.connect_timeout: expected a duration such as "10s", got a list'],
    ['check: { disk_min: 1PB }', 'deploy.yaml:4:20 check.disk_min: expected a size such as "500MB" or "1GB" (units B, KB, MB, GB, TB), got "1PB"'],
    ['check: { urls: [demo.example.com] }', 'deploy.yaml:4:17 check.urls.0: expected an http:// or https:// URL, got "demo.example.com"'],
    ['health: { http: /health }', 'deploy.yaml:4:17 health.http: expected an http:// or https:// URL, got "/health"'],
    ['health: { tcp: "{{host}}:5432", expect: { status: 1000 } }', 'deploy.yaml:4:51 health.expect.status: expected an integer from 100 to 599, got 1000'],
    ['rollout: { batch: 0 }', 'deploy.yaml:4:19 rollout.batch: expected an integer ≥ 1, got 0'],
    ['env: { A: [1] }', 'deploy.yaml:4:11 env.A: expected a string, number or boolean, got a list'],
    ['env: { A: }', 'deploy.yaml:4:11 env.A: expected a string, number or boolean, got nothing (write "" for an empty value)'],
    [
      'vars: { port-number: 3 }',
      'deploy.yaml:4:9 vars.port-number: expected a template name (letters, digits and "_", not starting with a digit), got "port-number"',
    ],
    ['vars: { release: x }', 'deploy.yaml:4:9 vars.release: {{release}} is filled in by ship itself: choose another name'],
    ['secrets: DB', 'deploy.yaml:4:10 secrets: expected a list of strings, got "DB"'],
    ['tasks: { build: 42 }', 'deploy.yaml:4:17 tasks.build: expected a string, a list of strings or a map, got 42 (quote it: "42")'],
    ['tasks: { build: }', 'deploy.yaml:4:17 tasks.build: expected a string, a list of strings or a map, got nothing'],
    ['tasks: { build: { roles: [web] } }', 'deploy.yaml:4:17 tasks.build: missing required key "run"'],
    ['tasks: { build: { run: [a, 1] } }', 'deploy.yaml:4:28 tasks.build.run.1: expected a string, got 1 (quote it: "1")'],
    ['tasks: { build: { run: x, once: yes } }', 'deploy.yaml:4:33 tasks.build.once: expected true or false, got "yes"'],
    [
      'tasks: { "deploy assets": x }',
      'deploy.yaml:4:10 tasks.deploy assets: expected a task name (letters, digits, ".", "_", ":" and "-"), got "deploy assets"',
    ],
    ['hooks: { after: [x] }', 'deploy.yaml:4:10 hooks.after: expected "before:<task>" or "after:<task>", got "after"'],
    ['hooks: { "after:build": x }', 'deploy.yaml:4:25 hooks.after:build: expected a list, got "x"'],
  ])('%s', (line, problem) => {
    expect(problems(config(line))).toEqual([problem]);
  });

  test.each([
    'keep_releases: 1',
    'strategy: upload',
    'branch: "1.10"',
    'shared: { dirs: [log, storage/uploads, ./tmp/], files: [.env, config/master.key] }',
    'repo_tree: apps/web',
    'env: { A: 1.10, B: true, C: "", D: "${HOME}", E: "$${LITERAL}", F: "${X:-y}" }',
    'vars: { port: 3000 }',
    'ssh: { connect_timeout: 0, keepalive: 1m30s, known_hosts: accept-new }',
    'check: { disk_min: 512 }',
    'health: { command: "curl -fs localhost:3000" }',
    'rollout: { canary: 1 }',
    'tasks: { build: [], lint: [a, b], notify: { run: x, local: true, once: true, desc: Tell chat } }',
    'tasks: { "db:seed": x }\nhooks: { "after:db:seed": [build] }',
    'x-anything: { whatever: [1, 2] }',
  ])('%s is valid', (line) => {
    expect(problems(config(line))).toEqual([]);
  });
});

describe('hosts', () => {
  test('the same host twice in a stage is refused; in two stages it is fine', () => {
    expect(problems(config('', 'a:\n    hosts: [web1, { host: web2 }, { host: web1, roles: [db] }]\n  b:\n    hosts: [web1, web2]'))).toEqual([
      'deploy.yaml:6:43 stages.a.hosts.2.host: duplicate host "web1" (first at line 6)',
    ]);
  });

  test('at most one primary per role; primaries of different roles are fine', () => {
    const hosts = [
      '- { host: db1, roles: [db], primary: true }',
      '- { host: db2, roles: [db, worker], primary: true }',
      '- { host: web1, roles: [web], primary: true }',
    ];
    expect(problems(config('', `production:\n    hosts:\n      ${hosts.join('\n      ')}`))).toEqual([
      'deploy.yaml:8:43 stages.production.hosts.1.primary: hosts "db1" and "db2" are both primary for role "db": at most one host per role may say primary: true',
    ]);
  });

  test('deploy_to: required from somewhere for every host, absolute on remote hosts', () => {
    const noTop = (stages: string): string[] => problems(`app: demo\nrepo: https://example.com/demo.git\nstages:\n  ${stages}\n`);
    expect(noTop('production:\n    hosts: [web1, web2]')).toEqual([
      'deploy.yaml:5:5 stages.production: missing required key "deploy_to": set it at the top level, in the stage, or on every host',
    ]);
    expect(noTop('production:\n    hosts: [{ host: web1, deploy_to: /srv/a }, web2]')).toEqual([
      'deploy.yaml:5:48 stages.production.hosts.1: host "web2" has no deploy_to: set it on the host, in the stage or at the top level',
    ]);
    expect(noTop('production:\n    deploy_to: /srv/a\n    hosts: [web1, { host: web2, deploy_to: ~/app }]')).toEqual([
      'deploy.yaml:6:44 stages.production.hosts.1.deploy_to: expected an absolute path ("~" is not expanded on remote hosts), got "~/app"',
    ]);
    expect(noTop('production:\n    deploy_to: /\n    hosts: [web1]')).toEqual(['deploy.yaml:5:16 stages.production.deploy_to: deploy_to cannot be "/"']);
    expect(noTop('local:\n    hosts: [{ host: localhost, local: true, deploy_to: ./.ship/local }]')).toEqual([]);
    expect(noTop('local:\n    deploy_to: .ship\n    hosts: [{ host: localhost, local: true }]')).toEqual([]);
  });

  test('ssh shortcuts and ssh settings on one host must not both set a field', () => {
    expect(problems(config('', 'production:\n    hosts: [{ host: web1, user: a, ssh: { user: b, port: 2 }, port: 3 }]'))).toEqual([
      'deploy.yaml:6:27 stages.production.hosts.0.user: set either user or ssh.user on a host, not both',
      'deploy.yaml:6:63 stages.production.hosts.0.port: set either port or ssh.port on a host, not both',
    ]);
  });
});

describe('tasks, hooks and roles', () => {
  test('hooks may name recipe tasks, deploy.yaml tasks, protocol slots and deploy steps', () => {
    const hooks = [
      'tasks: { notify: ./notify.sh }',
      'hooks:',
      '  before:build: [assets, notify]',
      '  after:publish: [notify, restart]',
      '  after:failure: [{ run: ./page-oncall.sh, local: true }]',
      '  before:notify: [migrate]',
      '  after:assets: [backup]',
      '  before:health: [notify]',
    ].join('\n');
    expect(problems(config(hooks), ['assets'])).toEqual([]);
    expect(problems(config(hooks))).toEqual([
      'deploy.yaml:6:18 hooks.before:build.0: unknown task "assets"',
      'deploy.yaml:10:3 hooks.after:assets: unknown task or deploy step "assets"',
    ]);
  });

  test('a stage may override the recipe: its task names are looked up for that recipe', () => {
    const recipes = (recipe: string): string[] | undefined => ({ node: ['npm_install'], rails: ['assets_precompile'] })[recipe];
    const text = config(
      'recipe: node\nhooks: { "after:build": [npm_install] }',
      'production:\n    hosts: [web1]\n  legacy:\n    recipe: rails\n    hosts: [web2]',
    );
    expect(problems(text, recipes)).toEqual(['deploy.yaml:5:26 hooks.after:build.0: task "npm_install" is not defined in stage "legacy"']);
    // An unknown recipe is reported by the recipe loader; its names are not guessed at here.
    expect(problems(config('recipe: ./my-recipe.yaml\nhooks: { "after:build": [mine] }'), recipes)).toEqual([]);
  });

  test('a task defined in one stage only may be hooked from that stage', () => {
    const stages = 'production:\n    tasks: { warm: ./warm.sh }\n    hooks: { "after:publish": [warm] }\n    hosts: [web1]\n  staging:\n    hosts: [web2]';
    expect(problems(config('', stages))).toEqual([]);
    expect(problems(config('hooks: { "after:publish": [warm] }', stages))).toEqual([
      'deploy.yaml:4:28 hooks.after:publish.0: task "warm" is not defined in stage "staging"',
    ]);
  });

  test('roles of tasks and inline hooks must belong to some host of some stage', () => {
    const text = config(
      'tasks: { migrate: { run: x, roles: [db] }, jobs: { run: y, roles: [wroker] } }\nhooks: { "after:publish": [{ run: z, roles: [web, cache] }] }',
      'production:\n    hosts: [web1, { host: db1, roles: [db] }]\n  staging:\n    hosts: [{ host: s1, roles: [worker] }]',
    );
    expect(problems(text)).toEqual([
      'deploy.yaml:4:68 tasks.jobs.roles.0: no host of any stage has role "wroker" (roles in use: app, db, web, worker; did you mean "worker"?)',
      'deploy.yaml:5:51 hooks.after:publish.0.roles.1: no host of any stage has role "cache" (roles in use: app, db, web, worker)',
    ]);
  });
});

describe('env and secrets', () => {
  test('secrets name env entries: anywhere for the top level, in the stage or its hosts for a stage', () => {
    const stages = [
      'production:',
      '    secrets: [API_KEY, HOST_TOKEN, DB_PASWORD]',
      '    env: { API_KEY: x }',
      '    hosts: [{ host: web1, env: { HOST_TOKEN: y } }]',
      '  staging:',
      '    env: { STAGING_ONLY: z }',
      '    hosts: [web2]',
    ].join('\n');
    expect(problems(config('env: { DB_PASSWORD: "${DB_PASSWORD}" }\nsecrets: [DB_PASSWORD, STAGING_ONLY, NOPE]', stages))).toEqual([
      'deploy.yaml:5:38 secrets.2: secret "NOPE" is not a key of env',
      'deploy.yaml:8:36 stages.production.secrets.2: secret "DB_PASWORD" is not a key of env (did you mean "DB_PASSWORD"?)',
    ]);
  });

  test('missing ${VAR} is not a load-time problem: it is checked for the stage being resolved', () => {
    expect(problems(config('env: { DATABASE_URL: "${NOT_SET_ANYWHERE}" }'))).toEqual([]);
  });
});

describe('ssh.algorithms', () => {
  test('OpenSSH list syntax is accepted; anything else names the key', () => {
    expect(
      problems(config('ssh:\n  algorithms: { kex: "+diffie-hellman-group14-sha1", host_key: "^ssh-rsa", ciphers: "-*-cbc", macs: "hmac-sha2-256,hmac-sha1" }')),
    ).toEqual([]);
    expect(problems(config('ssh:\n  algorithms:\n    kex: "+a b"'))).toEqual([
      'deploy.yaml:6:10 ssh.algorithms.kex: expected algorithm names separated by commas, optionally after "+", "-" or "^" (e.g. "+diffie-hellman-group14-sha1"), got "+a b"',
    ]);
  });
});
