import type { TemplateName } from '../config/schema.js';
import type { HostConfig, StageConfig, TaskDef } from '../config/types.js';
import { UsageError } from '../errors.js';
import { and, cmd, redirect, script, seq, subshell, when, type Command } from '../shell/command.js';
import type { Step, StepKind } from '../shell/script.js';
import { interpolateShell, interpolateText, TemplateError } from '../shell/template.js';
import type { ServerPaths } from '../release/paths.js';
import { primaryFor } from './select.js';

/**
 * Facts of one deploy on one host: what `{{name}}` placeholders and SHIP_* variables hold.
 * Its keys are the template names ship fills itself (the config refuses `vars:` of those names).
 */
export type HostFacts = Record<TemplateName, string>;

/** The facts of `release` on one host; revision and branch as known to the caller. */
export function hostFacts(
  stage: StageConfig,
  host: HostConfig,
  paths: ServerPaths,
  release: string,
  o: { revision: string; branch?: string; previous: string | undefined; address?: string | undefined },
): HostFacts {
  return {
    app: stage.app,
    stage: stage.stage,
    host: host.name,
    release,
    release_path: paths.release(release),
    current_path: paths.current,
    shared_path: paths.shared,
    backup_path: `${paths.shared}/backups`,
    deploy_to: paths.root,
    revision: o.revision,
    branch: o.branch ?? '',
    previous_release: o.previous ?? '',
    address: o.address ?? host.name,
  };
}

export function templateValues(stage: StageConfig, host: HostConfig, facts: HostFacts): Record<string, string> {
  // built-in facts win over vars of the same name, so {{release}} always means the release;
  // a var may itself use the facts and other vars (one level: what it names is filled as written)
  const vars = { ...stage.vars, ...host.vars };
  const plain = { ...vars, ...facts };
  const filled = Object.fromEntries(Object.entries(vars).map(([name, value]) => [name, interpolateText(value, plain)]));
  return { ...filled, ...facts };
}

/** Environment of every task: the configured env, then SHIP_* facts. */
export function taskEnv(stage: StageConfig, host: HostConfig, facts: HostFacts): Record<string, string> {
  const ship = Object.fromEntries(Object.entries(facts).map(([k, v]) => [`SHIP_${k.toUpperCase()}`, v]));
  return { ...stage.env, ...host.env, ...ship };
}

/** Whether a task runs on this host: its roles, and `once` = only on the primary of those roles. */
export function taskRunsOn(task: TaskDef, host: HostConfig, selected: HostConfig[]): boolean {
  if (task.local) return false;
  if (task.roles?.length && !host.roles.some((r) => task.roles!.includes(r))) return false;
  if (task.once) return primaryFor(selected, task.roles)?.name === host.name;
  return true;
}

function taskLines(task: TaskDef, values: Record<string, string>): string[] {
  try {
    return task.run.map((r) => interpolateShell(r, values));
  } catch (e) {
    if (e instanceof TemplateError) throw new UsageError(`task ${task.name} (${task.source}): ${e.message}`);
    throw e;
  }
}

/**
 * A task's commands, filled for this host, run in `cwd` with `set -e`: like a CI `run:`
 * block, a multi-line command stops at its first failing line instead of carrying on.
 */
function wrapTask(task: TaskDef, values: Record<string, string>, lines: string[], cwd: string): Command {
  const body = subshell(seq(cmd('set', '-e'), cmd('cd', '--', cwd), ...lines.map(script)));
  return task.whenChanged?.length ? skipWhenUnchanged(task, values, body) : body;
}

/** The exit code of a task that `when_changed` skipped: the step counts as done, and as skipped. */
export const SKIPPED = 79;

/**
 * `when_changed`: run the task only when one of the paths differs between the release being
 * published and the one that is current (always on a first deploy, or when a path is absent).
 */
function skipWhenUnchanged(task: TaskDef, values: Record<string, string>, body: Command): Command {
  const prev = values.previous_release;
  if (!prev || !values.deploy_to) return body;
  const prevPath = `${values.deploy_to}/releases/${prev}`;
  const same = and(
    ...task.whenChanged!.map((p) =>
      redirect(cmd('diff', '-r', '-q', '--', `${prevPath}/${p}`, `${values.release_path}/${p}`), { op: '>', target: '/dev/null' }, { op: '2>&1' }),
    ),
  );
  return when(
    same,
    seq(cmd('echo', `${task.name} skipped: nothing changed in ${task.whenChanged!.join(', ')} since ${prev}`), cmd('exit', String(SKIPPED))),
    body,
  );
}

/** The tasks a hook key (`before:build`, `after:publish`) names, in order; task names resolved. */
export function hookTasks(stage: StageConfig, key: string): TaskDef[] {
  const out: TaskDef[] = [];
  for (const hook of stage.hooks[key] ?? []) {
    const t = 'task' in hook ? stage.tasks[hook.task] : hook.inline;
    if (t) out.push(t);
  }
  return out;
}

/** The tasks of a slot with its hooks: before:slot, the slot's task, after:slot. */
export function slotTasks(stage: StageConfig, slot: string): TaskDef[] {
  const main = stage.tasks[slot];
  return [...hookTasks(stage, `before:${slot}`), ...(main ? [main] : []), ...hookTasks(stage, `after:${slot}`)];
}

/** Steps for tasks on one host: those whose roles (and `once`) select it, filled for it. */
export function stepsFor(tasks: TaskDef[], host: HostConfig, selected: HostConfig[], values: Record<string, string>, cwd: string): Step[] {
  return tasks.filter((t) => taskRunsOn(t, host, selected)).map((t) => taskStep(t, values, cwd));
}

/** One task as a step: a `when_changed` task may end as skipped. */
export function taskStep(task: TaskDef, values: Record<string, string>, cwd: string, kind?: StepKind): Step {
  const lines = taskLines(task, values);
  return {
    label: task.name,
    command: wrapTask(task, values, lines, cwd),
    display: lines.join('\n'),
    ...(kind ? { kind } : {}),
    ...(task.whenChanged?.length ? { skipCode: SKIPPED } : {}),
    // a task runs as long as it needs unless it says otherwise (builds can be long)
    timeoutMs: task.timeoutMs ?? 0,
  };
}

/** Whether any task of a slot (or its hooks) runs on this host: known before any fact of it. */
export function slotRunsOn(slot: string, stage: StageConfig, host: HostConfig, selected: HostConfig[]): boolean {
  return slotTasks(stage, slot).some((t) => taskRunsOn(t, host, selected));
}

/**
 * The steps of a slot (build, migrate, restart...) on one host, with its before:/after: hooks
 * that name tasks or are inline tasks. Empty when nothing of it runs here. Local tasks are not
 * steps: they run once on the deploying machine, with the hooks.
 */
export function slotSteps(slot: string, stage: StageConfig, host: HostConfig, selected: HostConfig[], values: Record<string, string>, cwd: string): Step[] {
  const main = stage.tasks[slot];
  // the migration itself is the step the deploy reads (did it run?); its hooks are not
  return slotTasks(stage, slot)
    .filter((t) => taskRunsOn(t, host, selected))
    .map((t) => taskStep(t, values, cwd, slot === 'migrate' && t === main ? 'migrate' : undefined));
}
