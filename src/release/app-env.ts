import type { HostConfig, StageConfig } from '../config/types.js';
import { and, cmd, raw, redirect, type Command } from '../shell/command.js';
import { isShellName } from '../shell/quote.js';
import type { ServerPaths } from './paths.js';

/**
 * The app env file: the stage's `env:` (secrets included) and the release's facts, written
 * into each release, readable by the deploy user only (0600). Every restart method loads the
 * file of the release it starts, so a rollback brings back the environment that release was
 * deployed with: pm2 through the config ship writes beside it, systemd through the unit's
 * EnvironmentFile=, a restart command with it exported.
 */
export const APP_ENV_FILE = '.ship-env';

/** The pm2 config ship writes into each release when the app runs under pm2. */
export const PM2_CONFIG_FILE = '.ship-pm2.config.cjs';

/** The facts an app sees about itself (SHIP_RELEASE...): which release it is, of what. */
const APP_FACTS = ['app', 'stage', 'release', 'revision', 'branch'] as const;

/** What the app's process gets: the configured env (host over stage), then SHIP_* facts of its release. */
export function appEnv(stage: StageConfig, host: HostConfig, facts: Readonly<Record<(typeof APP_FACTS)[number], string>>): Record<string, string> {
  const ship = Object.fromEntries(APP_FACTS.map((k) => [`SHIP_${k.toUpperCase()}`, facts[k]]));
  return { ...stage.env, ...host.env, ...ship };
}

/** One file of a release and the script variable holding its text (never in an argv). */
export interface ReleaseFile {
  name: string;
  variable: string;
}

/**
 * Writes files into release `id` from script variables, each 0600 from its first byte (umask
 * 077, an older file of that name removed first): they hold secrets.
 */
export function writeReleaseFiles(paths: ServerPaths, id: string, files: ReleaseFile[]): Command {
  const writes = files.flatMap((f) => {
    if (!isShellName(f.variable)) throw new Error(`not a variable name: ${f.variable}`);
    const target = `${paths.release(id)}/${f.name}`;
    return [cmd('rm', '-f', '--', target), redirect(cmd('printf', '%s', raw(`"$${f.variable}"`)), { op: '>', target })];
  });
  return and(cmd('umask', '077'), ...writes);
}
