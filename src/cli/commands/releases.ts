import type { HostSelection } from '../../engine/index.js';
import { listReleases } from '../../ops/status.js';
import { table } from '../../ui/table.js';
import { hostSelection } from '../host-selection.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/** `ship releases <stage>`: per host, its releases (newest first), which is current, which failed, any lock. */
export async function releasesCommand(stageName: string, flags: GlobalOptions & HostSelection): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    const hosts = await listReleases(rt.stage, hostSelection(flags), rt.env);
    if (rt.json) {
      for (const h of hosts) {
        process.stdout.write(
          JSON.stringify({
            ts: new Date().toISOString(),
            event: 'releases',
            stage: rt.stage.stage,
            host: h.host,
            current: h.current ?? null,
            releases: h.releases.map((r) => ({ id: r.id, revision: r.revision ?? null, failed: r.failed, current: r.id === h.current, migrated: h.migrated.has(r.id), incomplete: !!r.preparing })),
            ...(h.lock ? { lock: h.lock } : {}),
          }) + '\n',
        );
      }
      return;
    }
    for (const h of hosts) {
      process.stdout.write(`${h.host}${h.lock ? `  (locked: ${h.lock})` : ''}\n`);
      if (h.currentTarget && !h.current) process.stdout.write(`  current -> ${h.currentTarget} (not a release of this deploy_to)\n`);
      if (!h.releases.length) {
        process.stdout.write('  no releases\n');
        continue;
      }
      const rows = [['', 'release', 'revision', 'state']];
      for (const r of [...h.releases].reverse()) {
        const state = [r.id === h.current ? 'current' : '', r.failed ? 'failed' : '', r.preparing ? 'incomplete' : '', h.migrated.has(r.id) ? 'migrated' : ''].filter(Boolean).join(', ');
        rows.push([r.id === h.current ? '*' : ' ', r.id, (r.revision ?? '-').slice(0, 12), state]);
      }
      process.stdout.write(table(rows).replace(/^/gm, '  ') + '\n');
    }
  } finally {
    rt.dispose();
  }
}
