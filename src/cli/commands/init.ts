import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { formatProblem, parseConfig } from '../../config/index.js';
import { UsageError } from '../../errors.js';
import { loadRecipe } from '../../recipes/load.js';
import { detectProject, renderInit, schemaReference } from '../../setup/init.js';
import { readTemplate, SCHEMA_FILE } from '../../setup/templates.js';
import { jsonWriter } from '../../ui/reporter.js';
import type { GlobalOptions } from '../runtime.js';

/** `ship init [--recipe NAME]`: a commented deploy.yaml for this project, checked to load before it is written. */
export async function initCommand(flags: GlobalOptions & { recipe?: string; force?: boolean }): Promise<void> {
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
  const text = renderInit({ template: readTemplate('deploy.yaml.tmpl'), facts, recipe: loaded.recipe, schemaRef: schemaReference(dir, SCHEMA_FILE) });
  // What init writes must load: checked here, not found out at the first deploy.
  const check = parseConfig({ text, path: target, cwd, env: {}, recipeTasks: Object.keys(loaded.recipe.tasks) });
  if (!check.ok) throw new Error(`ship init made an invalid ${shown}: ${check.problems.map(formatProblem).join('; ')}`);
  writeFileSync(target, text);
  const why = detected
    ? facts.recipe === 'node'
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
  process.stdout.write(
    `wrote ${shown}: app ${facts.app}, recipe ${facts.recipe}${why}\n` +
      `next: put your servers under stages.production.hosts, then\n  ship setup production && ship check production && ship deploy production\n`,
  );
}
