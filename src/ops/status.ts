import type { StageConfig } from '../config/types.js';
import { DeployError } from '../errors.js';
import { parseHistory, readHistory, type HistoryEntry } from '../release/history.js';
import { describeLock, forceUnlock, parseLockOwner, readLock } from '../release/lock.js';
import type { InspectedHost } from '../release/inspect.js';
import { closeFleet, openFleet, runOn, selectHosts, type HostSelection, type RunEnv } from '../engine/index.js';

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

/** `ship unlock`: removes the lock on every host whoever holds it, reporting who did. */
export async function unlockStage(stage: StageConfig, opts: HostSelection, env: RunEnv): Promise<{ host: string; was?: string }[]> {
  const { members } = await openFleet(stage, selectHosts(stage, opts), env);
  try {
    const out = await Promise.all(
      members.map(async (m) => {
        const r = await runOn(env, { host: m.host.name, transport: m.transport, steps: [{ label: 'unlock', command: forceUnlock(m.paths) }], quiet: true });
        if (!r.ok) throw new DeployError(`unlock failed on ${m.host.name}: ${r.error?.message ?? r.exitCode}`);
        const text = r.steps[0]?.stdout.trim();
        return { host: m.host.name, ...(text ? { was: describeLock(parseLockOwner(text), env.clock.now()) } : {}) };
      }),
    );
    return out;
  } finally {
    await closeFleet(members);
  }
}
