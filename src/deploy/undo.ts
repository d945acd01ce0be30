import type { HostConfig, StageConfig } from '../config/types.js';
import { InterruptedError, RollbackFailedError, RolledBackError, ShipError } from '../errors.js';
import { appendHistory, type HistoryEntry, type HistoryResult } from '../release/history.js';
import { releaseLock } from '../release/lock.js';
import { markFailed } from '../release/prepare.js';
import { closeFleet, runOnEach, unlockWhereFailed, type Member, type RunEnv } from './fleet.js';
import { runHooks, type HookContext } from './hooks.js';
import { switchHosts, type SwitchTarget } from './publish.js';
import type { HostFacts } from './tasks.js';

/**
 * After a failed wave: every host touched so far goes back to the release it had (or loses
 * `current` if it had none), restarts, and is health-checked; the new release is marked
 * failed everywhere. Throws RolledBackError, or RollbackFailedError when the way back failed.
 */
export async function undoPublish(
  stage: StageConfig,
  selected: HostConfig[],
  members: Member[],
  touched: Member[],
  release: string,
  env: RunEnv,
  facts: (m: Member) => HostFacts,
  current: Record<string, string | null>,
  history: (m: Member, r: HistoryResult, migrated: boolean) => HistoryEntry,
  token: string,
  migrated: boolean,
  reason: string[],
  hookCtx: (e: RunEnv, cwd: (m: Member) => string, result?: string) => HookContext,
): Promise<never> {
  env.emit({ event: 'phase', phase: 'rollback' });
  const targets: SwitchTarget[] = touched.map((m) => {
    const prev = m.state.current;
    const f = facts(m);
    return {
      member: m,
      release: prev,
      facts: { ...f, release: prev ?? '', release_path: prev ? m.paths.release(prev) : '', previous_release: release },
    };
  });
  const back = await switchHosts(stage, selected, targets, env, { wave: 0, checkHealth: true });
  const failedBack: string[] = [];
  back.forEach((b, i) => {
    const m = touched[i]!;
    if (b.swapped) current[m.host.name] = m.state.current ?? null;
    env.emit({ event: 'rollback', host: m.host.name, from: release, ...(m.state.current ? { to: m.state.current } : {}), ok: b.ok, ...(b.detail ? { reason: b.detail } : {}) });
    if (!b.ok) failedBack.push(b.detail ?? `${m.host.name}: rollback failed`);
  });
  const interrupted = reason.length === 1 && reason[0] === 'interrupted';
  const result = interrupted ? 'interrupted' : 'rolled-back';
  for (const key of ['after:rollback', 'after:failure']) {
    for (const f of await runHooks(key, hookCtx(env, (m) => m.paths.current, result))) env.emit({ event: 'log', level: 'warn', message: `${key} hook failed: ${f}` });
  }
  const recorded = await runOnEach(members, env, (m) => [
    { label: 'mark failed', command: markFailed(m.paths, release) },
    { label: 'history', command: appendHistory(m.paths, history(m, interrupted ? 'interrupted' : 'rolled-back', migrated)) },
    { label: 'unlock', command: releaseLock(m.paths, token) },
  ]);
  await unlockWhereFailed(members, recorded, token, env);
  await closeFleet(members);
  const where = Object.entries(current).map(([h, c]) => `${h}: current = ${c ?? '(none)'}`);
  const withCurrent = <E extends ShipError>(e: E): E => Object.assign(e, { current });
  if (failedBack.length) {
    throw withCurrent(new RollbackFailedError(
      `release ${release} failed and rolling back failed on ${failedBack.length} host(s): hosts may differ`,
      [...reason, ...failedBack, ...where],
      `inspect the hosts (ship releases ${stage.stage}) and fix by hand or run: ship rollback ${stage.stage} --to <id>`,
    ));
  }
  const migratedNote = migrated ? ' (migrations ran and were NOT rolled back)' : '';
  if (interrupted) {
    throw withCurrent(new InterruptedError(`interrupted during publish: every published host was put back${migratedNote}`, where));
  }
  throw withCurrent(new RolledBackError(
    `release ${release} failed after publish; every published host is back on its previous release${migratedNote}`,
    [...reason, ...where],
    'the release is marked failed and will never be chosen by a rollback; fix and deploy again',
  ));
}

