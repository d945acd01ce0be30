/**
 * Recipes: `recipes/<name>.yaml` built in, or a recipe file named by path in deploy.yaml.
 * A recipe is validated like deploy.yaml (every problem at once, each with file:line:col and
 * key path, did-you-mean for misspelt keys), then merged over the recipe it `extends`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document, isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { nestingProblem } from '../config/depth.js';
import { displayPath, NO_POS, positionOf, type NodePosition, type Path } from '../config/positions.js';
import { sortProblems } from '../config/problem.js';
import { taskDef } from '../config/resolve-tasks.js';
import { PHASES, PROTOCOL_SLOTS } from '../config/protocol.js';
import { TEMPLATE_NAMES } from '../config/schema.js';
import { didYouMean, knownAndClosest } from '../config/suggest.js';
import type { ConfigProblem, HookEntry, TaskDef } from '../config/types.js';
import { walk } from '../config/walk.js';
import { recipeSchema, type RawRecipe } from './schema.js';

/** Built-in recipes ship in <package>/recipes. */
export const BUILTIN_RECIPES = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'recipes');

export interface Recipe {
  name: string; // a built-in name, or the file as shown to the user
  file: string;
  desc?: string;
  /** This recipe's name, then the one it extends, and so on up to the root. */
  lineage: string[];
  /** Programs the hosts need (git and tar come from the strategy, not from here). */
  requires: string[];
  vars: Record<string, string>;
  /** The comment written after each var, for `ship init` to explain them. */
  varDocs: Record<string, string>;
  tasks: Record<string, TaskDef>;
  hooks: Record<string, HookEntry[]>;
}

export interface RecipeResult {
  recipe?: Recipe;
  problems: ConfigProblem[];
}

const BUILTIN_NAME = /^[a-z][a-z0-9-]*$/;

/** Where a recipe named in deploy.yaml lives: a built-in name, or a path relative to the config. */
export function recipeFile(nameOrPath: string, configDir: string): string {
  if (BUILTIN_NAME.test(nameOrPath)) return resolve(BUILTIN_RECIPES, `${nameOrPath}.yaml`);
  return isAbsolute(nameOrPath) ? nameOrPath : resolve(configDir, nameOrPath);
}

