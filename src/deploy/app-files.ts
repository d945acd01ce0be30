import type { HostConfig, StageConfig } from '../config/types.js';
import { templateValues, type HostFacts } from '../engine/index.js';
import { UsageError } from '../errors.js';
import { APP_ENV_FILE, appEnv, PM2_CONFIG_FILE, type ReleaseFile, writeReleaseFiles } from '../release/app-env.js';
import type { ServerPaths } from '../release/paths.js';
import { renderEnvFile } from '../shell/env-file.js';
import type { Step } from '../shell/script.js';
import { fillTemplate } from '../setup/templates.js';

/** The files of a release that run the app: its env file and, under pm2, the pm2 config. */
export interface AppFiles {
  step: Step;
  /** The script variables the step writes from (exported, never in an argv). */
  env: Record<string, string>;
}

const ENV_VAR = 'SHIP_APP_ENV_TEXT';
const PM2_VAR = 'SHIP_PM2_CONFIG_TEXT';

/** The app files of release `facts.release` on one host; `pm2Template` is templates/pm2.config.cjs.tmpl. */
export function appFiles(stage: StageConfig, host: HostConfig, paths: ServerPaths, facts: HostFacts, pm2Template: string): AppFiles {
  const files: ReleaseFile[] = [{ name: APP_ENV_FILE, variable: ENV_VAR }];
  const env: Record<string, string> = { [ENV_VAR]: renderEnvFile(appEnv(stage, host, facts)) };
  const vars = templateValues(stage, host, facts);
  if (vars.restart_with === 'pm2') {
    files.push({ name: PM2_CONFIG_FILE, variable: PM2_VAR });
    env[PM2_VAR] = pm2Config(stage, vars, paths, facts, pm2Template);
  }
  return { step: { label: 'app env', command: writeReleaseFiles(paths, facts.release, files) }, env };
}

/** pm2's settings, as JSON in the config's JavaScript; what they mean is written in the template. */
export function pm2Config(stage: StageConfig, vars: Record<string, string>, paths: ServerPaths, facts: HostFacts, template: string): string {
  const settings = {
    name: vars.service || stage.app,
    current: paths.current,
    start: vars.start_command || 'npm start',
    instances: pm2Instances(vars.pm2_instances ?? ''),
    exec_mode: pm2ExecMode(vars.pm2_exec_mode ?? ''),
    env_file: APP_ENV_FILE,
    log: `${paths.shared}/log/app.log`,
  };
  return fillTemplate(template, { app: stage.app, stage: stage.stage, release: facts.release, settings: JSON.stringify(settings, null, 2) });
}

function pm2Instances(value: string): number | 'max' {
  if (value === '') return 1;
  if (value === 'max') return 'max';
  if (/^[1-9][0-9]{0,3}$/.test(value)) return Number(value);
  throw new UsageError(`vars.pm2_instances: ${JSON.stringify(value)} is not a number of processes (1, 4...) or "max"`);
}

function pm2ExecMode(value: string): '' | 'cluster' | 'fork' {
  if (value === '' || value === 'cluster' || value === 'fork') return value;
  throw new UsageError(`vars.pm2_exec_mode: ${JSON.stringify(value)} must be cluster, fork or empty (cluster for a node script)`);
}
