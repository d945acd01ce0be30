import type { HostConfig, StageConfig } from '../config/types.js';
import { UsageError } from '../errors.js';

/** The hosts a command works on: `--hosts` and `--roles` narrow the stage. Pure. */
export function selectHosts(stage: StageConfig, opts: { hosts?: string[]; roles?: string[] }): HostConfig[] {
  let hosts = stage.hosts;
  const problems: string[] = [];
  if (opts.hosts?.length) {
    const known = new Set(hosts.map((h) => h.name));
    for (const h of opts.hosts) if (!known.has(h)) problems.push(`--hosts: ${h} is not a host of stage ${stage.stage} (hosts: ${[...known].join(', ')})`);
    hosts = hosts.filter((h) => opts.hosts!.includes(h.name));
  }
  if (opts.roles?.length) {
    const known = new Set(stage.hosts.flatMap((h) => h.roles));
    for (const r of opts.roles) if (!known.has(r)) problems.push(`--roles: no host of stage ${stage.stage} has role ${r} (roles: ${[...known].sort().join(', ')})`);
    hosts = hosts.filter((h) => h.roles.some((r) => opts.roles!.includes(r)));
  }
  if (problems.length) throw new UsageError('bad host selection', problems);
  if (hosts.length === 0) throw new UsageError(`no host of stage ${stage.stage} matches the selection`);
  return hosts;
}

/**
 * The host that runs once-only work for tasks with `roles` (DESIGN section 1): the host of
 * those roles marked primary, else the first `db` host among them, else the first of them.
 */
export function primaryFor(hosts: HostConfig[], roles: string[] | undefined): HostConfig | undefined {
  const candidates = roles?.length ? hosts.filter((h) => h.roles.some((r) => roles.includes(r))) : hosts;
  return candidates.find((h) => h.primary) ?? candidates.find((h) => h.roles.includes('db')) ?? candidates[0];
}
