import { closeFleet, runOnEach, unlockWhereFailed } from '../engine/index.js';
import { finishSteps, pruneList } from './deploy-steps.js';
import { warnOnFailure } from './hooks.js';
import type { DeployRun } from './run.js';

/**
 * Phase 5, finish: prune old releases, mark the release migrated, append history and unlock,
 * in one round trip per host. The deploy is live: a failure here is a warning, and the lock is
 * released on its own wherever the script stopped before its unlock.
 */
export async function finish(run: DeployRun): Promise<void> {
  const { members, env } = run;
  env.emit({ event: 'phase', phase: 'finish' });
  const prunes = members.map((m) => pruneList(run.stage, m, run.release));
  const finished = await runOnEach(members, run.calm, (m) =>
    finishSteps(m, run.release, run.token, run.history(m, 'deployed'), run.migrated, prunes[members.indexOf(m)]!),
  );
  await unlockWhereFailed(members, finished, run.token, run.calm);
  finished.forEach((o, i) => {
    if (!o.ok)
      env.emit({ event: 'log', level: 'warn', host: members[i]!.host.name, message: `finish step failed (deploy is live): ${o.error?.message ?? o.exitCode}` });
    else if (prunes[i]!.length) env.emit({ event: 'prune', host: members[i]!.host.name, removed: prunes[i]! });
  });
  await warnOnFailure(
    'after:deploy',
    run.hooks((m) => run.inRelease(m), { calm: true, result: 'deployed' }),
  );
  await closeFleet(members);
}
