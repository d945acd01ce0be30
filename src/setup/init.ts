/**
 * `ship init`: a commented deploy.yaml for the project in a directory, from
 * templates/deploy.yaml.tmpl, whose first deploy starts the app and checks it. Detection reads
 * a few files (never runs anything); rendering is pure.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { stringify } from 'yaml';
import type { Recipe } from '../recipes/load.js';
import { fillTemplate } from './templates.js';

/** What package.json and the server's source say about a Node app. */
export interface NodeFacts {
  /** npm scripts to wire (their names), when package.json has them. */
  build?: string;
  migrate?: string;
  start?: string;
  /** package.json's engines.node. */
  engines?: string;
  /** The port the server listens on (its `process.env.PORT || N`), else 3000. */
  port: number;
  /** A health route found in its source (/health, /healthz...), else `/`. */
  healthPath: string;
}

export interface ProjectFacts {
  app: string;
  /** The recipe the project looks like: a site build → static, package.json → node, Gemfile → rails, else base. */
  recipe: string;
  /** origin's URL when the directory is a git checkout with one; else the directory itself. */
  repo: string;
  branch: string;
  node?: NodeFacts;
  /** Static sites: the directory the build writes. */
  publishDir?: string;
  /** Rails: the app has the /up health route (Rails 7.1 and later). */
  railsUp?: boolean;
}

/** What a person was asked (on a terminal), or the defaults. */
export interface InitChoices {
  hosts: string[];
  /** Only when ~/.ssh/config has no User for the hosts: written as ssh.user. */
  sshUser?: string;
  restartWith?: string;
}

export const DEFAULT_HOSTS = ['web1.example.com'];

/** Bundlers whose output is a static site, and where they write it. */
const SITE_BUILDERS: Record<string, string> = { vite: 'dist', astro: 'dist', '@11ty/eleventy': '_site', 'react-scripts': 'build', parcel: 'dist' };

/** Looks at the project's files (never runs anything). */
export function detectProject(dir: string): ProjectFacts {
  const read = (file: string) => {
    try {
      return readFileSync(join(dir, file), 'utf8');
    } catch {
      return undefined;
    }
  };
  const pkgText = read('package.json');
  const pkg = parsePackage(pkgText);
  const origin = /\[remote "origin"\][^[]*?^\s*url\s*=\s*(\S+)/m.exec(read('.git/config') ?? '')?.[1];
  const branch = /^ref: refs\/heads\/(\S+)/.exec(read('.git/HEAD') ?? '')?.[1] ?? 'main';
  const facts: ProjectFacts = { app: appName(pkg.name?.replace(/^@[^/]+\//, '') ?? basename(dir)), recipe: 'base', repo: origin ?? '.', branch };
  if (pkgText !== undefined) {
    const publishDir = siteOutput(pkg);
    if (publishDir) return { ...facts, recipe: 'static', publishDir };
    return { ...facts, recipe: 'node', node: nodeFacts(pkg, read) };
  }
  if (existsSync(join(dir, 'Gemfile'))) return { ...facts, recipe: 'rails', railsUp: /rails\/health#show/.test(read('config/routes.rb') ?? '') };
  return facts;
}

interface PackageJson {
  name?: string;
  main?: string;
  scripts: Record<string, string>;
  engines?: { node?: string };
  deps: string[];
}

function parsePackage(text: string | undefined): PackageJson {
  let raw: Record<string, unknown> = {};
  try {
    raw = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // a broken package.json still says "node"; the name comes from the directory then
  }
  const obj = (v: unknown) => (v && typeof v === 'object' ? (v as Record<string, string>) : {});
  return {
    ...(typeof raw.name === 'string' ? { name: raw.name } : {}),
    ...(typeof raw.main === 'string' ? { main: raw.main } : {}),
    scripts: obj(raw.scripts),
    ...(typeof obj(raw.engines).node === 'string' ? { engines: { node: obj(raw.engines).node! } } : {}),
    deps: [...Object.keys(obj(raw.dependencies)), ...Object.keys(obj(raw.devDependencies))],
  };
}

/** A package that builds a site and has no server to start. */
function siteOutput(pkg: PackageJson): string | undefined {
  if (pkg.scripts.start || !pkg.scripts.build) return undefined;
  const builder = Object.keys(SITE_BUILDERS).find((b) => pkg.deps.includes(b));
  return builder ? SITE_BUILDERS[builder] : undefined;
}

function nodeFacts(pkg: PackageJson, read: (file: string) => string | undefined): NodeFacts {
  const { scripts } = pkg;
  const migrate = ['migrate', 'db:migrate', 'migrate:latest'].find((s) => scripts[s]);
  const startFile = /^node\s+(?:--\S+\s+)*(\S+)/.exec(scripts.start ?? '')?.[1];
  const source = [startFile, pkg.main, 'server.js', 'app.js', 'index.js', 'bin/www', 'src/server.js', 'src/index.js']
    .filter((f): f is string => !!f)
    .map(read)
    .find((t) => t !== undefined);
  return {
    ...(scripts.build ? { build: 'build' } : {}),
    ...(migrate ? { migrate } : {}),
    ...(scripts.start ? { start: scripts.start } : {}),
    ...(pkg.engines?.node ? { engines: pkg.engines.node } : {}),
    port: listenPort(source ?? ''),
    healthPath: /['"`](\/(?:health|healthz|up|ping|status))['"`]/.exec(source ?? '')?.[1] ?? '/',
  };
}

/** `process.env.PORT || 8080`, `?? 8080`, or `.listen(8080`: the port a server's source names. */
function listenPort(source: string): number {
  const m = /PORT\s*(?:\|\||\?\?)\s*['"]?(\d{2,5})/.exec(source) ?? /\.listen\(\s*(\d{2,5})/.exec(source);
  return m ? Number(m[1]) : 3000;
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
