/** Rules about tasks and hooks: hooks name tasks and steps that exist, roles that some host has. */
import type { Loose } from '../dsl.js';
import type { Path } from '../positions.js';
import { PHASES, PROTOCOL_SLOTS } from '../protocol.js';
import type { RawHookEntry, RawTask } from '../schema.js';
import { didYouMean, knownAndClosest } from '../suggest.js';
import { definedKeys, hostsOf, stagesOf, type LooseConfig, type LooseStage, type Rule, type RuleContext } from './context.js';

export const rolesExist: Rule = (ctx) => {
  const known = new Set<string>();
  for (const [stageName, stage] of stagesOf(ctx.raw)) {
    for (const host of hostsOf(stageName, stage)) for (const r of host.roles) known.add(r);
  }
  if (known.size === 0) return; // no usable host at all: already reported
  const checkRoles = (roles: readonly (string | undefined)[] | undefined, path: Path): void => {
    roles?.forEach((role, index) => {
      if (role === undefined || known.has(role)) return;
      ctx.report([...path, index], `no host of any stage has role ${JSON.stringify(role)}${knownAndClosest(role, [...known], 'roles in use')}`);
    });
  };
  for (const [base, holder] of taskHolders(ctx.raw)) {
    for (const [name, task] of Object.entries(holder.tasks ?? {})) {
      if (isTaskObject(task)) checkRoles(task.roles, [...base, 'tasks', name, 'roles']);
    }
    for (const [key, entries] of Object.entries(holder.hooks ?? {})) {
      entries?.forEach((entry, index) => {
        if (isTaskObject(entry)) checkRoles(entry.roles, [...base, 'hooks', key, index, 'roles']);
      });
    }
  }
};

/** Hook keys name a task or a deploy step; string entries name a task. */
export const hooksNameKnownTasks: Rule = (ctx) => {
  const stages = stagesOf(ctx.raw);
  const topTasks = definedKeys(ctx.raw.tasks);
  const tasksIn = (stage: LooseStage | undefined): string[] | undefined => {
    const recipe = stage?.recipe ?? ctx.raw.recipe ?? 'base';
    const fromRecipe = ctx.recipeTasks(recipe);
    return fromRecipe && [...fromRecipe, ...topTasks, ...definedKeys(stage?.tasks)];
  };
  // Top-level hooks apply to every stage: a name must exist in each (or, with no stage, at the top).
  const scopes: { name?: string; tasks: string[] }[] = stages.length
    ? stages.flatMap(([name, stage]) => {
        const tasks = tasksIn(stage);
        return tasks ? [{ name, tasks }] : [];
      })
    : [{ tasks: tasksIn(undefined) ?? [] }];
  checkHooks(ctx, ctx.raw.hooks, ['hooks'], scopes);
  for (const [name, stage] of stages) {
    const tasks = tasksIn(stage);
    if (tasks) checkHooks(ctx, stage.hooks, ['stages', name, 'hooks'], [{ name, tasks }]);
  }
};

function checkHooks(
  ctx: RuleContext,
  hooks: Loose<Record<string, RawHookEntry[]>> | undefined,
  path: Path,
  scopes: { name?: string; tasks: string[] }[],
): void {
  if (scopes.length === 0) return;
  for (const [key, entries] of Object.entries(hooks ?? {})) {
    const target = /^(?:before|after):(.+)$/.exec(key)?.[1];
    if (target === undefined) continue; // a malformed key: already reported
    const wrongKey = unknownIn(target, scopes, PHASES, 'task or deploy step');
    if (wrongKey) ctx.report([...path, key], wrongKey, 'key');
    entries?.forEach((entry, index) => {
      if (typeof entry !== 'string') return;
      const wrong = unknownIn(entry, scopes, PROTOCOL_SLOTS, 'task');
      if (!wrong) return;
      const command = /[\s/]/.test(entry) ? ` (to run a command here, write { run: ${JSON.stringify(entry)} })` : '';
      ctx.report([...path, key, index], `${wrong}${command}`);
    });
  }
}

function unknownIn(name: string, scopes: { name?: string; tasks: string[] }[], builtIn: readonly string[], what: string): string | undefined {
  const missing = scopes.filter((scope) => !scope.tasks.includes(name) && !builtIn.includes(name));
  if (missing.length === 0) return undefined;
  if (missing.length < scopes.length) {
    const names = missing.map((s) => JSON.stringify(s.name)).join(', ');
    return `task ${JSON.stringify(name)} is not defined in stage${missing.length > 1 ? 's' : ''} ${names}`;
  }
  const candidates = new Set([...scopes.flatMap((s) => s.tasks), ...builtIn]);
  return `unknown ${what} ${JSON.stringify(name)}${didYouMean(name, candidates)}`;
}

/** The top level and each stage: the places that may hold tasks and hooks. */
function taskHolders(raw: LooseConfig): [Path, Pick<LooseStage, 'tasks' | 'hooks'>][] {
  return [[[], raw], ...stagesOf(raw).map(([name, stage]): [Path, LooseStage] => [['stages', name], stage])];
}

function isTaskObject(task: Loose<RawTask> | Loose<RawHookEntry> | undefined): task is { roles?: (string | undefined)[] } {
  return typeof task === 'object' && task !== null && !Array.isArray(task);
}
