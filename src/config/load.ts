/** Finding and reading deploy.yaml: the only file I/O of the config module. */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedConfig } from './loaded.js';
import type { ConfigProblem } from './types.js';
import { validateConfigText, type RecipeTaskNames } from './validate.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface FindConfigOptions {
  cwd: string;
  /** --config FILE */
  flag?: string;
  env: Env;
  /** The last directory looked in, going up from cwd. Default: the filesystem's root. */
  root?: string;
}

/** above: found in a directory above cwd (worth saying which file is used). */
export type FoundConfig = { ok: true; path: string; above: boolean } | { ok: false; problems: ConfigProblem[] };

const CONFIG_NAMES = ['deploy.yaml', 'deploy.yml'];

/**
 * --config, else SHIP_CONFIG, else deploy.yaml (or deploy.yml) in cwd or the nearest
 * directory above it, as git finds its repository. Returns an absolute path.
 */
export async function findConfigFile({ cwd, flag, env, root }: FindConfigOptions): Promise<FoundConfig> {
  const explicit =
    flag !== undefined && flag !== '' ? { file: flag, from: '--config' } : env.SHIP_CONFIG ? { file: env.SHIP_CONFIG, from: 'SHIP_CONFIG' } : undefined;
  if (explicit) {
    const absolute = path.resolve(cwd, explicit.file);
    const found = await configAt(cwd, absolute, false);
    return found ?? { ok: false, problems: [fileProblem(displayName(cwd, absolute), `config file not found (given by ${explicit.from})`)] };
  }
  const last = root !== undefined ? path.resolve(root) : undefined;
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    for (const name of CONFIG_NAMES) {
      const found = await configAt(cwd, path.join(dir, name), dir !== path.resolve(cwd));
      if (found) return found;
    }
    if (dir === last || path.dirname(dir) === dir) break;
  }
  const message = `no config file found (tried ${CONFIG_NAMES.join(', ')} here and in every directory above): run \`ship init\` to write one, or pass --config FILE`;
  return { ok: false, problems: [fileProblem(CONFIG_NAMES[0]!, message)] };
}

/** The config file at `absolute`, a problem when it is a directory, undefined when there is none. */
async function configAt(cwd: string, absolute: string, above: boolean): Promise<FoundConfig | undefined> {
  const kind = await fileKind(absolute);
  if (kind === 'file') return { ok: true, path: absolute, above };
  if (kind === 'directory') return { ok: false, problems: [fileProblem(displayName(cwd, absolute), 'is a directory, not a config file')] };
  return undefined;
}

export interface LoadConfigOptions {
  path: string; // absolute, or relative to cwd
  cwd: string;
  env: Env;
  /** Task names of the recipe(s), so hooks may name them. */
  recipeTasks?: RecipeTaskNames;
}

export type LoadedResult = { ok: true; config: LoadedConfig } | { ok: false; problems: ConfigProblem[] };

/** Reads and validates deploy.yaml; every problem in it at once. */
export async function loadConfig(opts: LoadConfigOptions): Promise<LoadedResult> {
  const absolute = path.resolve(opts.cwd, opts.path);
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${(error as Error).message}`;
    return { ok: false, problems: [fileProblem(displayName(opts.cwd, absolute), reason)] };
  }
  return parseConfig({ ...opts, text });
}

export interface ParseConfigOptions extends LoadConfigOptions {
  text: string;
}

/** loadConfig without the read: for text already in hand. */
export function parseConfig({ text, path: file, cwd, env, recipeTasks }: ParseConfigOptions): LoadedResult {
  const configPath = path.resolve(cwd, file);
  const shown = displayName(cwd, configPath);
  const validated = validateConfigText({ text, file: shown, configDir: path.dirname(configPath), ...(recipeTasks ? { recipeTasks } : {}) });
  if (!validated.ok) return validated;
  return {
    ok: true,
    config: {
      file: shown,
      configPath,
      configDir: path.dirname(configPath),
      raw: validated.raw,
      stages: Object.keys(validated.raw.stages),
      positions: validated.positions,
      env,
    },
  };
}

function displayName(cwd: string, absolute: string): string {
  return path.relative(cwd, absolute) || path.basename(absolute);
}

function fileProblem(file: string, message: string): ConfigProblem {
  return { file, line: 0, col: 0, path: '', message };
}

async function fileKind(absolute: string): Promise<'file' | 'directory' | undefined> {
  try {
    const info = await stat(absolute);
    return info.isDirectory() ? 'directory' : 'file';
  } catch {
    return undefined;
  }
}
