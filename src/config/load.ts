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
}

export type FoundConfig = { ok: true; path: string } | { ok: false; problems: ConfigProblem[] };

/** --config, else SHIP_CONFIG, else ./deploy.yaml (or ./deploy.yml). Returns an absolute path. */
export async function findConfigFile({ cwd, flag, env }: FindConfigOptions): Promise<FoundConfig> {
  const explicit =
    flag !== undefined && flag !== '' ? { file: flag, from: '--config' } : env.SHIP_CONFIG ? { file: env.SHIP_CONFIG, from: 'SHIP_CONFIG' } : undefined;
  const tried = explicit ? [explicit.file] : ['deploy.yaml', 'deploy.yml'];
  for (const file of tried) {
    const absolute = path.resolve(cwd, file);
    const kind = await fileKind(absolute);
    if (kind === 'file') return { ok: true, path: absolute };
    if (kind === 'directory') {
      return { ok: false, problems: [fileProblem(displayName(cwd, absolute), 'is a directory, not a config file')] };
    }
  }
  const first = displayName(cwd, path.resolve(cwd, tried[0] ?? 'deploy.yaml'));
  const message = explicit
    ? `config file not found (given by ${explicit.from})`
    : `no config file found (tried ${tried.map((f) => displayName(cwd, path.resolve(cwd, f))).join(', ')}): ` +
      'run `ship init` to write one, or pass --config FILE';
  return { ok: false, problems: [fileProblem(first, message)] };
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
