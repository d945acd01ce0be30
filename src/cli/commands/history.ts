import type { HostSelection } from '../../engine/index.js';
import { readHistories } from '../../ops/status.js';
import type { HistoryEntry } from '../../release/history.js';
import { groupsOf, namedHosts } from '../../ui/format.js';
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
  const rows = [['finished', 'hosts', 'action', 'release', 'revision', 'result', 'by', 'previous']];
  // one run's entries on hosts that agree are one row; entries come newest first, so the
  // first of each group is its last finish
  for (const group of groupsOf(entries, runKey).sort((a, b) => (a[0]!.finished < b[0]!.finished ? 1 : -1))) {
    const h = group[0]!;
    rows.push([
      h.finished.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      namedHosts(group.map((g) => g.host ?? '')),
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

/** What one run wrote alike on every host it ended the same way on: all but the host and its finish. */
function runKey(h: HistoryEntry): string {
  const { host: _host, finished: _finished, ...run } = h;
  return JSON.stringify(run, Object.keys(run).sort());
}
