import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problem.js';
import type { HostConfig, StageConfig } from '../../src/config/types.js';
import { listBuiltinRecipes, loadRecipe, type Recipe } from '../../src/recipes/load.js';
import { render, renderExports } from '../../src/shell/render.js';
import { ensureDir, ensureEmptyFile, ensureFile, parseActionLines } from '../../src/setup/actions.js';
import { appName, detectProject, type ProjectFacts, renderInit, schemaReference } from '../../src/setup/init.js';
import { parseSetupProbe, planSetup, setupProbe, type SetupFacts } from '../../src/setup/plan.js';
import { findPrograms, parsePrograms } from '../../src/setup/programs.js';
import { readTemplate, SCHEMA_FILE } from '../../src/setup/templates.js';

const recipe = (name: string): Recipe => loadRecipe(name, '/', '/').recipe!;
const tmp = () => mkdtempSync(join(tmpdir(), 'ship-init-'));

describe('ship init', () => {
  const facts: ProjectFacts = { app: 'shop', recipe: 'node', repo: 'git@github.com:acme/shop.git', branch: 'main' };

  test.each(listBuiltinRecipes())('the deploy.yaml written for the %s recipe validates', (name) => {
    const text = renderInit({ template: readTemplate('deploy.yaml.tmpl'), facts: { ...facts, recipe: name }, recipe: recipe(name), schemaRef: SCHEMA_FILE });
    const loaded = parseConfig({ text, path: 'deploy.yaml', cwd: '/proj', env: {}, recipeTasks: Object.keys(recipe(name).tasks) });
    expect(loaded.ok ? [] : loaded.problems.map(formatProblem)).toEqual([]);
    expect(text.split('\n')[0]).toBe(`# yaml-language-server: $schema=${SCHEMA_FILE}`);
    expect(text).toContain(`recipe: ${name}\n`);
  });

  test("the recipe's settings are listed, commented out, with the recipe's own explanations", () => {
    const text = renderInit({ template: readTemplate('deploy.yaml.tmpl'), facts, recipe: recipe('node'), schemaRef: './s.json' });
    expect(text).toContain('#   npm_flags: --omit=dev     # passed to npm ci\n');
    expect(text).toContain('repo: git@github.com:acme/shop.git\nrecipe: node\n');
    expect(text).toContain('strategy: remote\n');
    const local = renderInit({ template: readTemplate('deploy.yaml.tmpl'), facts: { ...facts, repo: '.' }, recipe: recipe('base'), schemaRef: './s.json' });
    expect(local).toContain('repo: .\n');
    expect(local).toContain('strategy: upload\n'); // hosts cannot fetch from this directory
    expect(local).toContain('#   (the base recipe has no other settings)');
  });

  test('the recipe is detected from the project: package.json → node, Gemfile → rails, else base', () => {
    const dir = tmp();
    expect(detectProject(dir)).toMatchObject({ recipe: 'base', repo: '.', branch: 'main' });
    writeFileSync(join(dir, 'Gemfile'), "source 'https://rubygems.org'\n");
    expect(detectProject(dir).recipe).toBe('rails');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@acme/Web Shop' }));
    expect(detectProject(dir)).toMatchObject({ recipe: 'node', app: 'web-shop' });
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, '.git/HEAD'), 'ref: refs/heads/trunk\n');
    writeFileSync(
      join(dir, '.git/config'),
      '[core]\n\tbare = false\n[remote "origin"]\n\turl = https://github.com/acme/shop.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n',
    );
    expect(detectProject(dir)).toMatchObject({ repo: 'https://github.com/acme/shop.git', branch: 'trunk' });
  });

  /** An Express-like project: what a new user's app holds. */
  const expressProject = (pkg: object, files: Record<string, string> = {}) => {
    const dir = tmp();
    writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg));
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), text);
    }
    return dir;
  };
  const loads = (text: string, name: string) => {
    const loaded = parseConfig({ text, path: 'deploy.yaml', cwd: '/proj', env: {}, recipeTasks: Object.keys(recipe(name).tasks) });
    expect(loaded.ok ? [] : loaded.problems.map(formatProblem)).toEqual([]);
    return loaded.ok ? loaded.config.raw : undefined;
  };

  test("a node app: package.json's scripts, engines and the port its server listens on", () => {
    const dir = expressProject(
      { name: 'shop', engines: { node: '>=20' }, scripts: { start: 'node src/server.js', build: 'tsc', migrate: 'knex migrate:latest' } },
      { 'src/server.js': "const app = require('express')();\napp.get('/healthz', (q, s) => s.send('ok'));\napp.listen(process.env.PORT || 8080);\n" },
    );
    expect(detectProject(dir)).toMatchObject({
      recipe: 'node',
      node: { build: 'build', migrate: 'migrate', start: 'node src/server.js', engines: '>=20', port: 8080, healthPath: '/healthz' },
    });
    expect(detectProject(expressProject({ name: 'x', scripts: { start: 'node index.js' } }))).toMatchObject({ node: { port: 3000, healthPath: '/' } });
  });

  test('the node config starts the app with pm2, builds it, checks it on 127.0.0.1 and its port, and loads', () => {
    const dir = expressProject(
      { name: 'shop', engines: { node: '>=20' }, scripts: { start: 'node server.js', build: 'vite build', migrate: 'knex migrate:latest' } },
      { 'server.js': 'app.listen(process.env.PORT ?? 4000)\n' },
    );
    const f = detectProject(dir);
    const text = renderInit({ template: readTemplate('deploy.yaml.tmpl'), facts: f, recipe: recipe('node'), schemaRef: './s.json' });
    loads(text, 'node');
    expect(text).toContain('  restart_with: pm2\n');
    expect(text).toContain('  build_script: build\n');
    expect(text).toContain('  migrate_script: migrate\n');
    expect(text).toContain('  PORT: "4000"\n');
    expect(text).toContain('  NODE_ENV: production\n');
    expect(text).toContain('  http: http://127.0.0.1:4000/\n');
    expect(text).toContain('  dirs: [log]');
    expect(text).toContain('node >=20');
    // the migrations run on a db host: the first host has that role
    expect(text).toContain('      - { host: web1.example.com, roles: [web, app, db] }\n');
    // nothing overrides the User of ~/.ssh/config: no ssh.user unless asked
    expect(text).not.toMatch(/^\s+user:/m);
  });

  test('what was asked goes in: hosts, the ssh user, the restart method', () => {
    const dir = expressProject({ name: 'shop', scripts: { start: 'node server.js' } });
    const f = detectProject(dir);
    const text = renderInit({
      template: readTemplate('deploy.yaml.tmpl'),
      facts: f,
      recipe: recipe('node'),
      schemaRef: './s.json',
      choices: { hosts: ['app1.acme.net', 'app2.acme.net'], sshUser: 'ops', restartWith: 'systemd' },
    });
    const config = loads(text, 'node') as { ssh?: { user?: string }; vars?: Record<string, string>; stages: Record<string, { hosts: unknown[] }> };
    expect(config.ssh?.user).toBe('ops');
    expect(config.vars?.restart_with).toBe('systemd');
    expect(config.stages.production!.hosts).toEqual(['app1.acme.net', 'app2.acme.net']);
  });

  test('static and rails projects get what applies to them', () => {
    const site = expressProject({ name: 'site', scripts: { build: 'vite build' }, devDependencies: { vite: '^5' } });
    expect(detectProject(site)).toMatchObject({ recipe: 'static', publishDir: 'dist' });
    const text = renderInit({ template: readTemplate('deploy.yaml.tmpl'), facts: detectProject(site), recipe: recipe('static'), schemaRef: './s.json' });
    loads(text, 'static');
    expect(text).toContain('  publish_dir: dist\n');
    expect(text).not.toContain('restart_with');
    const rails = tmp();
    writeFileSync(join(rails, 'Gemfile'), "gem 'rails'\n");
    mkdirSync(join(rails, 'config'));
    writeFileSync(join(rails, 'config', 'routes.rb'), 'get "up" => "rails/health#show", as: :rails_health_check\n');
    const r = renderInit({ template: readTemplate('deploy.yaml.tmpl'), facts: detectProject(rails), recipe: recipe('rails'), schemaRef: './s.json' });
    loads(r, 'rails');
    expect(r).toContain('  http: http://127.0.0.1:3000/up\n');
    expect(r).toContain('  dirs: [log, tmp/pids, tmp/cache, storage]');
    expect(r).toContain('  RAILS_ENV: production\n');
  });

  test('app names and schema references', () => {
    expect(appName('My Shop!')).toBe('my-shop');
    expect(appName('---')).toBe('app');
    expect(schemaReference('/proj', '/proj/node_modules/ship-deploy/templates/deploy.schema.json')).toBe(
      './node_modules/ship-deploy/templates/deploy.schema.json',
    );
    expect(schemaReference('/proj', '/usr/lib/node_modules/ship-deploy/templates/deploy.schema.json')).toBe(
      '/usr/lib/node_modules/ship-deploy/templates/deploy.schema.json',
    );
  });
});

