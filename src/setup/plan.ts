/**
 * What `ship setup` does on one host, decided from what the host told us (who we are there,
 * whether sudo works without a password, which programs exist). Pure: the same facts give
 * the same commands, which the unit tests read.
 */
import type { HostConfig, StageConfig } from '../config/types.js';
import { UsageError } from '../errors.js';
import type { Recipe } from '../recipes/load.js';
import { serverPaths, type ServerPaths } from '../release/paths.js';
import { and, cmd, script, type Command } from '../shell/command.js';
import { render } from '../shell/render.js';
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
  programs: Record<string, string | undefined>;
}

const SETUP_PROGRAMS = ['logrotate', 'crontab', 'systemctl'] as const;

/** The first round trip of setup: who are we on the host, may we write /etc, what is there. */
export function setupProbe(): Step[] {
  return [
    {
      label: 'whoami',
      command: script(
        [
          `printf 'uid %s\\nuser %s\\ngroup %s\\n' "$(id -u)" "$(id -un)" "$(id -gn)"`,
          `if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then echo 'sudo yes'; fi`,
        ].join('\n'),
      ),
    },
    { label: 'programs', command: findPrograms(SETUP_PROGRAMS) },
  ];
}

export function parseSetupProbe(whoami: string, programs: string): SetupFacts {
  const field = (name: string) => new RegExp(`^${name} (.*)$`, 'm').exec(whoami)?.[1]?.trim() ?? '';
  return { uid: Number(field('uid') || -1), user: field('user'), group: field('group'), sudo: field('sudo') === 'yes', programs: parsePrograms(programs) };
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

export function planSetup(i: SetupInput): Step[] {
  const paths = serverPaths(i.host.deployTo);
  const dirs = [paths.root, paths.releases, paths.shared, paths.shipDir, ...i.stage.shared.dirs.map((d) => `${paths.shared}/${d}`)];
  const steps: Step[] = [
    { label: 'directories', command: all(dirs.map(ensureDir)) },
  ];
  if (i.stage.shared.files.length) {
    steps.push({ label: 'shared files', command: all(i.stage.shared.files.map((f) => ensureEmptyFile(`${paths.shared}/${f}`))) });
  }
  steps.push({ label: 'logrotate', command: all(logrotateActions(i, paths)) });
  if (i.recipe.lineage.includes('node')) steps.push({ label: 'systemd unit', command: all(systemdActions(i, paths)) });
  return steps;
}

/** Root, or a user whose sudo needs no password: system-wide files go to /etc. */
const privileged = (f: SetupFacts) => f.uid === 0 || f.sudo;
const needsSudo = (f: SetupFacts) => f.uid !== 0 && f.sudo;

function logrotateActions(i: SetupInput, paths: ServerPaths): Command[] {
  const where = logrotateLocations(i.stage, paths);
  const logrotate = i.facts.programs.logrotate;
  const rule = (su: string) =>
    fillTemplate(i.templates.logrotate, { app: i.stage.app, stage: i.stage.stage, log_dir: where.logDir, su }, { singleLine: true });
  const missing = logrotate ? [] : [report('warn', 'logrotate is not installed on this host: the rule applies once it is (e.g. apt-get install logrotate)')];
  if (privileged(i.facts)) {
    // logrotate runs as root there: `su` makes it rotate as the logs' owner, and stops it
    // refusing a log directory that a non-root user can write.
    return [ensureFile(where.system, rule(`su ${i.facts.user} ${i.facts.group}`), { sudo: needsSudo(i.facts) }), ...missing];
  }
  const actions = [ensureFile(where.user, rule('# no su: this rule runs as the owner of the logs'))];
  if (!logrotate) return [...actions, ...missing];
  if (!i.facts.programs.crontab) {
    return [...actions, report('warn', `crontab is not installed: schedule this daily yourself: ${render(cmd(logrotate, '-s', where.state, where.user))}`)];
  }
  // cron hands the line to sh, but reads `%` itself (as a newline): escape it
  const line = `17 4 * * * ${render(cmd(logrotate, '-s', where.state, where.user)).replace(/%/g, '\\%')}`;
  return [...actions, ensureCronLine(line, where.user)];
}

const SERVICE = /^[A-Za-z0-9][A-Za-z0-9_.@-]*$/;

function systemdActions(i: SetupInput, paths: ServerPaths): Command[] {
  const vars = { ...i.stage.vars, ...i.host.vars };
  const service = vars.service || i.stage.app;
  if (!SERVICE.test(service)) throw new UsageError(`vars.service: ${JSON.stringify(service)} is not a systemd unit name (letters, digits, ".", "_", "@", "-")`);
  const unit = fillTemplate(
    i.templates.systemd,
    {
      app: i.stage.app,
      stage: i.stage.stage,
      user: i.facts.user,
      current_path: paths.current,
      shared_path: paths.shared,
      start_command: vars.start_command || 'npm start',
    },
    { singleLine: true },
  );
  const systemctl = i.facts.programs.systemctl;
  if (privileged(i.facts)) {
    const sudo = needsSudo(i.facts);
    const reload = systemctl ? (sudo ? cmd('sudo', '-n', systemctl, 'daemon-reload') : cmd(systemctl, 'daemon-reload')) : undefined;
    const file = `/etc/systemd/system/${service}.service`;
    return [
      ensureFile(file, unit, { sudo, ...(reload ? { onChange: reload } : {}) }),
      ...(vars.restart_with === 'systemd' ? [] : [report('note', `${file}: enable it once (systemctl enable --now ${service}) and set vars.restart_with: systemd`)]),
    ];
  }
  const file = `${paths.shipDir}/${service}.service`;
  const install = `cp ${file} /etc/systemd/system/ && systemctl daemon-reload && systemctl enable --now ${service}`;
  return [ensureFile(file, unit), report('note', `not root and no passwordless sudo: as root, run: ${install}`)];
}

/** Several actions as one step: the first that fails stops the step, with its exit code. */
const all = (actions: Command[]): Command => and(...actions);
