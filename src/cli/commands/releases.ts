import type { HostSelection } from '../../engine/index.js';
import { listReleases, type HostListing } from '../../ops/status.js';
import { groupsOf, namedHosts } from '../../ui/format.js';
import { table } from '../../ui/table.js';
import { hostSelection } from '../host-selection.js';
import { prepareRuntime, type GlobalOptions, type Runtime } from '../runtime.js';

/** `ship releases <stage>`: per host, its releases (newest first), which is current, which failed, any lock. */
export async function releasesCommand(stageName: string, flags: GlobalOptions & HostSelection): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    showReleases(await listReleases(rt.stage, hostSelection(flags), rt.env), rt);
  } finally {
    rt.dispose();
  }
}

/** One `releases` event per host under --json, else a table per host; redacted either way. */
export function showReleases(hosts: HostListing[], rt: Pick<Runtime, 'json' | 'list' | 'say'>): void {
  if (rt.json) {
    for (const h of hosts) {
      rt.list({
        event: 'releases',
        host: h.host,
        current: h.current ?? null,
        releases: h.releases.map((r) => ({
          id: r.id,
          revision: r.revision ?? null,
          failed: r.failed,
          current: r.id === h.current,
          migrated: h.migrated.has(r.id),
          incomplete: !!r.preparing,
          deps: r.deps ?? null,
        })),
        ...(h.lock ? { lock: h.lock } : {}),
      });
    }
    return;
  }
  // hosts that hold the same releases (and the same lock) share one table
  for (const group of groupsOf(hosts, (h) => [h.lock ?? '', ...releaseLines(h)].join('\n'))) {
    const h = group[0]!;
    rt.say(`${namedHosts(group.map((g) => g.host))}${h.lock ? `  (locked: ${h.lock})` : ''}`);
    for (const line of releaseLines(h)) rt.say(line);
  }
}

/** One host's releases as indented lines: a table, newest first, or what stands instead. */
function releaseLines(h: HostListing): string[] {
  const lines: string[] = [];
  if (h.currentTarget && !h.current) lines.push(`  current -> ${h.currentTarget} (not a release of this deploy_to)`);
  if (!h.releases.length) return [...lines, '  no releases'];
  const withDeps = h.releases.some((r) => r.deps);
  const rows = [['', 'release', 'revision', ...(withDeps ? ['dependencies'] : []), 'state']];
  for (const r of [...h.releases].reverse()) {
    const state = [r.id === h.current ? 'current' : '', r.failed ? 'failed' : '', r.preparing ? 'incomplete' : '', h.migrated.has(r.id) ? 'migrated' : '']
      .filter(Boolean)
      .join(', ');
    rows.push([r.id === h.current ? '*' : ' ', r.id, (r.revision ?? '-').slice(0, 12), ...(withDeps ? [r.deps ?? '-'] : []), state]);
  }
  return [...lines, ...table(rows).replace(/^/gm, '  ').split('\n')];
}
