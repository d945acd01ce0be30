/**
 * What `ship setup` does on one host, decided from what the host told us (who we are there,
 * whether sudo works without a password, which programs exist). Pure: the same facts give
 * the same commands, which the unit tests read.
 */
import type { HostConfig, StageConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import type { Recipe } from '../recipes/load.js';
import { serverPaths, type ServerPaths } from '../release/paths.js';
import { and, cmd, or, type Command } from '../shell/command.js';
import { render } from '../shell/render.js';
import { lines, sh } from '../shell/sh.js';
import type { Step } from '../shell/script.js';
import { ensureCronLine, ensureDir, ensureEmptyFile, ensureFile, report } from './actions.js';
import { findPrograms, parsePrograms } from './programs.js';
import { fillTemplate } from './templates.js';

export interface SetupFacts {
  uid: number;
  user: string;
  group: string;
  /** `sudo -n true` worked: root's files can be written without a password prompt. */
  sudo: boolean;
  /** systemd is the running init (/run/systemd/system exists): daemon-reload can work. */
  systemd: boolean;
  programs: Record<string, string | undefined>;
}

const SETUP_PROGRAMS = ['logrotate', 'crontab', 'systemctl'] as const;

/** The first round trip of setup: who are we on the host, may we write /etc, what is there. */
export function setupProbe(): Step[] {
  return [
    {
      label: 'whoami',
      command: lines(
        sh`printf 'uid %s\\nuser %s\\ngroup %s\\n' "$(id -u)" "$(id -un)" "$(id -gn)"`,
        sh`if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then echo 'sudo yes'; fi`,
        sh`if [ -d /run/systemd/system ]; then echo 'systemd yes'; fi`,
      ),
    },
    { label: 'programs', command: findPrograms(SETUP_PROGRAMS) },
  ];
}

export function parseSetupProbe(whoami: string, programs: string): SetupFacts {
  const field = (name: string) => new RegExp(`^${name} (.*)$`, 'm').exec(whoami)?.[1]?.trim() ?? '';
  return {
    uid: Number(field('uid') || -1),
    user: field('user'),
    group: field('group'),
    sudo: field('sudo') === 'yes',
    systemd: field('systemd') === 'yes',
    programs: parsePrograms(programs),
  };
}

export interface SetupTemplates {
  logrotate: string;
  systemd: string;
}

export interface SetupInput {
  stage: StageConfig;
  host: HostConfig;
  recipe: Recipe;
  facts: SetupFacts;
  templates: SetupTemplates;
}

/** Where setup puts the logrotate rule, so `ship check` looks in the same places. */
export function logrotateLocations(stage: Pick<StageConfig, 'app' | 'stage'>, paths: ServerPaths) {
  return {
    system: `/etc/logrotate.d/ship-${stage.app}-${stage.stage}`,
    user: `${paths.shipDir}/logrotate.conf`,
    state: `${paths.shipDir}/logrotate.state`,
    logDir: `${paths.shared}/log`,
  };
}

/** The steps of one host, and the variables the script exports: the files' contents. */
export interface SetupPlan {
  steps: Step[];
  env: Record<string, string>;
}

const LOGROTATE_VAR = 'SHIP_SETUP_LOGROTATE';
const UNIT_VAR = 'SHIP_SETUP_UNIT';

export function planSetup(i: SetupInput): SetupPlan {
  const paths = serverPaths(i.host.deployTo);
  const dirs = [paths.root, paths.releases, paths.shared, paths.shipDir, ...i.stage.shared.dirs.map((d) => `${paths.shared}/${d}`)];
  const steps: Step[] = [{ label: 'directories', command: all(dirs.map(ensureDir)) }];
  if (i.stage.shared.files.length) {
    steps.push({ label: 'shared files', command: all(i.stage.shared.files.map((f) => ensureEmptyFile(`${paths.shared}/${f}`))) });
  }
  const env: Record<string, string> = { [LOGROTATE_VAR]: logrotateRule(i, paths) };
  steps.push({ label: 'logrotate', command: all(logrotateActions(i, paths)) });
  if (i.recipe.lineage.includes('node')) {
    const unit = systemdUnit(i, paths);
    env[UNIT_VAR] = unit.text;
    steps.push({ label: 'systemd unit', command: all(systemdActions(i, paths, unit.service)) });
  }
  return { steps, env };
}

/** Root, or a user whose sudo needs no password: system-wide files go to /etc. */
const privileged = (f: SetupFacts) => f.uid === 0 || f.sudo;
const needsSudo = (f: SetupFacts) => f.uid !== 0 && f.sudo;

function logrotateRule(i: SetupInput, paths: ServerPaths): string {
  // As root, logrotate needs `su` to rotate as the logs' owner (and to accept a log
  // directory that user can write); as that user already, `su` would be refused.
  const su = privileged(i.facts) ? `su ${i.facts.user} ${i.facts.group}` : '# no su: this rule runs as the owner of the logs';
  const values = { app: i.stage.app, stage: i.stage.stage, log_files: logrotatePath(`${logrotateLocations(i.stage, paths).logDir}/*.log`), su };
  return fillTemplate(i.templates.logrotate, values, { singleLine: true });
}

/**
 * A path as one word of a logrotate rule: in double quotes, so a deploy_to with a space is not
 * two paths (the second rotating and truncating whatever it names). logrotate has no escape
 * inside quotes, so a path holding a double quote is refused.
 */
export function logrotatePath(path: string): string {
  if (path.includes('"')) throw new UsageError(`${JSON.stringify(path)} holds a double quote: a logrotate rule cannot name it (rename deploy_to)`);
  return `"${path}"`;
}

/**
 * A path as a systemd unit setting's value: the whole rest of the line is the path (spaces
 * are fine), but "%" starts a specifier, so it is doubled.
 */
export const systemdPath = (path: string): string => path.replace(/%/g, '%%');

function logrotateActions(i: SetupInput, paths: ServerPaths): Command[] {
  const where = logrotateLocations(i.stage, paths);
  const logrotate = i.facts.programs.logrotate;
  const missing = logrotate ? [] : [report('warn', 'logrotate is not installed on this host: the rule applies once it is (e.g. apt-get install logrotate)')];
  if (privileged(i.facts)) return [ensureFile(where.system, LOGROTATE_VAR, { sudo: needsSudo(i.facts) }), ...missing];
  const rule = ensureFile(where.user, LOGROTATE_VAR);
  if (!logrotate) return [rule, ...missing];
  const run = render(cmd(logrotate, '-s', where.state, where.user));
  if (!i.facts.programs.crontab) return [rule, report('warn', `crontab is not installed: schedule this daily yourself: ${run}`)];
  // cron hands the line to sh, but reads `%` itself (as a newline): escape it
  return [rule, ensureCronLine(`17 4 * * * ${run.replace(/%/g, '\\%')}`, where.user)];
}

const SERVICE = /^[A-Za-z0-9][A-Za-z0-9_.@-]*$/;

function systemdUnit(i: SetupInput, paths: ServerPaths): { service: string; text: string } {
  const vars = { ...i.stage.vars, ...i.host.vars };
  const service = vars.service || i.stage.app;
  if (!SERVICE.test(service)) throw new UsageError(`vars.service: ${JSON.stringify(service)} is not a systemd unit name (letters, digits, ".", "_", "@", "-")`);
  const values = {
    app: i.stage.app,
    stage: i.stage.stage,
    user: i.facts.user,
    current_path: systemdPath(paths.current),
    shared_path: systemdPath(paths.shared),
    start_command: vars.start_command || 'npm start',
  };
  return { service, text: fillTemplate(i.templates.systemd, values, { singleLine: true }) };
}

function systemdActions(i: SetupInput, paths: ServerPaths, service: string): Command[] {
  const systemctl = i.facts.programs.systemctl;
  const enable = cmd('systemctl', 'enable', '--now', service);
  if (!privileged(i.facts)) {
    const file = `${paths.shipDir}/${service}.service`;
    const install = render(and(cmd('cp', file, '/etc/systemd/system/'), cmd('systemctl', 'daemon-reload'), enable));
    return [ensureFile(file, UNIT_VAR), report('note', `not root and no passwordless sudo: as root, run: ${install}`)];
  }
  const file = `/etc/systemd/system/${service}.service`;
  const sudo = needsSudo(i.facts);
  const reload = systemctl && i.facts.systemd ? cmd(...(sudo ? ['sudo', '-n'] : []), systemctl, 'daemon-reload') : undefined;
  const restartWith = i.host.vars.restart_with ?? i.stage.vars.restart_with;
  return [
    ensureFile(file, UNIT_VAR, {
      sudo,
      ...(reload ? { onChange: or(reload, report('warn', 'systemctl daemon-reload failed: run it before starting the unit')) } : {}),
    }),
    ...(i.facts.systemd ? [] : [report('warn', `systemd is not running on this host: ${file} is written, but nothing will start it`)]),
    ...(restartWith === 'systemd' ? [] : [report('note', `enable it once (${render(enable)}) and set vars.restart_with: systemd`)]),
  ];
}

/** Several actions as one step: the first that fails stops the step, with its exit code. */
const all = (actions: Command[]): Command => and(...actions);