export function listBuiltinRecipes(): string[] {
  return readdirSync(BUILTIN_RECIPES)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/**
 * Loads a recipe and the recipes it extends (the child's tasks and vars override the parent's;
 * its hooks run after the parent's for the same key). Returns every problem found.
 * `seen` holds the files already on the `extends` chain, to report cycles.
 */
export function loadRecipe(nameOrPath: string, configDir: string, cwd = process.cwd(), seen: string[] = []): RecipeResult {
  const file = recipeFile(nameOrPath, configDir);
  const builtin = BUILTIN_NAME.test(nameOrPath);
  // ship's own files are named as in its package, not by a long path from the user's cwd
  const shown = builtin ? `recipes/${nameOrPath}.yaml` : relative(cwd, file) || file;
  const name = builtin ? nameOrPath : shown;
  if (!existsSync(file)) {
    const known = builtin ? knownAndClosest(nameOrPath, listBuiltinRecipes(), 'built-in recipes') : '';
    return { problems: [{ file: shown, line: 0, col: 0, path: '', message: `recipe ${JSON.stringify(nameOrPath)} not found${known}` }] };
  }
  const parsed = parseRecipe(readFileSync(file, 'utf8'), shown);
  if (!parsed.raw) return { problems: parsed.problems };
  const { raw, doc } = parsed;
  const problems = [...parsed.problems];
  const report = (path: Path, message: string, part: 'key' | 'value' = 'value') => {
    const pos = positionOf(parsed.positions, path, part);
    problems.push({ file: shown, line: pos.line, col: pos.col, path: displayPath(path), message });
  };

  let parent: Recipe | undefined;
  if (raw.extends !== undefined) {
    const parentFile = recipeFile(raw.extends, dirname(file));
    if (parentFile === file || seen.includes(parentFile)) {
      const chain = [...seen, file, parentFile].map((f) => relative(cwd, f) || f);
      report(['extends'], `recipes extend each other in a cycle: ${chain.join(' -> ')}`);
    } else {
      const loaded = loadRecipe(raw.extends, dirname(file), cwd, [...seen, file]);
      problems.push(...loaded.problems);
      parent = loaded.recipe;
    }
  }

  const source = `recipe:${name}`;
  const tasks: Record<string, TaskDef> = { ...parent?.tasks };
  for (const [task, rawTask] of Object.entries(raw.tasks ?? {})) tasks[task] = taskDef(task, rawTask, source);
  const hooks: Record<string, HookEntry[]> = {};
  for (const [key, entries] of Object.entries(parent?.hooks ?? {})) hooks[key] = [...entries];
  for (const [key, entries] of Object.entries(raw.hooks ?? {})) {
    const own = entries.map((e, i): HookEntry => (typeof e === 'string' ? { task: e } : { inline: taskDef(`${key}[${i}]`, e, source) }));
    hooks[key] = [...(hooks[key] ?? []), ...own];
  }
  checkHookNames(raw, Object.keys(tasks), report);
  for (const key of Object.keys(raw.vars ?? {})) {
    if ((TEMPLATE_NAMES as readonly string[]).includes(key)) report(['vars', key], `{{${key}}} is filled in by ship itself: choose another name`, 'key');
  }

  const recipe: Recipe = {
    name,
    file,
    ...(raw.desc !== undefined ? { desc: raw.desc } : parent?.desc !== undefined ? { desc: parent.desc } : {}),
    lineage: [name, ...(parent?.lineage ?? [])],
    requires: [...new Set([...(parent?.requires ?? []), ...(raw.requires ?? [])])],
    vars: { ...parent?.vars, ...raw.vars },
    varDocs: { ...parent?.varDocs, ...varComments(doc) },
    tasks,
    hooks,
  };
  return { recipe, problems: sortProblems(problems) };
}

/** Text → validated recipe data (undefined when the text is not even a map). */
export function parseRecipe(text: string, shown: string): { raw?: RawRecipe; doc: Document; positions: Map<string, NodePosition>; problems: ConfigProblem[] } {
  const lineCounter = new LineCounter();
  const positions = new Map<string, NodePosition>();
  const deep = nestingProblem(text, shown);
  if (deep) return { doc: new Document(), positions, problems: [deep] };
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const problems: ConfigProblem[] = [];
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = syntax.pos[0] >= 0 ? lineCounter.linePos(syntax.pos[0]) : NO_POS;
    const hint = text.split('\n')[pos.line - 1]?.includes('{{') ? ' (quote a value with {{...}} in it: "make {{target}}")' : '';
    problems.push({
      file: shown,
      line: pos.line,
      col: pos.col,
      path: '',
      message: `YAML syntax: ${syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}${hint}`,
    });
    return { doc, positions, problems };
  }
  // An empty recipe is a valid one: it adds nothing.
  if (doc.contents === null) return { raw: {}, doc, positions, problems };
  const raw = walk({ doc, lineCounter, file: shown, problems, positions }, recipeSchema, doc.contents, [], { line: 1, col: 1 });
  return { ...(raw !== undefined ? { raw: raw as RawRecipe } : {}), doc, positions, problems };
}

/** Hook keys name a task of the recipe or a deploy step; string entries name a task. */
function checkHookNames(raw: RawRecipe, tasks: string[], report: (path: Path, message: string, part?: 'key' | 'value') => void): void {
  for (const [key, entries] of Object.entries(raw.hooks ?? {})) {
    const target = key.slice(key.indexOf(':') + 1);
    if (!tasks.includes(target) && !(PHASES as readonly string[]).includes(target)) {
      report(['hooks', key], `unknown task or deploy step ${JSON.stringify(target)}${didYouMean(target, [...tasks, ...PHASES])}`, 'key');
    }
    entries.forEach((entry, index) => {
      if (typeof entry !== 'string' || tasks.includes(entry) || (PROTOCOL_SLOTS as readonly string[]).includes(entry)) return;
      report(['hooks', key, index], `unknown task ${JSON.stringify(entry)}${didYouMean(entry, [...tasks, ...PROTOCOL_SLOTS])}`);
    });
  }
}

/** `npm_flags: --omit=dev   # passed to npm ci` → { npm_flags: 'passed to npm ci' }. */
function varComments(doc: Document): Record<string, string> {
  const vars = isMap(doc.contents) ? doc.contents.get('vars', true) : undefined;
  const docs: Record<string, string> = {};
  if (!isMap(vars)) return docs;
  for (const pair of vars.items) {
    const comment = isScalar(pair.value) ? pair.value.comment?.trim() : undefined;
    if (isScalar(pair.key) && comment) docs[String(pair.key.value)] = comment;
  }
  return docs;
}
