/**
 * What `ship setup` does on one host, decided from what the host told us (who we are there,
 * whether sudo works without a password, which programs exist). Pure: the same facts give
 * the same commands, which the unit tests read.
 */
import type { HostConfig, StageConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import type { Recipe } from '../recipes/load.js';
import { APP_ENV_FILE } from '../release/app-env.js';
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

const SETUP_PROGRAMS = ['logrotate', 'crontab', 'systemctl', 'pm2'] as const;

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

/** How long rotated logs are kept and when a log is rotated early: the logrotate rule's settings, from vars. */
export interface LogRotation {
  /** Rotated copies kept (logrotate `rotate`). */
  rotate: number;
  /** Rotated copies older than this are removed (logrotate `maxage`). */
  maxAgeDays: number;
  /** A log bigger than this is rotated at the next run, daily or not (logrotate `maxsize`, e.g. 100M). */
  maxSize: string;
  maxSizeBytes: number;
  compress: boolean;
}

const LOGROTATE_SIZE = /^(\d+)([kMG]?)$/;

export function logRotation(stage: Pick<StageConfig, 'vars'>, host: Pick<HostConfig, 'vars'>): LogRotation {
  const vars = { ...stage.vars, ...host.vars };
  const whole = (name: string, fallback: number) => {
    const text = vars[name]?.trim() || String(fallback);
    if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`vars.${name}: expected a whole number ≥ 1, got ${JSON.stringify(text)}`);
    return Number(text);
  };
  const maxSize = vars.log_max_size?.trim() || '100M';
  const size = LOGROTATE_SIZE.exec(maxSize);
  if (!size) throw new UsageError(`vars.log_max_size: expected a size logrotate reads (e.g. 100M, 500k, 1G), got ${JSON.stringify(maxSize)}`);
  const compress = (vars.log_compress?.trim() || 'true').toLowerCase();
  if (!['true', 'false'].includes(compress)) throw new UsageError(`vars.log_compress: expected true or false, got ${JSON.stringify(compress)}`);
  const unit = { '': 1, k: 1024, M: 1024 ** 2, G: 1024 ** 3 }[size[2] as '' | 'k' | 'M' | 'G'];
  return {
    rotate: whole('log_rotate', 14),
    maxAgeDays: whole('log_maxage', 30),
    maxSize,
    maxSizeBytes: Number(size[1]) * unit,
    compress: compress === 'true',
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
  const restartWith = restartMethod(i);
  if (restartWith === 'systemd' && i.recipe.lineage.includes('node')) {
    const unit = systemdUnit(i, paths);
    env[UNIT_VAR] = unit.text;
    steps.push({ label: 'systemd unit', command: all(systemdActions(i, paths, unit.service)) });
  }
  if (restartWith === 'pm2') steps.push({ label: 'pm2', command: all(pm2Advice(i)) });
  return { steps, env };
}

/** Root, or a user whose sudo needs no password: system-wide files go to /etc. */
const privileged = (f: SetupFacts) => f.uid === 0 || f.sudo;
const needsSudo = (f: SetupFacts) => f.uid !== 0 && f.sudo;

function logrotateRule(i: SetupInput, paths: ServerPaths): string {
  // As root, logrotate needs `su` to rotate as the logs' owner (and to accept a log
  // directory that user can write); as that user already, `su` would be refused.
  const su = privileged(i.facts) ? `su ${i.facts.user} ${i.facts.group}` : '# no su: this rule runs as the owner of the logs';
  const r = logRotation(i.stage, i.host);
  const values = {
    app: i.stage.app,
    stage: i.stage.stage,
    log_files: logrotatePath(`${logrotateLocations(i.stage, paths).logDir}/*.log`),
    su,
    rotate: String(r.rotate),
    maxage: String(r.maxAgeDays),
    maxsize: r.maxSize,
    compress: r.compress ? 'compress' : 'nocompress',
  };
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
  const service = serviceName(i);
  if (!SERVICE.test(service)) throw new UsageError(`vars.service: ${JSON.stringify(service)} is not a systemd unit name (letters, digits, ".", "_", "@", "-")`);
  const values = {
    app: i.stage.app,
    stage: i.stage.stage,
    user: i.facts.user,
    current_path: systemdPath(paths.current),
    shared_path: systemdPath(paths.shared),
    app_env_file: APP_ENV_FILE,
    start_command: vars.start_command || 'npm start',
  };
  return { service, text: fillTemplate(i.templates.systemd, values, { singleLine: true }) };
}

/** The restart method of the recipe's restart task on this host (the restart_with var). */
const restartMethod = (i: SetupInput): string | undefined => i.host.vars.restart_with ?? i.stage.vars.restart_with;

/** The unit's name as the restart task names it (`systemctl restart NAME`). */
const serviceName = (i: SetupInput): string => i.host.vars.service || i.stage.vars.service || i.stage.app;

function systemdActions(i: SetupInput, paths: ServerPaths, service: string): Command[] {
  const systemctl = i.facts.programs.systemctl;
  const enable = cmd('systemctl', 'enable', '--now', service);
  const sudoers = i.facts.uid === 0 ? [] : [sudoersAdvice(i, service)];
  if (!privileged(i.facts)) {
    const file = `${paths.shipDir}/${service}.service`;
    const install = render(and(cmd('cp', file, '/etc/systemd/system/'), cmd('systemctl', 'daemon-reload'), enable));
    return [ensureFile(file, UNIT_VAR), report('note', `not root and no passwordless sudo: as root, run: ${install}`), ...sudoers];
  }
  const file = `/etc/systemd/system/${service}.service`;
  const sudo = needsSudo(i.facts);
  const reload = systemctl && i.facts.systemd ? cmd(...(sudo ? ['sudo', '-n'] : []), systemctl, 'daemon-reload') : undefined;
  return [
    ensureFile(file, UNIT_VAR, {
      sudo,
      ...(reload ? { onChange: or(reload, report('warn', 'systemctl daemon-reload failed: run it before starting the unit')) } : {}),
    }),
    ...(i.facts.systemd ? [] : [report('warn', `systemd is not running on this host: ${file} is written, but nothing will start it`)]),
    report('note', `enable it once: ${render(enable)}`),
    ...sudoers,
  ];
}

/**
 * The deploy runs `sudo -n systemctl restart NAME`: this sudoers line allows exactly that
 * command (sudo compares the program's path and every argument), and nothing else.
 */
export function sudoersLine(user: string, systemctl: string, service: string): string {
  return `${user} ALL=(root) NOPASSWD: ${systemctl} restart ${service}`;
}

function sudoersAdvice(i: SetupInput, service: string): Command {
  const line = sudoersLine(i.facts.user, i.facts.programs.systemctl ?? '/usr/bin/systemctl', service);
  const file = `/etc/sudoers.d/ship-${service}`;
  return report('note', `let ${i.facts.user} restart ${service} and nothing else: as root, run visudo -f ${file} and add: ${line}`);
}

/** pm2 needs no root to run the app; only starting it again after a reboot does (pm2 startup). */
function pm2Advice(i: SetupInput): Command[] {
  const missing = i.facts.programs.pm2 ? [] : [report('warn', 'pm2 is not installed on this host: npm install -g pm2 (the deploy starts the app with it)')];
  const startup = report(
    'note',
    `deploys run pm2 save; for pm2 to start the app again after a reboot, run pm2 startup once as ${i.facts.user} and the command it prints as root`,
  );
  return [...missing, startup];
}

/** Several actions as one step: the first that fails stops the step, with its exit code. */
const all = (actions: Command[]): Command => and(...actions);
