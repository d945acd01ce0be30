/**
 * `ship init`: a commented deploy.yaml for the project in a directory, from
 * templates/deploy.yaml.tmpl, whose first deploy starts the app and checks it. What is known of
 * the project comes from detect.ts; rendering is pure.
 */
import { isAbsolute, relative } from 'node:path';
import { stringify } from 'yaml';
import type { Recipe } from '../recipes/load.js';
import type { ProjectFacts } from './detect.js';
import { fillTemplate } from './templates.js';

export { appName, detectProject, type NodeFacts, type ProjectFacts } from './detect.js';

/** What a person was asked (on a terminal), or the defaults. */
export interface InitChoices {
  hosts: string[];
  /** Only when ~/.ssh/config has no User for the hosts: written as ssh.user. */
  sshUser?: string;
  restartWith?: string;
}

export const DEFAULT_HOSTS = ['web1.example.com'];

/** `$schema=` value: relative to deploy.yaml when ship is installed inside the project, else absolute. */
export function schemaReference(configDir: string, schemaFile: string): string {
  const rel = relative(configDir, schemaFile);
  return rel.startsWith('..') || isAbsolute(rel) ? schemaFile : `./${rel}`;
}

/** The restart methods a recipe offers (its restart_with var), the default first. */
export function restartMethods(recipe: string): string[] {
  if (recipe === 'node') return ['pm2', 'systemd', 'command'];
  if (recipe === 'rails') return ['touch', 'systemd', 'command'];
  return [];
}

export interface InitInput {
  template: string;
  facts: ProjectFacts;
  recipe: Recipe;
  schemaRef: string;
  choices?: InitChoices;
}

export function renderInit({ template, facts, recipe, schemaRef, choices }: InitInput): string {
  const chosen: InitChoices = { hosts: DEFAULT_HOSTS, ...choices };
  const vars = recipeSettings(facts, chosen);
  return fillTemplate(template, {
    schema: schemaRef,
    app: facts.app,
    repo: yamlScalar(facts.repo),
    recipe: facts.recipe,
    recipe_desc: recipe.desc ?? 'a recipe of your own',
    detected: detectedLine(facts),
    // a repository the hosts cannot reach (this directory) has to be uploaded
    strategy: facts.repo === '.' ? 'upload' : 'remote',
    branch: yamlScalar(facts.branch),
    shared_dirs: sharedDirs(facts.recipe).join(', '),
    env_block: block('env', appEnvironment(facts)),
    vars_block: block('vars', vars),
    recipe_vars: recipeVarLines(recipe, Object.keys(vars)),
    health_lines: healthLines(facts),
    ssh_user_line: chosen.sshUser
      ? `  user: ${yamlScalar(chosen.sshUser)}`
      : "  # user: deploy        # unset: ~/.ssh/config's User for the host, else your login name",
    host_lines: hostLines(chosen.hosts, !!facts.node?.migrate),
  });
}

function detectedLine(f: ProjectFacts): string {
  if (f.node) {
    const scripts = [f.node.start && 'start', f.node.build, f.node.migrate].filter(Boolean).join(', ');
    return `Found package.json (scripts: ${scripts || 'none'}${f.node.engines ? `; the hosts need node ${f.node.engines}` : ''}); the app listens on port ${f.node.port}.`;
  }
  if (f.recipe === 'static') return `Found package.json with a site build writing ${f.publishDir}/.`;
  if (f.recipe === 'rails') return 'Found a Gemfile.';
  return 'Found no package.json or Gemfile: the base recipe deploys the code only.';
}

function sharedDirs(recipe: string): string[] {
  if (recipe === 'rails') return ['log', 'tmp/pids', 'tmp/cache', 'storage'];
  if (recipe === 'static') return [];
  return ['log'];
}

function appEnvironment(f: ProjectFacts): Record<string, string> {
  if (f.node) return { NODE_ENV: 'production', PORT: String(f.node.port) };
  if (f.recipe === 'rails') return { RAILS_ENV: 'production' };
  return {};
}

/** The recipe vars init sets: how the app is built, migrated and started. */
function recipeSettings(f: ProjectFacts, c: InitChoices): Record<string, string> {
  if (f.node) {
    return {
      restart_with: c.restartWith ?? 'pm2',
      ...(f.node.build ? { build_script: f.node.build } : {}),
      ...(f.node.migrate ? { migrate_script: f.node.migrate } : {}),
    };
  }
  if (f.recipe === 'static') return { publish_dir: f.publishDir ?? 'dist' };
  if (f.recipe === 'rails') return { restart_with: c.restartWith ?? 'touch' };
  return {};
}

function healthLines(f: ProjectFacts): string {
  const url = f.node ? `http://127.0.0.1:${f.node.port}${f.node.healthPath}` : f.railsUp ? 'http://127.0.0.1:3000/up' : undefined;
  if (!url) return '# health:\n#   http: http://127.0.0.1:3000/health\n#   expect: { status: 200 }\n#   timeout: 60s';
  return `health:\n  http: ${url}\n  expect: { status: 200 }\n  timeout: 60s`;
}

/** A plain name is roles [web, app]; with migrations the first host also has db (it migrates, once). */
function hostLines(hosts: string[], migrates: boolean): string {
  return hosts.map((h, i) => (migrates && i === 0 ? `      - { host: ${h}, roles: [web, app, db] }` : `      - ${yamlScalar(h)}`)).join('\n');
}

/** `key:` with its entries as YAML lines, or the key commented out when there are none. */
function block(key: string, entries: Record<string, string>): string {
  const lines = Object.entries(entries).map(([k, v]) => `  ${k}: ${yamlScalar(v)}`);
  return lines.length ? `${key}:\n${lines.join('\n')}` : `# ${key}:`;
}

/** The recipe's vars (but those set above) as commented-out YAML lines, each with the recipe's own explanation. */
export function recipeVarLines(recipe: Recipe, set: string[] = []): string {
  const entries = Object.entries(recipe.vars).filter(([key]) => !set.includes(key));
  if (entries.length === 0) return `#   (the ${recipe.name} recipe has no other settings)`;
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
