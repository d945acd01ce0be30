/** Tasks and hooks of deploy.yaml as TaskDef / HookEntry values. */
import { ONCE_SLOTS } from './protocol.js';
import type { RawHookEntry, RawTask } from './schema.js';
import type { HookEntry, TaskDef } from './types.js';

/**
 * One task as written: a string, a list of commands, or a map. `once` is false unless the
 * task is a once-only slot (backup, migrate): those run once on the primary unless the task
 * says `once: false` itself, so overriding the recipe's migrate with a plain string cannot make
 * it run on every host.
 */
export function taskDef(name: string, raw: RawTask, source = 'config'): TaskDef {
  const once = ONCE_SLOTS.has(name);
  if (typeof raw === 'string') return { name, run: [raw], once, local: false, source };
  if (Array.isArray(raw)) return { name, run: [...raw], once, local: false, source };
  return {
    name,
    run: typeof raw.run === 'string' ? [raw.run] : [...raw.run],
    ...(raw.roles ? { roles: [...raw.roles] } : {}),
    once: raw.once ?? once,
    local: raw.local ?? false,
    ...(raw.desc !== undefined ? { desc: raw.desc } : {}),
    ...(raw.when_changed !== undefined ? { whenChanged: typeof raw.when_changed === 'string' ? [raw.when_changed] : [...raw.when_changed] } : {}),
    ...(raw.timeout !== undefined ? { timeoutMs: raw.timeout } : {}),
    source,
  };
}

/** Recipe tasks, overridden by name by top-level tasks, overridden by the stage's. */
export function mergeTasks(recipe: Readonly<Record<string, TaskDef>>, ...layers: (Record<string, RawTask> | undefined)[]): Record<string, TaskDef> {
  const tasks: Record<string, TaskDef> = { ...recipe };
  for (const layer of layers) {
    for (const [name, raw] of Object.entries(layer ?? {})) tasks[name] = taskDef(name, raw);
  }
  return tasks;
}

/** A stage's hooks replace top-level ones by key; both come after the recipe's for a key. */
export function mergeHooks(
  recipe: Readonly<Record<string, HookEntry[]>>,
  ...layers: (Record<string, RawHookEntry[]> | undefined)[]
): Record<string, HookEntry[]> {
  const config: Record<string, RawHookEntry[]> = Object.assign({}, ...layers.map((l) => l ?? {}));
  const hooks: Record<string, HookEntry[]> = {};
  for (const [key, entries] of Object.entries(recipe)) hooks[key] = [...entries];
  for (const [key, entries] of Object.entries(config)) {
    const own = entries.map((entry, index): HookEntry => (typeof entry === 'string' ? { task: entry } : { inline: taskDef(`${key}[${index}]`, entry) }));
    hooks[key] = [...(hooks[key] ?? []), ...own];
  }
  return hooks;
}
