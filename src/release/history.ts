import { cmd, redirect, seq, test, when, type Command } from '../shell/command.js';
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

/**
 * Appends the entry to `.ship/history.jsonl`; and, where Capistrano deployed before (its
 * `revisions.log` exists in deploy_to and the login user may write it), a line in
 * Capistrano's own words there, so a team using both tools keeps one audit trail.
 */
export function appendHistory(paths: ServerPaths, entry: HistoryEntry): Command {
  const ours = redirect(cmd('printf', '%s\\n', JSON.stringify(entry)), { op: '>>', target: paths.history });
  const theirs = capistranoLine(entry);
  if (theirs === undefined) return ours;
  const log = `${paths.root === '/' ? '' : paths.root}/revisions.log`;
  return seq(ours, when(test('-w', log), redirect(cmd('printf', '%s\\n', theirs), { op: '>>', target: log })));
}

/** Capistrano's revision_log_message and rollback_log_message, for a deploy or rollback that succeeded. */
export function capistranoLine(entry: HistoryEntry): string | undefined {
  if (entry.action === 'deploy' && entry.result === 'deployed') {
    return `Branch ${entry.branch ?? 'HEAD'} (at ${entry.revision ?? '(unknown)'}) deployed as release ${entry.release} by ${entry.user}`;
  }
  // a rollback that succeeded is recorded as 'deployed' (its target is live)
  if (entry.action === 'rollback' && entry.result === 'deployed') return `${entry.user} rolled back to release ${entry.release}`;
  return undefined;
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
