/** Paths written in deploy.yaml, made absolute the way a user expects. */
import path from 'node:path';

/** `~` and `~/x` → the home directory; anything else unchanged. */
export function expandHome(p: string, homedir: string): string {
  if (p === '~') return homedir;
  if (p.startsWith('~/')) return path.join(homedir, p.slice(2));
  return p;
}

/** A path on this machine: `~` expanded, relative to the config file's directory. */
export function localPath(p: string, configDir: string, homedir: string): string {
  return path.resolve(configDir, expandHome(p, homedir));
}

/** An absolute path on a remote host, without `.`/`..` segments or a trailing slash. */
export function remotePath(p: string): string {
  const normal = path.posix.normalize(p);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/**
 * Why a path written for inside a tree (the release, shared/, the repository) could leave it,
 * or undefined. The one rule: not empty, not absolute, no ".." segment; a name that merely
 * starts with dots ("..cache") is an ordinary name.
 */
export function insideTreeProblem(p: string): string | undefined {
  if (p === '') return 'is empty';
  if (p.startsWith('/')) return 'is absolute';
  if (p.split('/').includes('..')) return 'has a ".." segment';
  return undefined;
}

/** A path inside a tree ("./log/" → "log"); undefined for the tree itself ("."). */
export function subPath(p: string): string | undefined {
  const normal = path.posix.normalize(p).replace(/\/+$/, '');
  return normal === '.' || normal === '' ? undefined : normal;
}

/**
 * A repository as git understands it: URLs (including file://) and scp-like `host:path`
 * (no slash before the first colon, as git decides) are kept; local paths become absolute.
 */
export function repoLocation(repo: string, configDir: string, homedir: string): string {
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(repo)) return repo;
  const colon = repo.indexOf(':');
  const slash = repo.indexOf('/');
  if (colon > 0 && (slash < 0 || colon < slash)) return repo;
  return localPath(repo, configDir, homedir);
}

/** A recipe is a built-in name, or a file when it looks like a path. */
export function recipeLocation(recipe: string, configDir: string, homedir: string): string {
  const isFile = recipe.includes('/') || /\.ya?ml$/.test(recipe) || recipe.startsWith('~');
  return isFile ? localPath(recipe, configDir, homedir) : recipe;
}
