import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadStageAndRecipe } from '../../src/cli/config.js';
import { formatProblem } from '../../src/config/problem.js';
import { listTasks, whereItRuns } from '../../src/setup/tasks-list.js';
import { BUILTIN_RECIPES, listBuiltinRecipes, loadRecipe, parseRecipe, recipeFile } from '../../src/recipes/load.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/recipes');
const load = (name: string) => loadRecipe(name, FIXTURES, FIXTURES);
const problems = (name: string) => load(name).problems.map(formatProblem);

describe('built-in recipes', () => {
  test('base, node, static and rails are built in, and each loads without a problem', () => {
    expect(listBuiltinRecipes()).toEqual(['base', 'node', 'rails', 'static']);
    for (const name of listBuiltinRecipes()) expect(problems(name), name).toEqual([]);
  });

  test('a name is a built-in recipe, anything path-like a file next to deploy.yaml', () => {
    expect(recipeFile('node', '/proj')).toBe(path.join(BUILTIN_RECIPES, 'node.yaml'));
    expect(recipeFile('./mine.yaml', '/proj')).toBe('/proj/mine.yaml');
    expect(recipeFile('/abs/r.yaml', '/proj')).toBe('/abs/r.yaml');
  });

  test('node: npm ci, migrate once on db, restart by var; vars keep their defaults and explanations', () => {
    const { recipe } = load('node');
    expect(recipe!.lineage).toEqual(['node', 'base']);
    expect(recipe!.requires).toEqual(['node', 'npm']);
    expect(recipe!.vars).toMatchObject({
      npm_flags: '--omit=dev',
      build_script: '',
      migrate_script: '',
      restart_with: 'command',
      service: '',
      restart_command: '',
      start_command: 'npm start',
    });
    expect(recipe!.varDocs.npm_flags).toBe('passed to npm ci');
    expect(recipe!.tasks.build!.run[0]).toContain('npm ci --no-audit --no-fund');
    expect(recipe!.tasks.migrate).toMatchObject({ roles: ['db'], once: true, source: 'recipe:node' });
    expect(recipe!.tasks.restart!.run[0]).toContain('sudo -n systemctl restart "$svc"');
    expect(recipe!.tasks.restart!.run[0]).toContain('pm2 startOrReload');
  });

  test("rails: the framework's own commands, migrate once on the primary db host, no JS", () => {
    const { recipe } = load('rails');
    const build = recipe!.tasks.build!.run.join('\n');
    for (const line of [
      'bundle config set --local deployment true',
      'bundle config set --local path "$gems"',
      'bundle config set --local without {{bundle_without}}',
      'bundle install',
      'RAILS_ENV={{rails_env}} bundle exec rake assets:precompile',
    ])
      expect(build).toContain(line);
    expect(recipe!.tasks.migrate).toMatchObject({ run: ['RAILS_ENV={{rails_env}} bundle exec rake db:migrate'], roles: ['db'], once: true });
    expect(recipe!.tasks.restart!.run[0]).toContain('touch) mkdir -p tmp && touch tmp/restart.txt');
    expect(recipe!.vars).toMatchObject({ rails_env: 'production', bundle_without: 'development test', restart_with: 'touch' });
    expect(recipe!.requires).toEqual(['ruby', 'bundle']);
  });

  test('static: build in the release, public/ points at publish_dir, no restart', () => {
    const { recipe } = load('static');
    expect(Object.keys(recipe!.tasks)).toEqual(['build']);
    expect(recipe!.vars).toMatchObject({ build_script: 'build', publish_dir: 'dist' });
    expect(recipe!.tasks.build!.run[0]).toContain('ln -s {{publish_dir}} public');
  });
});

