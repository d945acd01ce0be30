import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { formatProblem, parseConfig } from '../../config/index.js';
import { UsageError } from '../../errors.js';
import { loadRecipe } from '../../recipes/load.js';
import { DEFAULT_HOSTS, detectProject, type InitChoices, type ProjectFacts, renderInit, schemaReference } from '../../setup/init.js';
import { askChoices } from '../../setup/init-questions.js';
import { resolveSshConfig } from '../../transport/ssh/config.js';
import { readTemplate, SCHEMA_FILE } from '../../setup/templates.js';
import { jsonWriter } from '../../ui/reporter.js';
import type { GlobalOptions } from '../runtime.js';

/**
 * `ship init [--recipe NAME] [--yes]`: a commented deploy.yaml for this project, checked to load
 * before it is written. On a terminal it asks what it cannot find out; with --yes, --json or no
 * terminal (CI) it writes what it detected.
 */
export async function initCommand(flags: GlobalOptions & { recipe?: string; force?: boolean; yes?: boolean }): Promise<void> {
  const cwd = process.cwd();
  const target = resolve(cwd, flags.config ?? 'deploy.yaml');
  const shown = relative(cwd, target) || basename(target);
  if (existsSync(target) && !flags.force) {
    throw new UsageError(`${shown} already exists; ship init did not touch it`, [], 'ship init --force overwrites it');
  }
  const dir = dirname(target);
  const facts = detectProject(dir);
  const detected = flags.recipe === undefined;
  if (flags.recipe !== undefined) facts.recipe = flags.recipe;
  const loaded = loadRecipe(facts.recipe, dir, cwd);
  if (!loaded.recipe || loaded.problems.length) throw new UsageError(`--recipe ${facts.recipe}: no such recipe`, loaded.problems.map(formatProblem));
  const interactive = !flags.yes && !flags.json && !!process.stdin.isTTY && !!process.stdout.isTTY && !process.env.CI;
  const choices = interactive ? await askOnTerminal(facts) : { hosts: DEFAULT_HOSTS };
  const text = renderInit({ template: readTemplate('deploy.yaml.tmpl'), facts, recipe: loaded.recipe, schemaRef: schemaReference(dir, SCHEMA_FILE), choices });
  // What init writes must load: checked here, not found out at the first deploy.
  const check = parseConfig({ text, path: target, cwd, env: {}, recipeTasks: Object.keys(loaded.recipe.tasks) });
  if (!check.ok) throw new Error(`ship init made an invalid ${shown}: ${check.problems.map(formatProblem).join('; ')}`);
  writeFileSync(target, text);
  const why = detected
    ? facts.recipe === 'node' || facts.recipe === 'static'
      ? ' (package.json found)'
      : facts.recipe === 'rails'
        ? ' (Gemfile found)'
        : ' (no package.json or Gemfile)'
    : '';
  if (flags.json) {
    // no stage and no secrets yet: the file is all there is to say
    return jsonWriter({ stage: undefined, out: process.stdout, redact: (s) => s })({
      event: 'init',
      file: target,
      recipe: facts.recipe,
      detected,
      app: facts.app,
    });
  }
  const hostsNext = choices.hosts === DEFAULT_HOSTS ? 'put your servers under stages.production.hosts, then\n  ' : '';
  process.stdout.write(
    `wrote ${shown}: app ${facts.app}, recipe ${facts.recipe}${why}${startLine(facts, choices)}\n` +
      `next: ${hostsNext}npx --no ship setup production && npx --no ship check production && npx --no ship deploy production\n`,
  );
}

function startLine(facts: ProjectFacts, choices: InitChoices): string {
  if (!facts.node) return '';
  return `; restart with ${choices.restartWith ?? 'pm2'}, health check http://127.0.0.1:${facts.node.port}${facts.node.healthPath}`;
}

/** The questions of ship init on this terminal; the ssh user is looked up in ~/.ssh/config. */
async function askOnTerminal(facts: ProjectFacts): Promise<InitChoices> {
  const home = process.env.HOME || homedir();
  let sshConfig = '';
  try {
    sshConfig = readFileSync(join(home, '.ssh', 'config'), 'utf8');
  } catch {
    // no ~/.ssh/config: the user is asked
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await askChoices(facts, {
      ask: (q) => rl.question(q),
      say: (line) => process.stdout.write(`${line}\n`),
      sshUserOf: (host) => resolveSshConfig(sshConfig, host, { homedir: home }).user,
    });
  } finally {
    rl.close();
  }
}
