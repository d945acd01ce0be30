/**
 * The steps of the deploy protocol, in the order a deploy runs them: one table from which the
 * config schema learns which names hooks may attach to, and the deploy learns where it runs
 * hooks. `hooks` lists where hooks around a step run; a step without them may be named by a
 * hook key (it is a step of the protocol) but ship warns that such a hook does not run.
 * `task` marks the names a hook may run as a task even when no recipe or deploy.yaml defines
 * one (the protocol's slots and phases). `once` marks the slots that run on the primary alone.
 */
export const PROTOCOL = [
  { step: 'deploy', hooks: ['before', 'after'], task: true },
  { step: 'connect', hooks: [], task: false },
  { step: 'lock', hooks: [], task: false },
  { step: 'prepare', hooks: [], task: false },
  { step: 'update', hooks: [], task: false },
  { step: 'build', hooks: ['before', 'after'], task: true },
  { step: 'backup', hooks: ['before', 'after'], task: true, once: true },
  { step: 'migrate', hooks: ['before', 'after'], task: true, once: true },
  { step: 'publish', hooks: ['before', 'after'], task: true },
  { step: 'restart', hooks: ['before', 'after'], task: true },
  { step: 'health', hooks: [], task: false },
  { step: 'finish', hooks: [], task: false },
  { step: 'rollback', hooks: ['before', 'after'], task: true },
  { step: 'failure', hooks: ['after'], task: true },
] as const satisfies readonly { step: string; hooks: readonly ('before' | 'after')[]; task: boolean; once?: boolean }[];

/** Steps of the deploy protocol: what `before:<name>` / `after:<name>` hooks may name. */
export const PHASES = PROTOCOL.map((p) => p.step);

/** Task names a hook may run even when neither the recipe nor deploy.yaml defines them. */
export const PROTOCOL_SLOTS = PROTOCOL.filter((p) => p.task).map((p) => p.step);

/**
 * Once-only slots: work on shared state (the database), run on the primary alone. A task that
 * fills one runs once unless it says `once: false` itself, however it is written.
 */
export const ONCE_SLOTS: ReadonlySet<string> = new Set(PROTOCOL.flatMap((p) => ('once' in p && p.once ? [p.step] : [])));

/** The hook keys ship runs: `before:build`, `after:publish`, `after:failure`... */
export const HOOK_POINTS: ReadonlySet<string> = new Set(PROTOCOL.flatMap((p) => p.hooks.map((when) => `${when}:${p.step}`)));

/** The hook points in words: "before/after deploy, build, ..., and after:failure". */
export function describeHookPoints(): string {
  const both = PROTOCOL.filter((p) => p.hooks.length === 2).map((p) => p.step);
  const one = PROTOCOL.filter((p) => p.hooks.length === 1).map((p) => `${p.hooks[0]}:${p.step}`);
  return `before/after ${both.join(', ')}${one.length ? `, and ${one.join(', ')}` : ''}`;
}
