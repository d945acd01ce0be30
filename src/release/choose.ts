/**
 * Pure decisions over what is on the hosts: which release a rollback goes to, what to prune.
 * No I/O here; the facts come from the inspection script (src/release/inspect.ts).
 */

export interface ReleaseInfo {
  id: string;
  failed: boolean; // marked .ship-failed: never chosen by a rollback
  preparing?: boolean; // left half-made by a run that died
  revision?: string;
  /** The shared dependency install its node_modules links to (a name under deps/). */
  deps?: string;
}

/** What one host holds. `current` is a release id, or undefined when there is no `current` link. */
export interface HostState {
  host: string;
  current: string | undefined;
  releases: ReleaseInfo[];
}

const byIdDesc = (a: { id: string }, b: { id: string }) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

/** The newest good release older than `current` on one host. */
export function previousGoodRelease(releases: ReleaseInfo[], current: string | undefined): string | undefined {
  if (current === undefined) return undefined;
  return [...releases].sort(byIdDesc).find((r) => r.id < current && !r.failed && !r.preparing)?.id;
}

export interface PrunePlan {
  keep: string[];
  remove: string[];
}

/**
 * Keeps the newest `keep` releases, and always the current release and the one a rollback
 * would go to, whatever their age. Half-made releases of dead runs are removed unless current.
 */
export function planPrune(releases: ReleaseInfo[], opts: { keep: number; current: string | undefined; protect?: string[] }): PrunePlan {
  const sorted = [...releases].sort(byIdDesc);
  const target = previousGoodRelease(sorted, opts.current);
  const pinned = new Set([opts.current, target, ...(opts.protect ?? [])].filter((x): x is string => !!x));
  const complete = sorted.filter((r) => !r.preparing);
  const newest = new Set(complete.slice(0, Math.max(1, opts.keep)).map((r) => r.id));
  const keep: string[] = [];
  const remove: string[] = [];
  for (const r of sorted) {
    if (pinned.has(r.id) || (newest.has(r.id) && !r.preparing)) keep.push(r.id);
    else remove.push(r.id);
  }
  return { keep, remove };
}

export type RollbackPlan =
  | {
      ok: true;
      target: string;
      /** Per host: the release it leaves (undefined when it had no current). */
      from: Record<string, string | undefined>;
      /** Hosts whose current differed from the rest before the rollback; the rollback converges them. */
      differing: string[];
      warnings: string[];
    }
  | { ok: false; reason: string; details: string[] };

/**
 * One target for the whole fleet, so that hosts converge. Without `to`: the newest release
 * older than the fleet's newest current that is good on every host. Refuses, naming the hosts,
 * when any host lacks the target: a rollback never leaves the fleet split.
 */
export function planFleetRollback(states: HostState[], to?: string): RollbackPlan {
  if (states.length === 0) return { ok: false, reason: 'no hosts selected', details: [] };
  const currents = states.map((s) => s.current);
  const from = Object.fromEntries(states.map((s) => [s.host, s.current]));
  const counts = new Map<string | undefined, number>();
  for (const c of currents) counts.set(c, (counts.get(c) ?? 0) + 1);
  const majority = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  const differing = counts.size > 1 ? states.filter((s) => s.current !== majority).map((s) => s.host) : [];
  const warnings: string[] = [];
  const has = (s: HostState, id: string) => s.releases.find((r) => r.id === id && !r.preparing);

  let target = to;
  if (target === undefined) {
    const newestCurrent = currents
      .filter((c): c is string => !!c)
      .sort()
      .at(-1);
    if (!newestCurrent) return { ok: false, reason: 'no host has a current release: nothing to roll back from', details: [] };
    const failedAnywhere = new Set(states.flatMap((s) => s.releases.filter((r) => r.failed).map((r) => r.id)));
    const candidates = [...new Set(states.flatMap((s) => s.releases.filter((r) => !r.preparing).map((r) => r.id)))]
      .filter((id) => id < newestCurrent && !failedAnywhere.has(id))
      .sort()
      .reverse();
    target = candidates[0];
    if (!target) {
      return {
        ok: false,
        reason: `no good release older than ${newestCurrent} to roll back to`,
        details: states.map((s) => `${s.host}: releases ${s.releases.map((r) => r.id + (r.failed ? ' (failed)' : '')).join(', ') || 'none'}`),
      };
    }
  }
  const lacking = states.filter((s) => !has(s, target!));
  if (lacking.length) {
    return {
      ok: false,
      reason: `release ${target} is missing on ${lacking.length} of ${states.length} host(s); nothing was changed`,
      details: lacking.map((s) => `${s.host}: has ${s.releases.map((r) => r.id).join(', ') || 'no releases'}`),
    };
  }
  const failedOn = states.filter((s) => has(s, target!)?.failed).map((s) => s.host);
  if (failedOn.length) warnings.push(`release ${target} is marked failed on ${failedOn.join(', ')}; rolling back to it because you asked for it`);
  if (states.every((s) => s.current === target)) {
    return { ok: false, reason: `every host is already on release ${target}`, details: [] };
  }
  return { ok: true, target, from, differing, warnings };
}
