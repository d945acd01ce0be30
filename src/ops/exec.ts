import type { HostConfig, StageConfig } from '../config/types.js';
import { InterruptedError, UsageError } from '../errors.js';
import { APP_ENV_FILE } from '../release/app-env.js';
import { previousGoodRelease } from '../release/choose.js';
import type { ServerPaths } from '../release/paths.js';
import { and, cmd, inDir, raw, redirect, script, seq, test, when, type Command } from '../shell/command.js';
import type { Step } from '../shell/script.js';
import {
  closeFleet,
  hostFacts,
  type HostFacts,
  type HostSelection,
  mapSettled,
  type Member,
  openFleet,
  releaseFleet,
  type RunEnv,
  runOn,
  selectHosts,
  slotTasks,
  stepsFor,
  taskEnv,
  taskRunsOn,
  templateValues,
} from '../engine/index.js';

/**
 * `ship exec`, `ship run` and `ship ssh`: work on the release `current` points at, outside a
 * deploy. exec and run connect to their hosts at once, run one script per host in parallel
 * and report each host as it finishes (a `host:done` event), so output can be shown grouped.
 */

export interface HostOutcome {
  host: string;
  exitCode: number | null; // null: nothing ran there
  ms: number;
  error?: string;
}

/** `ship exec`: one shell command, as the user typed it, in the current release of each host. */
export async function execOnHosts(stage: StageConfig, opts: HostSelection & { command: string }, env: RunEnv): Promise<HostOutcome[]> {
  const selected = selectHosts(stage, opts);
  // the stage's env and SHIP_* facts are exported, as for tasks: `npm run x` sees DATABASE_URL
  return onCurrentReleases(stage, selected, env, undefined, (_m, _values, cwd) => [{ label: 'exec', command: inDir(cwd, script(opts.command)), timeoutMs: 0 }]);
}

/**
 * `ship run`: one task with its before:/after: hooks, alone, on the hosts its roles (and
 * `once`) select, in the current release, holding the stage lock so no deploy moves `current`
 * under it.
 */
export async function runTask(stage: StageConfig, opts: HostSelection & { task: string }, env: RunEnv): Promise<HostOutcome[]> {
  const task = stage.tasks[opts.task];
  if (!task)
    throw new UsageError(`unknown task ${opts.task}`, [], `tasks of this stage: ${Object.keys(stage.tasks).sort().join(', ') || '(none)'} (see ship tasks)`);
  if (task.local) throw new UsageError(`task ${opts.task} is local: true: it runs on this machine during a deploy, and ship run runs tasks on hosts`);
  const tasks = slotTasks(stage, opts.task).filter((t) => !t.local);
  const selected = selectHosts(stage, opts);
  const hosts = selected.filter((h) => taskRunsOn(task, h, selected));
  if (hosts.length === 0) {
    const where = task.roles?.length ? `hosts with role ${task.roles.join(' or ')}` : 'any host';
    throw new UsageError(`task ${opts.task} runs on none of the selected hosts (it runs on ${where}${task.once ? ', once, on the primary' : ''})`);
  }
  const skipped = slotTasks(stage, opts.task)
    .filter((t) => t.local)
    .map((t) => t.name);
  if (skipped.length) env.emit({ event: 'log', level: 'warn', message: `local hook task(s) not run by ship run: ${skipped.join(', ')}` });
  return onCurrentReleases(stage, hosts, env, { command: `run ${opts.task}` }, (m, values, cwd) => stepsFor(tasks, m.host, selected, values, cwd));
}

/** What placeholders and SHIP_* variables hold when working on the current release. */
export function currentFacts(stage: StageConfig, m: Member): HostFacts | undefined {
  const id = m.state.current;
  if (!id) return undefined;
  return hostFacts(stage, m.host, m.paths, id, {
    revision: m.state.releases.find((r) => r.id === id)?.revision ?? '',
    previous: previousGoodRelease(m.state.releases, id),
    address: m.transport.address,
  });
}

async function onCurrentReleases(
  stage: StageConfig,
  hosts: HostConfig[],
  env: RunEnv,
  lock: { command: string } | undefined,
  stepsOf: (m: Member, values: Record<string, string>, cwd: string) => Step[],
): Promise<HostOutcome[]> {
  const { members, token } = await openFleet(stage, hosts, env, lock ? { lock } : {});
  const done = (o: HostOutcome): HostOutcome => {
    env.emit({ event: 'host:done', host: o.host, ok: o.exitCode === 0, exitCode: o.exitCode, ms: o.ms, ...(o.error ? { error: o.error } : {}) });
    return o;
  };
  let outcomes: HostOutcome[];
  try {
    const settled = await mapSettled(members, env.concurrency, async (m): Promise<HostOutcome> => {
      const host = m.host.name;
      const facts = currentFacts(stage, m);
      if (!facts) return done({ host, exitCode: null, ms: 0, error: `no release is current in ${m.paths.root}: deploy first` });
      const t0 = performance.now();
      const r = await runOn(env, {
        host,
        transport: m.transport,
        steps: stepsOf(m, templateValues(stage, m.host, facts), facts.release_path),
        env: taskEnv(stage, m.host, facts),
        ...(env.signal ? { signal: env.signal } : {}),
      });
      return done({ host, exitCode: r.exitCode, ms: Math.round(performance.now() - t0), ...(r.error ? { error: r.error.message } : {}) });
    });
    outcomes = settled.map((s, i) => {
      if (s.status === 'fulfilled') return s.value;
      const why = env.signal?.aborted ? 'interrupted' : env.redact(String((s.reason as Error)?.message ?? s.reason));
      return done({ host: members[i]!.host.name, exitCode: null, ms: 0, error: why });
    });
  } finally {
    // unlocking and closing must happen even after Ctrl-C
    if (lock) await releaseFleet(members, token, env);
    else await closeFleet(members);
  }
  if (env.signal?.aborted) throw new InterruptedError('interrupted: commands still running on the hosts were stopped', outcomes.map(describeOutcome));
  return outcomes;
}

export const describeOutcome = (o: HostOutcome): string =>
  `${o.host}: ${o.exitCode === 0 ? 'ok' : o.exitCode === null ? (o.error ?? 'not run') : `exit ${o.exitCode}`}`;

/**
 * `ship ssh`: the remote command for an interactive shell in the release `current` points
 * at (`cd -P`, so the shell's directory is the release itself and stays on it after the next
 * deploy), with the app's environment as that release runs it (its app env file: the stage's
 * env, secrets included, read on the host, never sent or shown), or in deploy_to with a word
 * of warning when nothing is deployed yet.
 */
export function shellCommand(paths: ServerPaths): Command {
  const warn = redirect(cmd('printf', '%s\\n', `ship: no release is current in ${paths.root} yet: the shell starts there`), { op: '>&2' });
  const appEnv = when(test('-f', APP_ENV_FILE), seq(cmd('set', '-a'), cmd('.', `./${APP_ENV_FILE}`), cmd('set', '+a')));
  return seq(
    when(redirect(cmd('cd', '-P', '--', paths.current), { op: '2>', target: '/dev/null' }), appEnv, and(warn, cmd('cd', '--', paths.root))),
    cmd('exec', raw('"${SHELL:-/bin/sh}"'), '-l'),
  );
}
