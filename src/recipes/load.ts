import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, parseDocument } from 'yaml';
import type { ConfigProblem, TaskDef } from '../config/types.js';

/** Built-in recipes ship in <package>/recipes. */
export const BUILTIN_RECIPES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'recipes');

export interface Recipe {
  name: string;
  file: string;
  desc?: string;
  vars: Record<string, string>;
  tasks: Record<string, TaskDef>;
}

const RECIPE_KEYS = ['desc', 'extends', 'vars', 'tasks'];
const TASK_KEYS = ['run', 'roles', 'once', 'local', 'desc'];

/** Where a recipe named in deploy.yaml lives: a built-in name, or a path relative to the config. */
export function recipeFile(nameOrPath: string, configDir: string): string {
  if (/^[a-z][a-z0-9-]*$/.test(nameOrPath)) return resolve(BUILTIN_RECIPES, `${nameOrPath}.yaml`);
  return isAbsolute(nameOrPath) ? nameOrPath : resolve(configDir, nameOrPath);
}

export function listBuiltinRecipes(): string[] {
  return readdirSync(BUILTIN_RECIPES)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/**
 * Loads a recipe and the recipes it extends (child tasks and vars override the parent's).
 * Returns every problem found, each with file:line:col, rather than the first.
 */
export function loadRecipe(nameOrPath: string, configDir: string, cwd = process.cwd(), seen: string[] = []): { recipe?: Recipe; problems: ConfigProblem[] } {
  const file = recipeFile(nameOrPath, configDir);
  const shown = relative(cwd, file) || file;
  const problems: ConfigProblem[] = [];
  const problem = (line: number, col: number, path: string, message: string) => problems.push({ file: shown, line, col, path, message });
  if (seen.includes(file)) {
    problem(0, 0, 'extends', `recipe cycle: ${[...seen, file].map((f) => relative(cwd, f)).join(' -> ')}`);
    return { problems };
  }
  if (!existsSync(file)) {
    problem(0, 0, 'recipe', `recipe ${JSON.stringify(nameOrPath)} not found (looked at ${shown})`);
    return { problems };
  }
  const lc = new LineCounter();
  const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc });
  const at = (offset: number | undefined) => lc.linePos(offset ?? 0);
  for (const e of doc.errors) {
    const p = at(e.pos[0]);
    problem(p.line, p.col, '', e.message.split('\n')[0]!);
  }
  if (problems.length) return { problems };
  const data = (doc.toJS() ?? {}) as Record<string, unknown>;
  const name = file.startsWith(BUILTIN_RECIPES) ? nameOrPath : shown;
  for (const key of Object.keys(data)) if (!RECIPE_KEYS.includes(key)) problem(1, 1, key, `unknown recipe key ${JSON.stringify(key)} (known: ${RECIPE_KEYS.join(', ')})`);

  let base: Recipe | undefined;
  if (typeof data.extends === 'string') {
    const parent = loadRecipe(data.extends, dirname(file), cwd, [...seen, file]);
    problems.push(...parent.problems);
    base = parent.recipe;
  }
  const vars: Record<string, string> = { ...(base?.vars ?? {}) };
  for (const [k, v] of Object.entries((data.vars as Record<string, unknown>) ?? {})) vars[k] = v === null || v === undefined ? '' : String(v);
  const tasks: Record<string, TaskDef> = { ...(base?.tasks ?? {}) };
  for (const [tname, raw] of Object.entries((data.tasks as Record<string, unknown>) ?? {})) {
    const t = toTask(tname, raw, `recipe:${name}`);
    if (typeof t === 'string') problem(1, 1, `tasks.${tname}`, t);
    else tasks[tname] = t;
  }
  return {
    recipe: { name, file, ...(typeof data.desc === 'string' ? { desc: data.desc } : {}), vars, tasks },
    problems,
  };
}

function toTask(name: string, raw: unknown, source: string): TaskDef | string {
  const asRun = (v: unknown) => (typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);
  const run = asRun(raw);
  if (run) return { name, run, once: false, local: false, source };
  if (!raw || typeof raw !== 'object') return 'a task is a command, a list of commands, or { run, roles, once, local, desc }';
  const o = raw as Record<string, unknown>;
  const unknown = Object.keys(o).filter((k) => !TASK_KEYS.includes(k));
  if (unknown.length) return `unknown task key(s) ${unknown.join(', ')} (known: ${TASK_KEYS.join(', ')})`;
  const r = asRun(o.run);
  if (!r) return 'run: expected a command or a list of commands';
  return {
    name,
    run: r,
    ...(Array.isArray(o.roles) ? { roles: o.roles.map(String) } : {}),
    once: o.once === true,
    local: o.local === true,
    ...(typeof o.desc === 'string' ? { desc: o.desc } : {}),
    source,
  };
}
