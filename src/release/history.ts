import { cmd, redirect, type Command } from '../shell/command.js';
import type { ServerPaths } from './paths.js';

export type HistoryResult = 'deployed' | 'failed' | 'rolled-back' | 'interrupted';

/** One line of `.ship/history.jsonl`. Never holds a secret: only ids, names and times. */
export interface HistoryEntry {
  action: 'deploy' | 'rollback';
  release: string;
  revision?: string;
  branch?: string;
  previous?: string; // the release that was current before
  user: string;
  ci?: string; // CI actor, when run from CI
  started: string;
  finished: string;
  result: HistoryResult;
  migrated?: boolean;
  host?: string;
}

export function appendHistory(paths: ServerPaths, entry: HistoryEntry): Command {
  return redirect(cmd('printf', '%s\\n', JSON.stringify(entry)), { op: '>>', target: paths.history });
}

export function readHistory(paths: ServerPaths, lines: number): Command {
  return redirect(cmd('tail', '-n', String(lines), '--', paths.history), { op: '2>', target: '/dev/null' });
}

export function parseHistory(text: string): HistoryEntry[] {
  const out: HistoryEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as HistoryEntry);
    } catch {
      // a torn line from a crashed writer: skip it rather than fail the listing
    }
  }
  return out;
}
