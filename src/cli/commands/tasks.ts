import { listTasks, whereItRuns } from '../../setup/tasks-list.js';
import { table } from '../../ui/table.js';
import { loadStageAndRecipe } from '../config.js';
import { makeRedactor } from '../../ui/redact.js';
import { jsonWriter } from '../../ui/reporter.js';
import type { GlobalOptions } from '../runtime.js';

/** `ship tasks [stage]`: every task of the recipe and deploy.yaml, with its slot, hosts and origin, and the hooks. */
export async function tasksCommand(stageName: string | undefined, flags: GlobalOptions): Promise<void> {
  // Listing tasks needs no secrets: a missing ${VAR} must not stop it.
  const env = new Proxy({ ...process.env }, { get: (t, k) => (typeof k === 'string' ? (t[k] ?? '') : undefined) });
  const { stage, recipe } = await loadStageAndRecipe(stageName, flags.config, process.cwd(), env);
  const { tasks, hooks } = listTasks(stage);
  if (flags.json) {
    const write = jsonWriter({ stage: stage.stage, out: process.stdout, redact: makeRedactor(stage.secretValues) });
    for (const t of tasks) write({ event: 'task', ...t });
    for (const h of hooks) write({ event: 'hook', ...h });
    return;
  }
  const out: string[] = [`stage ${stage.stage}, recipe ${recipe.name}${recipe.desc ? `: ${recipe.desc}` : ''}`, ''];
  if (tasks.length === 0) out.push('no tasks (the base recipe: add some under tasks: in deploy.yaml)');
  else out.push(table([['task', 'slot', 'runs on', 'from', 'description'], ...tasks.map((t) => [t.name, t.slot, whereItRuns(t), t.source, t.desc])]));
  if (hooks.length) out.push('', table([['hook', 'runs'], ...hooks.map((h) => [h.hook, h.runs.join(', ')])]));
  process.stdout.write(`${out.join('\n')}\n`);
}