describe('ship setup: the plan', () => {
  const host = (deployTo = '/srv/app'): HostConfig => ({
    name: 'web1',
    local: false,
    roles: ['web'],
    primary: true,
    deployTo,
    ssh: { knownHosts: 'strict', connectTimeoutMs: 1000, keepaliveMs: 1000 },
    env: {},
    vars: {},
  });
  const stage = { app: 'demo', stage: 'production', shared: { dirs: ['log', 'storage'], files: ['.env'] }, vars: {} } as unknown as StageConfig;
  const templates = { logrotate: readTemplate('logrotate.tmpl'), systemd: readTemplate('systemd.service.tmpl') };
  const user: SetupFacts = {
    uid: 1000,
    user: 'deploy',
    group: 'deploy',
    sudo: false,
    systemd: true,
    programs: { logrotate: '/usr/sbin/logrotate', crontab: '/usr/bin/crontab', systemctl: '/bin/systemctl' },
  };
  const plan = (facts: SetupFacts, r = 'base', h = host(), s = stage) => planSetup({ stage: s, host: h, recipe: recipe(r), facts, templates });
  const text = (p: ReturnType<typeof plan>, label: string) => render(p.steps.find((s) => s.label === label)!.command);

  test('the probe: who we are, then where each program is, in PATH or an sbin directory', () => {
    const [whoami, programs] = setupProbe();
    expect(render(whoami!.command)).toBe(
      `printf 'uid %s\\nuser %s\\ngroup %s\\n' "$(id -u)" "$(id -un)" "$(id -gn)"\n` +
        `if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then echo 'sudo yes'; fi\n` +
        `if [ -d /run/systemd/system ]; then echo 'systemd yes'; fi`,
    );
    expect(render(programs!.command).split('\n')).toHaveLength(4);
    expect(render(findPrograms(['a b']))).toBe(
      `printf 'program %s %s\\n' 'a b' "$(command -v 'a b' 2>/dev/null || { for __d in /usr/local/sbin /usr/sbin /sbin; do if [ -x "$__d"/'a b' ]; then echo "$__d"/'a b'; break; fi; done; })"`,
    );
    const dir = tmp();
    const out = execFileSync('sh', ['-c', render(findPrograms(['sh', '$(touch pwned)']))], { cwd: dir, encoding: 'utf8' });
    expect(parsePrograms(out).sh).toMatch(/\/sh$/);
    expect(out).toContain(`program $(touch pwned) \n`);
    expect(existsSync(join(dir, 'pwned'))).toBe(false);
  });

  test('the probe output becomes facts', () => {
    expect(parseSetupProbe('uid 0\nuser root\ngroup root\nsystemd yes\n', 'program logrotate /usr/sbin/logrotate\nprogram crontab \n')).toEqual({
      uid: 0,
      user: 'root',
      group: 'root',
      sudo: false,
      systemd: true,
      programs: { logrotate: '/usr/sbin/logrotate', crontab: undefined },
    });
  });

  test("without root: directories, empty shared files, a rule in .ship run daily by the user's crontab", () => {
    const p = plan(user);
    expect(p.steps.map((s) => s.label)).toEqual(['directories', 'shared files', 'logrotate']);
    expect(text(p, 'directories')).toContain('if [ -d /srv/app/shared/storage ]; then');
    expect(text(p, 'shared files')).toContain('if [ -e /srv/app/shared/.env ]; then');
    expect(text(p, 'logrotate')).toContain(
      'printf %s "$SHIP_SETUP_LOGROTATE" >/srv/app/.ship/logrotate.conf.ship-tmp && mv -f -- /srv/app/.ship/logrotate.conf.ship-tmp /srv/app/.ship/logrotate.conf',
    );
    expect(text(p, 'logrotate')).toContain(
      "crontab -l 2>/dev/null | grep -qxF -- '17 4 * * * /usr/sbin/logrotate -s /srv/app/.ship/logrotate.state /srv/app/.ship/logrotate.conf'",
    );
    expect(p.env.SHIP_SETUP_LOGROTATE).toContain('"/srv/app/shared/log/*.log" {\n');
    expect(p.env.SHIP_SETUP_LOGROTATE).toContain('    # no su: this rule runs as the owner of the logs\n');
  });

  test('as root the rule goes to /etc/logrotate.d with su; with passwordless sudo through sudo -n tee', () => {
    const root = plan({ ...user, uid: 0, user: 'root', group: 'root' });
    expect(text(root, 'logrotate')).toContain('mv -f -- /etc/logrotate.d/ship-demo-production.ship-tmp /etc/logrotate.d/ship-demo-production');
    expect(root.env.SHIP_SETUP_LOGROTATE).toContain('    su root root\n');
    const sudo = plan({ ...user, sudo: true });
    expect(text(sudo, 'logrotate')).toContain('printf %s "$SHIP_SETUP_LOGROTATE" | sudo -n tee -- /etc/logrotate.d/ship-demo-production >/dev/null');
    expect(sudo.env.SHIP_SETUP_LOGROTATE).toContain('    su deploy deploy\n');
  });

  test('without logrotate or crontab: the rule is still written, and the gap is said', () => {
    expect(text(plan({ ...user, programs: {} }), 'logrotate')).toContain("warn 'logrotate is not installed on this host");
    expect(text(plan({ ...user, programs: { logrotate: '/usr/sbin/logrotate' } }), 'logrotate')).toContain(
      "warn 'crontab is not installed: schedule this daily yourself: /usr/sbin/logrotate -s",
    );
  });

  const restartWith = (how: string) => ({ ...stage, vars: { restart_with: how } }) as StageConfig;

  test('restart_with systemd: a unit in /etc with root, else in .ship with the commands to install it', () => {
    const root = plan({ ...user, uid: 0, user: 'root' }, 'node', host(), restartWith('systemd'));
    expect(text(root, 'systemd unit')).toContain('mv -f -- /etc/systemd/system/demo.service.ship-tmp /etc/systemd/system/demo.service && printf');
    expect(text(root, 'systemd unit')).toContain('/bin/systemctl daemon-reload || printf');
    expect(root.env.SHIP_SETUP_UNIT).toContain('User=root\nWorkingDirectory=/srv/app/current\n');
    expect(root.env.SHIP_SETUP_UNIT).toContain('ExecStart=/usr/bin/env npm start\n');
    const mine = plan(user, 'node', host(), restartWith('systemd'));
    expect(text(mine, 'systemd unit')).toContain('/srv/app/.ship/demo.service');
    expect(text(mine, 'systemd unit')).toContain('as root, run: cp /srv/app/.ship/demo.service /etc/systemd/system/');
    // the advice is a command to paste: a deploy_to with a space stays one word in it
    const spaced = plan(user, 'node', host('/srv/my app'), restartWith('systemd'));
    expect(text(spaced, 'systemd unit')).toContain(`as root, run: cp '\\''/srv/my app/.ship/demo.service'\\'' /etc/systemd/system/ && systemctl daemon-reload`);
  });

  test("the unit loads the release's app env file (the stage's env:), after the host's shared/.env", () => {
    const unit = plan(user, 'node', host(), restartWith('systemd')).env.SHIP_SETUP_UNIT!;
    expect(unit).toContain('EnvironmentFile=-/srv/app/shared/.env\nEnvironmentFile=-/srv/app/current/.ship-env\n');
  });

  test('restart_with systemd: the sudoers line that lets the deploy user restart that unit and nothing else', () => {
    const line = 'deploy ALL=(root) NOPASSWD: /bin/systemctl restart demo';
    expect(text(plan(user, 'node', host(), restartWith('systemd')), 'systemd unit')).toContain(line);
    expect(text(plan({ ...user, sudo: true }, 'node', host(), restartWith('systemd')), 'systemd unit')).toContain(line);
    // root needs no sudoers line
    expect(text(plan({ ...user, uid: 0, user: 'root' }, 'node', host(), restartWith('systemd')), 'systemd unit')).not.toContain('NOPASSWD');
  });

  test('the advice matches the restart method: no unit for a command, pm2 startup for pm2', () => {
    const command = plan(user, 'node', host(), restartWith('command'));
    expect(command.steps.map((s) => s.label)).toEqual(['directories', 'shared files', 'logrotate']);
    expect(command.env.SHIP_SETUP_UNIT).toBeUndefined();
    const pm2 = plan(user, 'node', host(), restartWith('pm2'));
    expect(pm2.steps.map((s) => s.label)).toEqual(['directories', 'shared files', 'logrotate', 'pm2']);
    expect(text(pm2, 'pm2')).toContain('pm2 startup');
    expect(text(pm2, 'pm2')).not.toContain('systemd unit');
    expect(text(plan({ ...user, programs: { ...user.programs, pm2: '/usr/bin/pm2' } }, 'node', host(), restartWith('pm2')), 'pm2')).not.toContain(
      'not installed',
    );
    expect(text(pm2, 'pm2')).toContain("warn 'pm2 is not installed on this host");
  });

  test('hostile values stay single words; a value with a newline cannot reach a generated file', () => {
    const p = plan(user, 'base', host("/srv/it's $(app)"));
    expect(text(p, 'directories')).toContain(`mkdir -p -- '/srv/it'\\''s $(app)/releases'`);
    const evil = { ...stage, vars: { restart_with: 'systemd', start_command: 'npm start\nExecStartPre=/bin/rm -rf /' } } as StageConfig;
    expect(() => plan(user, 'node', host(), evil)).toThrow(/start_command must be one line/);
  });
});

