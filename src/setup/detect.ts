/**
 * What `ship init` finds out about a project from its files (never running anything): the
 * recipe it looks like, its name, git remote and branch, and for a Node app its npm scripts,
 * engines, the port its server listens on and a health route.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

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
