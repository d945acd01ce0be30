import type { HostSelection } from '../../engine/index.js';
import { readHistories } from '../../ops/status.js';
import type { HistoryEntry } from '../../release/history.js';
import { table } from '../../ui/table.js';
import { parseCountFlag } from '../flags.js';
import { hostSelection } from '../host-selection.js';
import { prepareRuntime, type GlobalOptions, type Runtime } from '../runtime.js';

/** `ship history <stage> [-n N]`: who deployed what, when, and how it ended; all hosts merged, newest first. */
export async function historyCommand(stageName: string, flags: GlobalOptions & HostSelection & { limit?: string }): Promise<void> {
  const limit = parseCountFlag('-n', flags.limit ?? '20', 100_000);
  const rt = await prepareRuntime(stageName, flags);
  try {
    showHistory(await readHistories(rt.stage, { ...hostSelection(flags), limit }, rt.env), rt);
  } finally {
    rt.dispose();
  }
}

/** One `history` event per entry under --json, else one table; redacted either way. */
export function showHistory(entries: HistoryEntry[], rt: Pick<Runtime, 'json' | 'list' | 'say'>): void {
  if (rt.json) {
    for (const h of entries) rt.list({ event: 'history', ...h });
    return;
  }
  if (!entries.length) return rt.say('no history yet');
  const rows = [['finished', 'host', 'action', 'release', 'revision', 'result', 'by', 'previous']];
  for (const h of entries) {
    rows.push([
      h.finished.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      h.host ?? '',
      h.action,
      h.release,
      (h.revision ?? '').slice(0, 12),
      h.result + (h.migrated ? ' (migrated)' : ''),
      h.user + (h.ci && h.ci !== h.user ? ` (${h.ci})` : ''),
      h.previous ?? '',
    ]);
  }
  rt.say(table(rows));
}
