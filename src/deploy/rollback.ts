import type { StageConfig } from '../config/types.js';
import { DeployError, RollbackFailedError, UsageError } from '../errors.js';
import { planFleetRollback } from '../release/choose.js';
import { appendHistory } from '../release/history.js';
import { isReleaseId } from '../release/id.js';
import { releaseLock } from '../release/lock.js';
import { markFailed } from '../release/prepare.js';
import { closeFleet, openFleet, releaseLocks, runOnEach, unlockWhereFailed, type Member, type RunEnv } from './fleet.js';
import { runHooks, type HookContext } from './hooks.js';
import { switchHosts, type SwitchTarget } from './publish.js';
import { planWaves } from './rollout.js';
import { selectHosts } from './select.js';
import { hostFacts } from './tasks.js';

export interface RollbackOptions {
  to?: string;
  hosts?: string[];
  roles?: string[];
}

export interface RollbackResult {
  release: string;
  current: Record<string, string | null>;
  warnings: string[];
}

/**
 * `ship rollback`: every host to one target release (the previous good one, or --to), with
 * the publish step of a deploy (swap, restart, health). Refuses, changing nothing, when any
 * host lacks the target. The releases left are marked failed so no later rollback picks them.
 */
export async function rollback(stage: StageConfig, opts: RollbackOptions, env: RunEnv): Promise<RollbackResult> {
  if (opts.to !== undefined && !isReleaseId(opts.to)) throw new UsageError(`--to ${opts.to}: a release id is 14 digits, like 20261122021500 (see ship releases ${stage.stage})`);
  const selected = selectHosts(stage, { ...(opts.hosts ? { hosts: opts.hosts } : {}), ...(opts.roles ? { roles: opts.roles } : {}) });
  const started = env.clock.now();
  const { members, token } = await openFleet(stage, selected, env, { command: 'rollback' });
  const calm: RunEnv = { ...env, signal: undefined };
  const plan = planFleetRollback(members.map((m) => m.state), opts.to);
  if (!plan.ok) {
    await releaseLocks(members, token, calm);
    await closeFleet(members);
    throw new DeployError(`rollback refused: ${plan.reason}`, plan.details, `see ship releases ${stage.stage}`);
  }
  const target = plan.target;
  env.emit({ event: 'rollback:start', hosts: members.map((m) => m.host.name), target });
  const warnings = [...plan.warnings];
  if (plan.differing.length) warnings.push(`hosts were on different releases before the rollback: ${plan.differing.map((h) => `${h} (${plan.from[h] ?? 'none'})`).join(', ')}; all will be on ${target}`);
  const crossed = new Set<string>();
  for (const m of members) for (const id of m.state.migrated) if (id > target && m.state.current && id <= m.state.current) crossed.add(id);
  if (crossed.size) warnings.push(`release(s) ${[...crossed].sort().join(', ')} ran database migrations: the database was NOT rolled back`);
  for (const w of warnings) env.emit({ event: 'log', level: 'warn', message: w });

  const current: Record<string, string | null> = Object.fromEntries(members.map((m) => [m.host.name, m.state.current ?? null]));
  const targetOf = (m: Member): SwitchTarget => ({
    member: m,
    release: target,
    facts: hostFacts(stage, m.host, m.paths, target, {
      revision: m.state.releases.find((r) => r.id === target)?.revision ?? '',
      previous: m.state.current,
    }),
  });
  const hookCtx = (e: RunEnv, result?: string): HookContext => ({
    stage,
    selected,
    members,
    env: e,
    facts: (m) => targetOf(m).facts,
    cwd: (m) => m.paths.current,
    ...(result ? { result } : {}),
  });
  const before = await runHooks('before:rollback', hookCtx(env));
  if (before.length) {
    await releaseLocks(members, token, calm);
    await closeFleet(members);
    throw new DeployError('rollback refused: the before:rollback hook failed; nothing was changed', before);
  }
  const failures: string[] = [];
  const moving = members.filter((m) => m.state.current !== target);
  for (const [w, wave] of planWaves(moving.length, stage.rollout).entries()) {
    const outcomes = await switchHosts(stage, selected, wave.map((i) => targetOf(moving[i]!)), env, { wave: w + 1, checkHealth: true });
    outcomes.forEach((o) => {
      const m = moving.find((x) => x.host.name === o.host)!;
      if (o.swapped) current[o.host] = target;
      env.emit({ event: 'rollback', host: o.host, to: target, ...(m.state.current ? { from: m.state.current } : {}), ok: o.ok, ...(o.detail ? { reason: o.detail } : {}) });
      if (!o.ok) failures.push(o.detail ?? `${o.host}: failed`);
    });
    if (failures.length) break;
  }
  const ok = failures.length === 0;
  for (const key of ok ? ['after:rollback'] : ['after:rollback', 'after:failure']) {
    for (const f of await runHooks(key, hookCtx(calm, ok ? 'rolled-back' : 'failed'))) env.emit({ event: 'log', level: 'warn', message: `${key} hook failed: ${f}` });
  }
  const recorded = await runOnEach(members, calm, (m) => [
    // the release we left is never a rollback target again
    ...(ok && m.state.current && m.state.current !== target ? [{ label: 'mark failed', command: markFailed(m.paths, m.state.current) }] : []),
    {
      label: 'history',
      command: appendHistory(m.paths, {
        action: 'rollback',
        release: target,
        ...(m.state.releases.find((r) => r.id === target)?.revision ? { revision: m.state.releases.find((r) => r.id === target)!.revision! } : {}),
        ...(m.state.current ? { previous: m.state.current } : {}),
        user: env.operator.user,
        ...(env.operator.ci ? { ci: env.operator.ci } : {}),
        started: started.toISOString(),
        finished: env.clock.now().toISOString(),
        result: ok ? 'deployed' : 'failed',
        host: m.host.name,
      }),
    },
    { label: 'unlock', command: releaseLock(m.paths, token) },
  ]);
  await unlockWhereFailed(members, recorded, token, calm);
  await closeFleet(members);
  if (!ok) {
    throw new RollbackFailedError(
      `rollback to ${target} failed on ${failures.length} host(s): hosts may differ`,
      [...failures, ...Object.entries(current).map(([h, c]) => `${h}: current = ${c ?? '(none)'}`)],
      `fix the failing host(s), then run ship rollback ${stage.stage} --to <id> again`,
    );
  }
  return { release: target, current, warnings };
}
