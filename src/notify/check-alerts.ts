/**
 * `ship check --notify`: alerts on change, not on every run. The set of failing checks (host
 * and check, not their measured details, which change from run to run) is kept on this machine
 * between runs; a post goes out when checks start failing, when another check joins them, and
 * once when everything passes again. A run that cannot post keeps the old state, so the alert
 * is tried again next time rather than lost.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CheckItem } from '../setup/check/judge.js';

export interface AlertState {
  /** `host check` of every failing item at the last run that was told. */
  failing: string[];
  /** When the stage started failing (ISO). */
  since?: string;
}

export interface CheckAlert {
  text: string;
  app: string;
  stage: string;
  action: 'check';
  ok: boolean;
  status: 'failing' | 'recovered';
  /** Every failing item now. */
  failing: { group: string; host: string; check: string; detail: string }[];
  /** The `host check` keys that were not failing at the last run. */
  newly: string[];
  since?: string;
}

const key = (i: Pick<CheckItem, 'host' | 'check'>) => `${i.host} ${i.check}`;

/** Whether to post, what, and the state to keep. Pure. */
export function decideAlert(prev: AlertState, failing: CheckItem[], o: { app: string; stage: string; now: Date }): { alert?: CheckAlert; next: AlertState } {
  const keys = [...new Set(failing.map(key))].sort();
  const newly = keys.filter((k) => !prev.failing.includes(k));
  const where = `${o.app} ${o.stage}`;
  if (keys.length === 0) {
    if (prev.failing.length === 0) return { next: { failing: [] } };
    const text = `✅ ship check: ${where} recovered: every check passes again${prev.since ? ` (failing since ${prev.since})` : ''}`;
    return {
      alert: {
        text,
        app: o.app,
        stage: o.stage,
        action: 'check',
        ok: true,
        status: 'recovered',
        failing: [],
        newly: [],
        ...(prev.since ? { since: prev.since } : {}),
      },
      next: { failing: [] },
    };
  }
  const since = prev.failing.length ? (prev.since ?? o.now.toISOString()) : o.now.toISOString();
  const next = { failing: keys, since };
  if (newly.length === 0) return { next };
  const shown = failing.filter((i) => newly.includes(key(i)));
  const text =
    `🚨 ship check: ${where}: ${keys.length} check(s) failing` +
    (prev.failing.length ? ` (${newly.length} new)` : '') +
    `: ${shown.map((i) => `${i.host} ${i.check}: ${i.detail}`).join('; ')}`;
  const items = failing.map((i) => ({ group: i.group, host: i.host, check: i.check, detail: i.detail }));
  return { alert: { text, app: o.app, stage: o.stage, action: 'check', ok: false, status: 'failing', failing: items, newly, since }, next };
}

/**
 * Where the state of one stage's alerts lives: next to deploy.yaml, in .ship/monitor/. A run
 * narrowed by --hosts or --roles keeps its own (its checks are not the whole stage's: a host it
 * does not look at has not recovered).
 */
export function alertStateFile(configDir: string, stage: string, selection: { hosts?: string[] | undefined; roles?: string[] | undefined } = {}): string {
  const narrowed = selection.hosts?.length || selection.roles?.length;
  const suffix = narrowed
    ? `-${createHash('sha256')
        .update(JSON.stringify([selection.hosts ?? [], selection.roles ?? []]))
        .digest('hex')
        .slice(0, 12)}`
    : '';
  return join(configDir, '.ship', 'monitor', `${stage}${suffix}.json`);
}

export async function readAlertState(file: string): Promise<AlertState> {
  try {
    const s = JSON.parse(await readFile(file, 'utf8')) as Partial<AlertState>;
    return { failing: Array.isArray(s.failing) ? s.failing.filter((k): k is string => typeof k === 'string') : [], ...(s.since ? { since: s.since } : {}) };
  } catch {
    return { failing: [] };
  }
}

export async function writeAlertState(file: string, state: AlertState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, `${JSON.stringify(state)}\n`);
  await rename(`${file}.tmp`, file);
}
