/**
 * `ship init`: a commented deploy.yaml for the project in a directory, from
 * templates/deploy.yaml.tmpl. Detection reads a few files; rendering is pure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { stringify } from 'yaml';
import type { Recipe } from '../recipes/load.js';
import { fillTemplate } from './templates.js';

export interface ProjectFacts {
  app: string;
  /** The recipe the project looks like: package.json → node, Gemfile → rails, else base. */
  recipe: string;
  /** origin's URL when the directory is a git checkout with one; else the directory itself. */
  repo: string;
  branch: string;
}

/** Looks at the project's files (never runs anything). */
export function detectProject(dir: string): ProjectFacts {
  const read = (file: string) => {
    try {
      return readFileSync(join(dir, file), 'utf8');
    } catch {
      return undefined;
    }
  };
  const pkg = read('package.json');
  let pkgName: string | undefined;
  try {
    pkgName = pkg ? (JSON.parse(pkg) as { name?: unknown }).name?.toString() : undefined;
  } catch {
    // a broken package.json still says "node"; the name comes from the directory then
  }
  const recipe = pkg !== undefined ? 'node' : existsSync(join(dir, 'Gemfile')) ? 'rails' : 'base';
  const origin = /\[remote "origin"\][^[]*?^\s*url\s*=\s*(\S+)/m.exec(read('.git/config') ?? '')?.[1];
  const branch = /^ref: refs\/heads\/(\S+)/.exec(read('.git/HEAD') ?? '')?.[1] ?? 'main';
  return { app: appName(pkgName?.replace(/^@[^/]+\//, '') ?? basename(dir)), recipe, repo: origin ?? '.', branch };
}

/** A name deploy.yaml accepts for `app`, lower case as it also names /srv/<app> and a systemd unit. */
export function appName(raw: string): string {
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/[-.]+$/, '');
  return name || 'app';
}

/** `$schema=` value: relative to deploy.yaml when ship is installed inside the project, else absolute. */
export function schemaReference(configDir: string, schemaFile: string): string {
  const rel = relative(configDir, schemaFile);
  return rel.startsWith('..') || isAbsolute(rel) ? schemaFile : `./${rel}`;
}

export interface InitInput {
  template: string;
  facts: ProjectFacts;
  recipe: Recipe;
  schemaRef: string;
}

export function renderInit({ template, facts, recipe, schemaRef }: InitInput): string {
  return fillTemplate(template, {
    schema: schemaRef,
    app: facts.app,
    repo: yamlScalar(facts.repo),
    recipe: facts.recipe,
    recipe_desc: recipe.desc ?? 'a recipe of your own',
    // a repository the hosts cannot reach (this directory) has to be uploaded
    strategy: facts.repo === '.' ? 'upload' : 'remote',
    branch: yamlScalar(facts.branch),
    recipe_vars: recipeVarLines(recipe),
  });
}

/** The recipe's vars as commented-out YAML lines, each with the recipe's own explanation. */
export function recipeVarLines(recipe: Recipe): string {
  const entries = Object.entries(recipe.vars);
  if (entries.length === 0) return `#   (the ${recipe.name} recipe has no settings)`;
  const pairs = entries.map(([key, value]) => `${key}: ${yamlScalar(value)}`);
  const width = Math.max(...pairs.map((p) => p.length));
  return pairs
    .map((pair, i) => {
      const doc = recipe.varDocs[entries[i]![0]];
      return `#   ${doc ? `${pair.padEnd(width)}  # ${doc}` : pair}`;
    })
    .join('\n');
}

/** A string as a one-line YAML scalar that reads back as the same string. */
const yamlScalar = (value: string): string => stringify(value, { lineWidth: 0 }).trimEnd();