describe('ship setup: the actions, run twice', () => {
  const sh = (command: string, env: Record<string, string> = {}) =>
    parseActionLines(execFileSync('sh', ['-c', `${renderExports(env)}\n${command}`], { encoding: 'utf8' }));

  test('the first run changes, the second says it changed nothing; an existing file is never emptied', () => {
    const dir = tmp();
    const file = join(dir, 'conf', 'rule');
    const all = [ensureDir(join(dir, 'a b')), ensureEmptyFile(join(dir, 'shared', '.env')), ensureFile(file, 'CONTENT')].map(render).join('\n');
    const env = { CONTENT: "it's\n$HOME `x`\n" };
    expect(sh(all, env).map((l) => l.kind)).toEqual(['changed', 'changed', 'changed']);
    expect(readFileSync(file, 'utf8')).toBe(env.CONTENT);
    writeFileSync(join(dir, 'shared', '.env'), 'SECRET=1\n');
    expect(sh(all, env).map((l) => l.kind)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(readFileSync(join(dir, 'shared', '.env'), 'utf8')).toBe('SECRET=1\n');
    expect(sh(all, { CONTENT: 'new\n' }).map((l) => l.kind)).toEqual(['unchanged', 'unchanged', 'changed']);
    expect(readFileSync(file, 'utf8')).toBe('new\n');
  });
});
