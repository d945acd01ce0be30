import type { StageConfig } from '../config/types.js';
import { releaseFleet, type RunEnv } from '../engine/index.js';
import { InterruptedError, ShipError } from '../errors.js';
import { connectAndLock } from './connect.js';
import { finish } from './finish.js';
import { migrate } from './migrate.js';
import { planDeploy, type DeployOptions } from './plan.js';
import { prepare } from './prepare.js';
import { publish } from './publish.js';
import type { DeployRun, GitOps } from './run.js';
import { abandon } from './way-back.js';

export type { DeployOptions } from './plan.js';
export type { GitOps } from './run.js';

export interface DeployResult {
  release: string;
  revision: string;
  current: Record<string, string | null>;
  migrated: boolean;
}

/**
 * The deploy protocol: every host moves, or none does.
 *
 *   1. plan             the hosts, one sha, the release id's clock; nothing is sent
 *   2. connect and lock every host, in parallel; all or nothing
 *   3. prepare          the release on every host (code, shared links, build), then
 *      migrate          once, on the primary, after a backup; `current` untouched so far
 *   4. publish          wave by wave: swap `current`, restart, health check
 *   5. finish           prune, record history, unlock
 *
 * A failure or Ctrl-C before publish removes the new release everywhere (abandon); after
 * publish, every switched host goes back to its previous release (undoPublish, in publish).
 */
export async function deploy(stage: StageConfig, opts: DeployOptions, env: RunEnv, git: GitOps): Promise<DeployResult> {
  const plan = await planDeploy(stage, opts, env, git);
  let made: DeployRun | undefined;
  try {
    const run = await connectAndLock(plan);
    made = run;
    await beforePublish(run, async () => {
      await prepare(run);
      await migrate(run);
    });
    await afterPublish(run, async () => {
      await publish(run);
      await finish(run);
    });
    return { release: run.release, revision: run.revision, current: run.snapshot(), migrated: run.migrated };
  } catch (e) {
    throw naming(e, plan.revision, made?.release);
  } finally {
    await made?.balancer?.close();
    await plan.archive?.remove();
  }
}

/** A failure says which release and commit failed: the end event and the webhook carry them. */
function naming(e: unknown, revision: string, release: string | undefined): unknown {
  if (e instanceof ShipError) {
    e.revision ??= revision;
    if (release) e.release ??= release;
  }
  return e;
}

/** Runs phases that change no `current`: any stop there takes the run back by abandoning it. */
async function beforePublish(run: DeployRun, phases: () => Promise<void>): Promise<void> {
  try {
    await phases();
  } catch (e) {
    if (e instanceof ShipError) return abandon(run, e);
    // an abort inside a phase is an interrupt there; anything else is a bug: unlock and report it
    if (isAbort(e)) return abandon(run, new InterruptedError('interrupted: nothing was changed, the new release was removed'));
    await giveUp(run);
    throw e;
  }
}

/** Runs the phases from publish on: they take the fleet back themselves, so only a bug gets here. */
async function afterPublish(run: DeployRun, phases: () => Promise<void>): Promise<void> {
  try {
    await phases();
  } catch (e) {
    if (!(e instanceof ShipError)) await giveUp(run);
    throw e;
  }
}

const giveUp = (run: DeployRun) => releaseFleet(run.members, run.token, run.calm);

function isAbort(e: unknown): boolean {
  return (e as Error)?.name === 'AbortError';
}
