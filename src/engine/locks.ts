import { releaseLock } from '../release/lock.js';
import type { ServerPaths } from '../release/paths.js';
import type { Command } from '../shell/command.js';
import { runOn, type Reached } from './fan-out.js';
import { mapSettled } from './pool.js';
import type { RunEnv } from './run-env.js';
import type { ScriptOutcome } from './run-steps.js';

/** A host whose lock a run may hold: reached, with its paths. */
export interface Lockable extends Reached {
  paths: ServerPaths;
}

/**
 * Releases our lock on each host (only where it still carries our token), after `undo`
 * where one is given (under the same token check). Never throws.
 */
export async function releaseLocks<M extends Lockable>(members: M[], token: string, env: RunEnv, undo?: (m: M) => Command | undefined): Promise<void> {
  await mapSettled(members, env.concurrency, (m) =>
    runOn(env, { host: m.host.name, transport: m.transport, steps: [{ label: 'unlock', command: releaseLock(m.paths, token, undo?.(m)) }], quiet: true }),
  );
}

/**
 * Bookkeeping scripts end with `unlock`, and a script stops at its first failing step (a
 * prune that cannot delete, a full disk): wherever one failed, our lock is released on its
 * own, so a finished run never leaves the stage locked.
 */
export async function unlockWhereFailed(members: Lockable[], outcomes: ScriptOutcome[], token: string, env: RunEnv): Promise<void> {
  const failed = members.filter((_, i) => !outcomes[i]?.ok);
  if (failed.length) await releaseLocks(failed, token, env);
}

/**
 * A run lets go of its fleet: our lock released on every host, then every connection closed.
 * Runs to the end after Ctrl-C too (releasing never takes the interrupt signal). Never throws.
 */
export async function releaseFleet(members: Lockable[], token: string, env: RunEnv): Promise<void> {
  await releaseLocks(members, token, env);
  await closeFleet(members);
}

export async function closeFleet(members: Reached[]): Promise<void> {
  await Promise.all(members.map((m) => m.transport.close().catch(() => {})));
}
