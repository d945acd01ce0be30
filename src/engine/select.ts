import type { HostConfig, StageConfig } from '../config/types.js';
import { UsageError } from '../errors.js';

/** `--hosts` and `--roles`: the one way every command narrows a stage to some of its hosts. */
export interface HostSelection {
  hosts?: string[] | undefined;
  roles?: string[] | undefined;
}

/** The hosts a command works on: `--hosts` and `--roles` narrow the stage. Pure. */
export function selectHosts(stage: StageConfig, opts: HostSelection): HostConfig[] {
  let hosts = stage.hosts;
  const problems: string[] = [];
  if (opts.hosts?.length) {
    const wanted = opts.hosts;
    const known = new Set(hosts.map((h) => h.name));
    for (const h of wanted) if (!known.has(h)) problems.push(`--hosts: ${h} is not a host of stage ${stage.stage} (hosts: ${[...known].join(', ')})`);
    hosts = hosts.filter((h) => wanted.includes(h.name));
  }
  if (opts.roles?.length) {
    const wanted = opts.roles;
    const known = new Set(stage.hosts.flatMap((h) => h.roles));
    for (const r of wanted) if (!known.has(r)) problems.push(`--roles: no host of stage ${stage.stage} has role ${r} (roles: ${[...known].sort().join(', ')})`);
    hosts = hosts.filter((h) => h.roles.some((r) => wanted.includes(r)));
  }
  if (problems.length) throw new UsageError('bad host selection', problems);
  if (hosts.length === 0) throw new UsageError(`no host of stage ${stage.stage} matches the selection`);
  return hosts;
}

/**
 * The host that runs once-only work for tasks with `roles` (none or empty: any host): the host
 * of those roles marked primary, else the first `db` host among them, else the first of them.
 */
export function primaryFor<T extends Pick<HostConfig, 'roles' | 'primary'>>(hosts: readonly T[], roles?: readonly string[]): T | undefined {
  const candidates = roles?.length ? hosts.filter((h) => h.roles.some((r) => roles.includes(r))) : hosts;
  return candidates.find((h) => h.primary) ?? candidates.find((h) => h.roles.includes('db')) ?? candidates[0];
}
