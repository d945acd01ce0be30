import { listReleases, lockStage, readHistories, unlockStage } from '../../ops/status.js';
import { UsageError } from '../../errors.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';
import { table } from '../../ui/table.js';

interface Selection extends GlobalOptions {
  hosts?: string[];
  roles?: string[];
}
const pick = (f: Selection) => ({ ...(f.hosts ? { hosts: f.hosts } : {}), ...(f.roles ? { roles: f.roles } : {}) });

export async function releasesCommand(stageName: string, flags: Selection): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    const hosts = await listReleases(rt.stage, pick(flags), rt.env);
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

export async function historyCommand(stageName: string, flags: Selection & { limit?: string }): Promise<void> {
  const limit = Number(flags.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`-n: expected a whole number ≥ 1, got ${JSON.stringify(flags.limit)}`);
  const rt = await prepareRuntime(stageName, flags);
  try {
    const entries = await readHistories(rt.stage, { ...pick(flags), limit }, rt.env);
    if (rt.json) {
      for (const h of entries) process.stdout.write(rt.redact(JSON.stringify({ ts: new Date().toISOString(), event: 'history', stage: rt.stage.stage, ...h })) + '\n');
      return;
    }
    if (!entries.length) {
      process.stdout.write('no history yet\n');
      return;
    }
    const rows = [['finished', 'host', 'action', 'release', 'revision', 'result', 'by', 'previous']];
    for (const h of entries) {
      rows.push([h.finished.replace('T', ' ').replace(/\.\d+Z$/, 'Z'), h.host ?? '', h.action, h.release, (h.revision ?? '').slice(0, 12), h.result + (h.migrated ? ' (migrated)' : ''), h.user + (h.ci && h.ci !== h.user ? ` (${h.ci})` : ''), h.previous ?? '']);
    }
    process.stdout.write(rt.redact(table(rows)) + '\n');
  } finally {
    rt.dispose();
  }
}

export async function lockCommand(stageName: string, flags: Selection & { reason?: string }): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    await lockStage(rt.stage, { ...pick(flags), ...(flags.reason ? { reason: flags.reason } : {}) }, rt.env);
    rt.say(`stage ${rt.stage.stage} locked on ${rt.stage.hosts.length} host(s)${flags.reason ? `: ${flags.reason}` : ''}; ship unlock ${rt.stage.stage} to release it`);
  } finally {
    rt.dispose();
  }
}

export async function unlockCommand(stageName: string, flags: Selection): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    const out = await unlockStage(rt.stage, pick(flags), rt.env);
    for (const o of out) rt.say(`${o.host}: ${o.was ? `unlocked (was ${o.was})` : 'was not locked'}`);
  } finally {
    rt.dispose();
  }
}
