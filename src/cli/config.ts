import path from 'node:path';
import { validateBackupConfig } from '../backup/steps.js';
import { findConfigFile, formatProblem, loadConfig, resolveStage, sortProblems, TEMPLATE_NAMES } from '../config/index.js';
import { placeholderProblems, varNames } from '../config/placeholders.js';
import { logRotation } from '../setup/plan.js';
import type { ConfigProblem, StageConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import { loadRecipe, type Recipe } from '../recipes/load.js';

const invalid = (problems: ConfigProblem[]) =>
  new UsageError(
    problems.length === 1 && problems[0]!.line === 0
      ? problems[0]!.message.replace(/^/, `${problems[0]!.file}: `)
      : `invalid configuration (${problems.length} problem${problems.length > 1 ? 's' : ''})`,
    problems.length === 1 && problems[0]!.line === 0 ? [] : problems.map(formatProblem),
  );

/** How a stage is loaded, beyond which file and which environment. */
export interface LoadStageOptions {
  /** Where "using ../deploy.yaml" goes when the file was found above cwd. Default: stderr. */
  say?: (line: string) => void;
  /** For a dry run: an unset ${NAME} stands as this instead of being a problem. */
  unsetAs?: (name: string) => string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * deploy.yaml (or --config / SHIP_CONFIG) → one validated stage (no name: the first) with its
 * recipe merged in. Everything is checked before anything connects; every problem is reported
 * at once (exit 2).
 */
export async function loadStageConfig(
  stageName: string | undefined,
  flag: string | undefined,
  cwd = process.cwd(),
  env: Env = process.env,
  o: LoadStageOptions = {},
): Promise<StageConfig> {
  return (await loadStageAndRecipe(stageName, flag, cwd, env, o)).stage;
}

export interface StageAndRecipe {
  stage: StageConfig;
  recipe: Recipe;
  /** The variables that stand as placeholders (with `unsetAs`). */
  unset: string[];
}

/** As loadStageConfig, also returning the recipe (its required programs, lineage, var docs); no stage name = the first. */
export async function loadStageAndRecipe(
  stageName: string | undefined,
  flag: string | undefined,
  cwd = process.cwd(),
  env: Env = process.env,
  o: LoadStageOptions = {},
): Promise<StageAndRecipe> {
  const found = await findConfigFile({ cwd, ...(flag !== undefined ? { flag } : {}), env });
  if (!found.ok) throw invalid(found.problems);
  if (found.above) (o.say ?? ((line) => process.stderr.write(`${line}\n`)))(`ship: using ${found.path} (found above this directory)`);
  const recipes = new Map<string, ReturnType<typeof loadRecipe>>();
  const recipeOf = (name: string, configDir: string) => {
    const key = `${configDir}\0${name}`;
    if (!recipes.has(key)) recipes.set(key, loadRecipe(name, configDir, cwd));
    return recipes.get(key)!;
  };
  const configDir = path.dirname(found.path);
  const loaded = await loadConfig({
    path: found.path,
    cwd,
    env,
    recipeTasks: (recipe) => {
      const r = recipeOf(recipe, configDir).recipe;
      return r ? Object.keys(r.tasks) : undefined;
    },
  });
  if (!loaded.ok) throw invalid(loaded.problems);
  const name = stageName ?? loaded.config.stages[0]!;
  const unsetAs = o.unsetAs ? { unsetAs: o.unsetAs } : {};
  const first = resolveStage(loaded.config, name, { env, ...unsetAs });
  if (!first.ok) throw invalid(first.problems);
  const recipe = recipeOf(first.stage.recipe, first.stage.configDir);
  if (!recipe.recipe) throw invalid(recipe.problems);
  if (recipe.problems.length) throw invalid(recipe.problems);
  const resolved = resolveStage(loaded.config, name, { env, recipeTasks: recipe.recipe.tasks, recipeHooks: recipe.recipe.hooks, ...unsetAs });
  if (!resolved.ok) throw invalid(resolved.problems);
  const known = new Set([...TEMPLATE_NAMES, ...varNames(loaded.config, name, recipe.recipe.vars)]);
  const unknown = placeholderProblems(loaded.config, name, known);
  if (unknown.length) throw invalid(sortProblems(unknown));
  const stage = { ...resolved.stage, vars: { ...recipe.recipe.vars, ...resolved.stage.vars } };
  validateBackupConfig(stage);
  for (const host of stage.hosts) logRotation(stage, host);
  return { stage, recipe: recipe.recipe, unset: resolved.unset ?? [] };
}

/** The recipe a loaded stage names, checked: a broken recipe is a usage error (exit 2). */
export function recipeOfStage(stage: StageConfig): Recipe {
  const loaded = loadRecipe(stage.recipe, stage.configDir);
  if (!loaded.recipe || loaded.problems.length) throw new UsageError(`recipe ${stage.recipe} is invalid`, loaded.problems.map(formatProblem));
  return loaded.recipe;
}
