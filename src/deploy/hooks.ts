import { describeHookPoints, HOOK_POINTS } from '../config/protocol.js';
import type { HostConfig, StageConfig, TaskDef } from '../config/types.js';
import {
  describeFailures,
  hookTasks,
  type HostFacts,
  type Member,
  type RunEnv,
  runOn,
  runOnEach,
  slotTasks,
  stepsFor,
  taskEnv,
  taskStep,
  templateValues,
} from '../engine/index.js';

/** What hooks need to know about a run: its hosts and the facts of each. */
export interface HookContext {
  stage: StageConfig;
  selected: HostConfig[];
  members: Member[];
  env: RunEnv;
  facts: (m: Member) => HostFacts;
  /** Where remote hook tasks run: the new release during a deploy, `current` otherwise. */
  cwd: (m: Member) => string;
  /** SHIP_RESULT for after:deploy / after:failure / after:rollback hooks. */
  result?: string;
}

/**
 * Runs the hook entries of `key` (e.g. `after:publish`): remote tasks on the hosts their roles
 * select, in one script per host, then local tasks once on this machine, in order. Returns one
 * line per failure (empty when all passed); the caller decides whether a failure is fatal.
 */
export async function runHooks(key: string, ctx: HookContext): Promise<string[]> {
  const tasks = hookTasks(ctx.stage, key);
  if (tasks.length === 0) return [];
  return runTasks(tasks, ctx, key);
}

/** Runs tasks (remote on their hosts, then local ones here). Returns failure lines. */
export async function runTasks(tasks: TaskDef[], ctx: HookContext, label: string): Promise<string[]> {
  const failures: string[] = [];
  const remote = tasks.filter((t) => !t.local);
  if (remote.length && ctx.members.length) {
    ctx.env.emit({ event: 'phase', phase: label });
    const outcomes = await runOnEach(
      ctx.members,
      ctx.env,
      (m) => stepsFor(remote, m.host, ctx.selected, templateValues(ctx.stage, m.host, ctx.facts(m)), ctx.cwd(m)),
      (m) => ({ ...taskEnv(ctx.stage, m.host, ctx.facts(m)), ...(ctx.result ? { SHIP_RESULT: ctx.result } : {}) }),
    );
    failures.push(...describeFailures(ctx.members, outcomes));
  }
  const local = tasks.filter((t) => t.local);
  if (local.length) failures.push(...(await runLocalTasks(local, ctx, label)));
  return failures;
}

/**
 * `local: true` tasks run once, here, in the config's directory, with the deploy's facts in
 * SHIP_* variables (the first host's facts stand for the fleet: one release id, one sha).
 */
async function runLocalTasks(tasks: TaskDef[], ctx: HookContext, label: string): Promise<string[]> {
  const transport = ctx.env.localTransport;
  if (!transport) return [`${label}: local tasks need a local transport (none configured)`];
  const first = ctx.members[0];
  const facts: HostFacts | undefined = first && { ...ctx.facts(first), host: 'local' };
  const values = { ...ctx.stage.vars, ...(facts ?? {}), app: ctx.stage.app, stage: ctx.stage.stage, user: ctx.env.operator.user };
  const env = {
    ...ctx.stage.env,
    ...Object.fromEntries(
      Object.entries(values)
        .filter(([k]) => facts && k in facts)
        .map(([k, v]) => [`SHIP_${k.toUpperCase()}`, v]),
    ),
    SHIP_APP: ctx.stage.app,
    SHIP_STAGE: ctx.stage.stage,
    SHIP_USER: ctx.env.operator.user,
    SHIP_HOSTS: ctx.members.map((m) => m.host.name).join(','),
    ...(ctx.result ? { SHIP_RESULT: ctx.result } : {}),
  };
  // one script, in order: a local task often depends on the one before (build, then upload)
  try {
    const r = await runOn(ctx.env, {
      host: 'local',
      transport,
      steps: tasks.map((t) => taskStep(t, values, ctx.stage.configDir)),
      env,
      ...(ctx.env.signal ? { signal: ctx.env.signal } : {}),
    });
    return r.ok ? [] : [r.error?.message ?? `${label} failed locally (exit ${r.exitCode})`];
  } catch (e) {
    return [`${label} failed locally: ${ctx.env.redact(String((e as Error).message ?? e))}`];
  }
}

/** Hooks and local tasks ship would not run, reported as warnings rather than skipped silently. */
export function unsupportedHooks(stage: StageConfig): string[] {
  const out: string[] = [];
  for (const key of Object.keys(stage.hooks)) {
    if (!HOOK_POINTS.has(key)) out.push(`hook ${key} is not run by ship (hooks run ${describeHookPoints()})`);
  }
  for (const t of slotTasks(stage, 'restart')) {
    if (t.local) out.push(`task ${t.name} is local: true around restart, which runs per host: it is not run`);
  }
  return out;
}

/** Hooks that run once the outcome is known never change it: their failures are warnings. */
export async function warnOnFailure(key: string, ctx: HookContext): Promise<void> {
  for (const f of await runHooks(key, ctx)) ctx.env.emit({ event: 'log', level: 'warn', message: `${key} hook failed: ${f}` });
}
