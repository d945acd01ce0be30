import { appHosts, balancerFor, type Balancer } from '../balancer/balancer.js';
import type { HostConfig, StageConfig } from '../config/types.js';
import {
  calm,
  closeFleet,
  hostFacts,
  type HostSelection,
  type Member,
  openFleet,
  releaseFleet,
  type RunEnv,
  runOnEach,
  selectHosts,
  unlockWhereFailed,
} from '../engine/index.js';
import { DeployError, RollbackFailedError, RolledBackError, type ShipError, UsageError } from '../errors.js';
import { planFleetRollback } from '../release/choose.js';
import { appendHistory, type HistoryEntry, type HistoryResult } from '../release/history.js';
import { isReleaseId } from '../release/id.js';
import { releaseLock } from '../release/lock.js';
import { markFailed } from '../release/prepare.js';
import { runHooks, warnOnFailure, type HookContext } from './hooks.js';
import { putBack, type PutBackOptions, switchHosts, type SwitchTarget } from './switch.js';
import { planBalancer, planWaves } from './rollout.js';

export interface RollbackOptions extends HostSelection {
  to?: string | undefined;
}

export interface RollbackResult {
  release: string;
  current: Record<string, string | null>;
  warnings: string[];
}

/** One rollback in progress: the fleet it holds, the target, and each host's `current`. */
interface RollbackRun {
  stage: StageConfig;
  selected: HostConfig[];
  env: RunEnv;
  members: Member[];
  token: string;
  target: string;
  started: Date;
  current: Record<string, string | null>;
  balancer: Balancer | undefined;
  hooks(o?: { calm?: boolean; result?: string }): HookContext;
  switchTo(m: Member): SwitchTarget;
}

/**
 * `ship rollback`: every host to one target release (the previous good one, or --to), with
 * the deploy's publish step (swap, restart, health) in the same waves. Phases: connect and
 * lock, plan (refusing, changing nothing, when any host lacks the target), publish, record.
 * The releases left are marked failed so no later rollback picks them.
 */
export async function rollback(stage: StageConfig, opts: RollbackOptions, env: RunEnv): Promise<RollbackResult> {
  if (opts.to !== undefined && !isReleaseId(opts.to))
    throw new UsageError(`--to ${opts.to}: a release id is 14 digits, like 20261122021500 (see ship releases ${stage.stage})`);
  const selected = appHosts(stage, selectHosts(stage, opts));
  planBalancer(stage, selected);
  const started = env.clock.now();
  const { members, token } = await openFleet(stage, selected, env, { lock: { command: 'rollback' } });
  const plan = planFleetRollback(
    members.map((m) => m.state),
    opts.to,
  );
  if (!plan.ok) return refuse(env, members, token, new DeployError(`rollback refused: ${plan.reason}`, plan.details, `see ship releases ${stage.stage}`));
  const run = rollbackRun(stage, env, members, token, plan.target, started, selected);
  env.emit({ event: 'rollback:start', hosts: members.map((m) => m.host.name), target: run.target });
  const warnings = rollbackWarnings(run, plan);
  for (const w of warnings) env.emit({ event: 'log', level: 'warn', message: w });
  const before = await runHooks('before:rollback', run.hooks());
  if (before.length) return refuse(env, members, token, new DeployError('rollback refused: the before:rollback hook failed; nothing was changed', before));
  try {
    const { failures, touched } = await switchAll(run);
    // like a failed deploy: every host switched goes back to the release it had
    const failedBack = failures.length ? await putBack(stage, selected, touched, putBackOptions(run)) : [];
    await record(run, failures, failedBack);
  } finally {
    await run.balancer?.close();
  }
  return { release: run.target, current: run.current, warnings };
}

function rollbackRun(stage: StageConfig, env: RunEnv, members: Member[], token: string, target: string, started: Date, selected: HostConfig[]): RollbackRun {
  const switchTo = (m: Member): SwitchTarget => ({
    member: m,
    release: target,
    facts: hostFacts(stage, m.host, m.paths, target, { revision: revisionOf(m, target) ?? '', previous: m.state.current, address: m.transport.address }),
  });
  return {
    stage,
    selected,
    env,
    members,
    token,
    target,
    started,
    current: Object.fromEntries(members.map((m) => [m.host.name, m.state.current ?? null])),
    balancer: balancerFor(stage, members, env),
    switchTo,
    hooks: (o = {}) => ({
      stage,
      selected,
      members,
      env: o.calm ? calm(env) : env,
      facts: (m) => switchTo(m).facts,
      cwd: (m) => m.paths.current,
      ...(o.result ? { result: o.result } : {}),
    }),
  };
}

const revisionOf = (m: Member, id: string) => m.state.releases.find((r) => r.id === id)?.revision;

async function refuse(env: RunEnv, members: Member[], token: string, error: Error): Promise<never> {
  await releaseFleet(members, token, env);
  throw error;
}

