import type { HostSelection } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import { readHistories } from '../../ops/status.js';
import { table } from '../../ui/table.js';
import { hostSelection } from '../host-selection.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/** `ship history <stage> [-n N]`: who deployed what, when, and how it ended; all hosts merged, newest first. */
export async function historyCommand(stageName: string, flags: GlobalOptions & HostSelection & { limit?: string }): Promise<void> {
  const limit = Number(flags.limit ?? 20);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`-n: expected a whole number ≥ 1, got ${JSON.stringify(flags.limit)}`);
  const rt = await prepareRuntime(stageName, flags);
  try {
    const entries = await readHistories(rt.stage, { ...hostSelection(flags), limit }, rt.env);
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
