import type { StageConfig } from '../config/types.js';
import { DeployError, LockedError } from '../errors.js';
import { parseHistory, readHistory, type HistoryEntry } from '../release/history.js';
import { describeLock, parseLockOwner, readLock } from '../release/lock.js';
import { describeUnlocked, parseFoundLock, readForUnlock, removeFoundLock, stillHeld } from '../release/unlock.js';
import type { Command } from '../shell/command.js';
import type { InspectedHost } from '../release/inspect.js';
import { closeFleet, openFleet, runOn, selectHosts, type HostSelection, type Member, type RunEnv } from '../engine/index.js';

export interface HostListing extends InspectedHost {
  lock?: string; // who holds the lock, when locked
}

/** `ship releases`: per host, its releases, which is current, which failed, and any lock. */
export async function listReleases(stage: StageConfig, opts: HostSelection, env: RunEnv): Promise<HostListing[]> {
  const { members } = await openFleet(stage, selectHosts(stage, opts), env);
  try {
    return await Promise.all(
      members.map(async (m) => {
        const r = await runOn(env, { host: m.host.name, transport: m.transport, steps: [{ label: 'lock', command: readLock(m.paths) }], quiet: true });
        const owner = r.steps[0]?.stdout.trim() ? parseLockOwner(r.steps[0].stdout) : undefined;
        return { ...m.state, ...(r.steps[0]?.stdout.trim() ? { lock: describeLock(owner, env.clock.now()) } : {}) };
      }),
    );
  } finally {
    await closeFleet(members);
  }
}

/** `ship history`: the newest `n` entries, all hosts merged, newest first. */
export async function readHistories(stage: StageConfig, opts: HostSelection & { limit: number }, env: RunEnv): Promise<HistoryEntry[]> {
  const { members } = await openFleet(stage, selectHosts(stage, opts), env);
  try {
    const all = await Promise.all(
      members.map(async (m) => {
        const r = await runOn(env, {
          host: m.host.name,
          transport: m.transport,
          steps: [{ label: 'history', command: readHistory(m.paths, opts.limit) }],
          quiet: true,
        });
        return parseHistory(r.steps[0]?.stdout ?? '').map((h) => ({ ...h, host: h.host ?? m.host.name }));
      }),
    );
    return all
      .flat()
      .sort((a, b) => (a.finished < b.finished ? 1 : a.finished > b.finished ? -1 : (a.host ?? '').localeCompare(b.host ?? '')))
      .slice(0, opts.limit * Math.max(1, members.length));
  } finally {
    await closeFleet(members);
  }
}

/** `ship lock`: takes the stage's lock on every host and leaves it (a maintenance window). */
export async function lockStage(stage: StageConfig, opts: HostSelection & { reason?: string }, env: RunEnv): Promise<string> {
  const { members, token } = await openFleet(stage, selectHosts(stage, opts), env, {
    lock: { command: 'lock', ...(opts.reason ? { reason: opts.reason } : {}) },
  });
  await closeFleet(members);
  return token;
}

export interface UnlockOptions extends HostSelection {
  /** Remove locks whose run may still be going. */
  force?: boolean;
  /** Whether a process of this machine is alive (the holder of a lock taken here). */
  alive(pid: number): boolean;
}

export interface Unlocked {
  host: string;
  /** What unlock found and did, in words. */
  said: string;
}

/**
 * `ship unlock`: looks at the lock on every host first; if any holder may still be running
 * (stillHeld) and --force is not given, removes nothing and says whose each lock is. Then
 * removes on every host exactly the lock it found.
 */
export async function unlockStage(stage: StageConfig, opts: UnlockOptions, env: RunEnv): Promise<Unlocked[]> {
  const { members } = await openFleet(stage, selectHosts(stage, opts), env);
  try {
    const found = await Promise.all(members.map(async (m) => parseFoundLock(await stepOutput(env, m, 'read lock', readForUnlock(m.paths)))));
    const here = { machine: env.operator.machine, now: env.clock.now(), alive: opts.alive };
    const held = members.flatMap((m, i) => {
      const why = found[i]!.locked ? stillHeld(found[i]!.owner, here) : undefined;
      return why ? [`${m.host.name}: ${describeLock(found[i]!.owner, here.now)}; ${why}`] : [];
    });
    if (held.length && !opts.force) {
      throw new LockedError(
        `stage ${stage.stage} is locked by a run that may still be going: nothing was unlocked`,
        held,
        `let it finish; if it is really gone: ship unlock ${stage.stage} --force`,
      );
    }
    return await Promise.all(
      members.map(async (m, i) => {
        const lock = found[i]!;
        if (!lock.locked) return { host: m.host.name, said: describeUnlocked(lock, false, here.now) };
        const out = await stepOutput(env, m, 'unlock', removeFoundLock(m.paths, lock, !!opts.force));
        return { host: m.host.name, said: describeUnlocked(lock, out.split('\n').includes('left'), here.now) };
      }),
    );
  } finally {
    await closeFleet(members);
  }
}

/** One quiet step on one host, its stdout; a failure (rm refused, say) names the host and the cause. */
async function stepOutput(env: RunEnv, m: Member, label: string, command: Command): Promise<string> {
  const r = await runOn(env, { host: m.host.name, transport: m.transport, steps: [{ label, command }], quiet: true });
  if (!r.ok) throw new DeployError(`${label} failed on ${m.host.name}: ${r.error?.message ?? `exit ${r.exitCode}`}`);
  return r.steps[0]?.stdout ?? '';
}