function rollbackWarnings(run: RollbackRun, plan: { warnings: string[]; differing: string[]; from: Record<string, string | undefined> }): string[] {
  const { target, members } = run;
  const warnings = [...plan.warnings];
  if (plan.differing.length)
    warnings.push(
      `hosts were on different releases before the rollback: ${plan.differing.map((h) => `${h} (${plan.from[h] ?? 'none'})`).join(', ')}; all will be on ${target}`,
    );
  const crossed = new Set<string>();
  for (const m of members) for (const id of m.state.migrated) if (id > target && m.state.current && id <= m.state.current) crossed.add(id);
  if (crossed.size) warnings.push(`release(s) ${[...crossed].sort().join(', ')} ran database migrations: the database was NOT rolled back`);
  return warnings;
}

/** How the hosts a failed rollback switched go back to where they were. */
function putBackOptions(run: RollbackRun): PutBackOptions {
  return {
    env: calm(run.env),
    from: run.target,
    base: (m) => run.switchTo(m).facts,
    current: run.current,
    balancer: run.balancer,
    fleetSize: run.members.length,
  };
}

/** Publish, wave by wave, every host not already on the target; stops after a wave that failed. */
async function switchAll(run: RollbackRun): Promise<{ failures: string[]; touched: Member[] }> {
  const failures: string[] = [];
  const touched: Member[] = [];
  const moving = run.members.filter((m) => m.state.current !== run.target);
  for (const [w, wave] of planWaves(moving.length, run.stage.rollout).entries()) {
    touched.push(...wave.map((i) => moving[i]!));
    const outcomes = await switchHosts(
      run.stage,
      run.selected,
      wave.map((i) => run.switchTo(moving[i]!)),
      run.env,
      { wave: w + 1, balancer: run.balancer },
    );
    for (const o of outcomes) {
      const m = moving.find((x) => x.host.name === o.host)!;
      // a host the balancer could not drain was never changed: nothing to put back there
      if (o.untouched) touched.splice(touched.indexOf(m), 1);
      if (o.swapped) run.current[o.host] = run.target;
      run.env.emit({
        event: 'rollback',
        host: o.host,
        to: run.target,
        ...(m.state.current ? { from: m.state.current } : {}),
        current: run.current[o.host] ?? null,
        ok: o.ok,
        ...(o.detail ? { reason: o.detail } : {}),
      });
      if (!o.ok) failures.push(o.detail ?? `${o.host}: failed`);
    }
    if (failures.length) break;
  }
  return { failures, touched };
}

/** After hooks, history, marks and unlock on every host; throws when the rollback failed. */
async function record(run: RollbackRun, failures: string[], failedBack: string[]): Promise<void> {
  const ok = failures.length === 0;
  const result: HistoryResult = ok ? 'deployed' : failedBack.length ? 'failed' : 'rolled-back';
  const quiet = calm(run.env);
  for (const key of ok ? ['after:rollback'] : ['after:rollback', 'after:failure'])
    await warnOnFailure(key, run.hooks({ calm: true, result: ok ? 'rolled-back' : 'failed' }));
  const recorded = await runOnEach(run.members, quiet, (m) => [
    // the release we left is never a rollback target again
    ...(ok && m.state.current && m.state.current !== run.target ? [{ label: 'mark failed', command: markFailed(m.paths, m.state.current) }] : []),
    { label: 'history', command: appendHistory(m.paths, historyOf(run, m, result)) },
    { label: 'unlock', command: releaseLock(m.paths, run.token) },
  ]);
  await unlockWhereFailed(run.members, recorded, run.token, quiet);
  await closeFleet(run.members);
  if (ok) return;
  // the end event says where every host is and which release the rollback tried
  throw Object.assign(rollbackError(run, failures, failedBack), { current: { ...run.current }, release: run.target });
}

function rollbackError(run: RollbackRun, failures: string[], failedBack: string[]): ShipError {
  const where = Object.entries(run.current).map(([h, c]) => `${h}: current = ${c ?? '(none)'}`);
  if (failedBack.length)
    return new RollbackFailedError(
      `rollback to ${run.target} failed on ${failures.length} host(s) and putting them back failed on ${failedBack.length}: hosts may differ`,
      [...failures, ...failedBack, ...where],
      `fix the failing host(s), then run ship rollback ${run.stage.stage} --to <id> again`,
    );
  return new RolledBackError(
    `rollback to ${run.target} failed on ${failures.length} host(s); every switched host is back on the release it had`,
    [...failures, ...where],
    `see why ${run.target} is unhealthy, or pick another release: ship rollback ${run.stage.stage} --to <id>`,
  );
}

function historyOf(run: RollbackRun, m: Member, result: HistoryResult): HistoryEntry {
  const revision = revisionOf(m, run.target);
  return {
    action: 'rollback',
    release: run.target,
    ...(revision ? { revision } : {}),
    ...(m.state.current ? { previous: m.state.current } : {}),
    user: run.env.operator.user,
    ...(run.env.operator.ci ? { ci: run.env.operator.ci } : {}),
    started: run.started.toISOString(),
    finished: run.env.clock.now().toISOString(),
    result,
    host: m.host.name,
  };
}
