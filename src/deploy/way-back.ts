import { closeFleet, runOnEach, unlockWhereFailed } from '../engine/index.js';
import { InterruptedError, RollbackFailedError, RolledBackError, type ShipError } from '../errors.js';
import { appendHistory } from '../release/history.js';
import { releaseLock } from '../release/lock.js';
import { markFailed, removeReleaseUnlessCurrent } from '../release/prepare.js';
import { warnOnFailure } from './hooks.js';
import { putBack } from './switch.js';
import type { DeployRun } from './run.js';

/** Why the published hosts go back: an interrupt, or the hosts that failed (one line each). */
export type PublishFailure = { interrupted: true } | { interrupted: false; reasons: string[] };

/**
 * The way back before publish: remove the new release everywhere (and any made under an id the
 * run gave up), record, unlock. `current` never moved on any host. Throws `error`.
 */
export async function abandon(run: DeployRun, error: ShipError): Promise<never> {
  const { env, members } = run;
  env.emit({ event: 'phase', phase: 'cleanup' });
  const result = error instanceof InterruptedError ? 'interrupted' : 'failed';
  const cleaned = await runOnEach(members, run.calm, (m) => [
    { label: 'cleanup', command: removeReleaseUnlessCurrent(m.paths, run.release) },
    ...run.staleIds(m).map((id) => ({ label: 'cleanup', command: removeReleaseUnlessCurrent(m.paths, id) })),
    { label: 'history', command: appendHistory(m.paths, run.history(m, result)) },
    { label: 'unlock', command: releaseLock(m.paths, run.token) },
  ]);
  await unlockWhereFailed(members, cleaned, run.token, run.calm);
  await warnOnFailure(
    'after:failure',
    run.hooks((m) => m.paths.root, { calm: true, result }),
  );
  await closeFleet(members);
  error.current = run.snapshot();
  throw error;
}

/**
 * The way back after a failed wave: every host switched so far goes back to the release it had
 * (or loses `current` if it had none), restarts, and is health-checked; the new release is
 * marked failed everywhere. Throws RolledBackError (or InterruptedError), or
 * RollbackFailedError when the way back failed too.
 */
export async function undoPublish(run: DeployRun, failure: PublishFailure): Promise<never> {
  const calm = run.calm;
  calm.emit({ event: 'phase', phase: 'rollback' });
  const failedBack = await switchBack(run);
  const result = failure.interrupted ? 'interrupted' : 'rolled-back';
  for (const key of ['after:rollback', 'after:failure'])
    await warnOnFailure(
      key,
      run.hooks((m) => m.paths.current, { calm: true, result }),
    );
  const recorded = await runOnEach(run.members, calm, (m) => [
    { label: 'mark failed', command: markFailed(m.paths, run.release) },
    { label: 'history', command: appendHistory(m.paths, run.history(m, result)) },
    { label: 'unlock', command: releaseLock(m.paths, run.token) },
  ]);
  await unlockWhereFailed(run.members, recorded, run.token, calm);
  await closeFleet(run.members);
  const where = Object.entries(run.current).map(([h, c]) => `${h}: current = ${c ?? '(none)'}`);
  const reasons = failure.interrupted ? ['interrupted'] : failure.reasons;
  throw Object.assign(wayBackError(run, failure, failedBack, reasons, where), { current: run.snapshot() });
}

/**
 * Switches every touched host back; returns one line per host that could not go back. Behind a
 * load balancer the way back keeps capacity like the way out (putBack goes in waves).
 */
function switchBack(run: DeployRun): Promise<string[]> {
  return putBack(run.stage, run.selected, run.touched, {
    env: run.calm,
    from: run.release,
    base: (m) => run.factsOf(m),
    current: run.current,
    balancer: run.balancer,
    fleetSize: run.members.length,
  });
}

function wayBackError(run: DeployRun, failure: PublishFailure, failedBack: string[], reasons: string[], where: string[]): ShipError {
  const { release, stage } = run;
  if (failedBack.length) {
    return new RollbackFailedError(
      `release ${release} failed and rolling back failed on ${failedBack.length} host(s): hosts may differ`,
      [...reasons, ...failedBack, ...where],
      `inspect the hosts (ship releases ${stage.stage}) and fix by hand or run: ship rollback ${stage.stage} --to <id>`,
    );
  }
  const migratedNote = run.migrated ? ' (migrations ran and were NOT rolled back)' : '';
  if (failure.interrupted) return new InterruptedError(`interrupted during publish: every published host was put back${migratedNote}`, where);
  return new RolledBackError(
    `release ${release} failed after publish; every published host is back on its previous release${migratedNote}`,
    [...reasons, ...where],
    'the release is marked failed and will never be chosen by a rollback; fix and deploy again',
  );
}
