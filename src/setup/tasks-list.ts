/** `ship tasks`: every task of a stage (recipe and deploy.yaml merged), and its hooks. Pure. */
import type { HookEntry, StageConfig } from '../config/types.js';

/** The protocol slots a task can fill, in the order a deploy runs them. */
export const SLOTS = ['build', 'backup', 'migrate', 'restart'] as const;

export interface TaskRow {
  name: string;
  slot: string; // one of SLOTS, or '-' for a task that only hooks or `ship run` start
  roles: string[]; // empty: every host
  once: boolean;
  local: boolean;
  source: string; // "recipe:<name>" or "config"
  desc: string;
  commands: number;
}

export interface HookRow {
  hook: string; // "after:publish"
  runs: string[]; // task names, or "{ run: ... }" for inline tasks
}

export function listTasks(stage: StageConfig): { tasks: TaskRow[]; hooks: HookRow[] } {
  const rank = (name: string) => {
    const i = (SLOTS as readonly string[]).indexOf(name);
    return i < 0 ? SLOTS.length : i;
  };
  const tasks = Object.values(stage.tasks)
    .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name))
    .map(
      (t): TaskRow => ({
        name: t.name,
        slot: rank(t.name) < SLOTS.length ? t.name : '-',
        roles: t.roles ?? [],
        once: t.once,
        local: t.local,
        source: t.source,
        desc: t.desc ?? (t.run.length === 0 ? '(turned off: run is empty)' : firstLine(t.run[0]!)),
        commands: t.run.length,
      }),
    );
  const builtin = builtinBackupRow(stage);
  if (builtin) {
    const after = tasks.findIndex((t) => rank(t.name) > rank('backup'));
    tasks.splice(after < 0 ? tasks.length : after, 0, builtin);
  }
  const hooks = Object.entries(stage.hooks)
    .filter(([, entries]) => entries.length > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([hook, entries]): HookRow => ({ hook, runs: entries.map(describeEntry) }));
  return { tasks, hooks };
}

/** The backup `vars.database` turns on, when deploy.yaml has no backup task of its own. */
function builtinBackupRow(stage: StageConfig): TaskRow | undefined {
  const kind = stage.vars.database?.trim();
  if (stage.tasks.backup || !kind || kind === 'none') return undefined;
  const how = kind === 'postgres' ? 'pg_dump -Fc' : kind === 'sqlite' ? 'sqlite3 .backup' : kind;
  const db = stage.hosts.some((h) => h.roles.includes('db'));
  return {
    name: 'backup',
    slot: 'backup',
    roles: db ? ['db'] : [],
    once: true,
    local: false,
    source: `built-in:${kind}`,
    desc: `${how} into shared/backups (vars.database)`,
    commands: 1,
  };
}

const firstLine = (command: string) => {
  const line = command.trim().split('\n')[0] ?? '';
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
};

function describeEntry(e: HookEntry): string {
  if ('task' in e) return e.task;
  return `${e.inline.local ? 'local ' : ''}{ run: ${firstLine(e.inline.run[0] ?? '')} }`;
}

/** "every host", "db, once", "here, once": where and how often a task runs. */
export function whereItRuns(t: Pick<TaskRow, 'roles' | 'once' | 'local'>): string {
  if (t.local) return 'here (local), once';
  const hosts = t.roles.length ? `roles ${t.roles.join(', ')}` : 'every host';
  return t.once ? `${hosts}, once (primary)` : hosts;
}