describe('recipe files', () => {
  test("a child overrides vars and tasks by name, adds requirements, and its hooks follow the parent's", () => {
    const { recipe, problems: found } = load('child.yaml');
    expect(found).toEqual([]);
    expect(recipe!.name).toBe('child.yaml');
    expect(recipe!.lineage).toEqual(['child.yaml', 'node', 'base']);
    expect(recipe!.requires).toEqual(['node', 'npm', 'make']);
    expect(recipe!.vars.npm_flags).toBe('');
    expect(recipe!.vars.restart_with).toBe('command'); // inherited
    expect(recipe!.varDocs.npm_flags).toBe('dev deps are needed to compile');
    expect(recipe!.tasks.build).toEqual({
      name: 'build',
      run: ['npm ci', 'make {{compile_target}}'],
      once: false,
      local: false,
      desc: 'npm ci and compile',
      source: 'recipe:child.yaml',
    });
    expect(recipe!.tasks.migrate!.source).toBe('recipe:node');
    expect(recipe!.tasks.compile).toMatchObject({ roles: ['web'], source: 'recipe:child.yaml' });
    expect(recipe!.hooks['after:build']).toEqual([
      { task: 'compile' },
      { inline: { name: 'after:build[1]', run: ['echo built {{release}}'], once: false, local: true, source: 'recipe:child.yaml' } },
    ]);
    expect(recipe!.hooks['after:publish']).toHaveLength(1);
  });

  test('every problem at once, each with file:line:col, key path and a did-you-mean', () => {
    expect(problems('misspelt.yaml')).toEqual([
      'misspelt.yaml:2:1 extend: unknown key "extend" (did you mean "extends"?)',
      'misspelt.yaml:3:18 requires.1: expected a program name (as found on PATH), got "has space"',
      'misspelt.yaml:6:3 vars.release: {{release}} is filled in by ship itself: choose another name',
      'misspelt.yaml:10:11 tasks.build.once: expected true or false, got "sometimes"',
      'misspelt.yaml:11:5 tasks.build.role: unknown key "role" (did you mean "roles"?)',
      'misspelt.yaml:13:3 hooks.after:biuld: unknown task or deploy step "biuld" (did you mean "build"?)',
      'misspelt.yaml:14:18 hooks.before:build.0: unknown task "compile"',
    ]);
  });

  test('an extends cycle is named with its chain', () => {
    expect(problems('cycle-a.yaml')).toEqual(['cycle-b.yaml:1:10 extends: recipes extend each other in a cycle: cycle-a.yaml -> cycle-b.yaml -> cycle-a.yaml']);
  });

  test('a missing built-in recipe names the built-in ones and the closest', () => {
    expect(problems('nodee')).toEqual(['recipes/nodee.yaml: recipe "nodee" not found (built-in recipes: base, node, rails, static; did you mean "node"?)']);
    expect(problems('./nowhere.yaml')).toEqual(['nowhere.yaml: recipe "./nowhere.yaml" not found']);
  });

  test("deploy.yaml gets the recipe's tasks, vars and hooks (config hooks run after the recipe's)", async () => {
    const { stage, recipe } = await loadStageAndRecipe(undefined, undefined, path.join(FIXTURES, 'project'), {});
    expect(stage.stage).toBe('production');
    expect(recipe.name).toBe('../child.yaml'); // a recipe file is named as the user would reach it
    expect(stage.vars.compile_target).toBe('dist');
    expect(Object.keys(stage.tasks).sort()).toEqual(['build', 'compile', 'migrate', 'package', 'restart']);
    expect(stage.hooks['after:build']!.map((h) => ('task' in h ? h.task : h.inline.run[0]))).toEqual(['compile', 'echo built {{release}}', 'echo from config']);
    expect(stage.hooks['after:publish']).toHaveLength(1);
  });
});

describe('recipe syntax errors', () => {
  test('an unquoted {{placeholder}} in a flow list is explained', () => {
    const parsed = parseRecipe('tasks:\n  build: [npm ci, make {{target}}]\n', 'r.yaml');
    expect(parsed.problems.map(formatProblem)).toEqual([expect.stringMatching(/^r\.yaml:2:\d+: YAML syntax: .*\(quote a value with \{\{\.\.\.\}\} in it/)]);
  });
});

describe('ship tasks', () => {
  test('slots first in deploy order, then the others; where each runs and where it comes from; then the hooks', async () => {
    const { stage } = await loadStageAndRecipe(undefined, undefined, path.join(FIXTURES, 'project'), {});
    const { tasks, hooks } = listTasks(stage);
    expect(tasks.map((t) => [t.name, t.slot, whereItRuns(t), t.source, t.desc])).toEqual([
      ['build', 'build', 'every host', 'recipe:../child.yaml', 'npm ci and compile'],
      ['migrate', 'migrate', 'roles db, once (primary)', 'recipe:node', 'Run the migrate npm script once, on the primary db host'],
      ['restart', 'restart', 'every host', 'recipe:node', 'Restart the app (systemd, pm2 or a command, by the restart_with var) with its env'],
      ['compile', '-', 'roles web', 'recipe:../child.yaml', 'make {{compile_target}}'],
      ['package', '-', 'here (local), once', 'recipe:node', 'strategy artifact: after the build, on this machine, remove devDependencies before packing'],
    ]);
    expect(hooks).toEqual([
      { hook: 'after:build', runs: ['compile', 'local { run: echo built {{release}} }', '{ run: echo from config }'] },
      { hook: 'after:publish', runs: ['{ run: echo published }'] },
    ]);
  });
});

describe('a recipe file nested too deeply', () => {
  test('is refused with line:col before the YAML parser can overflow its stack', () => {
    const text = `desc: deep\ntasks:\n  build: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`;
    expect(parseRecipe(text, 'deep.yaml').problems.map(formatProblem)).toEqual([
      'deep.yaml:3:72: nested too deeply: more than 64 levels of maps and lists (a ship file needs a handful)',
    ]);
  });
});
