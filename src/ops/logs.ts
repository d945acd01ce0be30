/**
 * `ship logs`: the app's logs from every selected host, each line with its host. Where the
 * logs are comes from the stage: files under deploy_to (vars.log_files, default
 * shared/log/*.log), pm2's log files, or systemd's journal, by vars.logs or else by the
 * restart method (restart_with: pm2 → pm2, systemd → journald). Without -f the last lines of
 * every host are merged by the timestamp that starts them; with -f lines are shown as they
 * come, until Ctrl-C.
 */
import type { HostConfig, StageConfig } from '../config/types.js';
import { closeFleet, type HostSelection, mapSettled, openFleet, type RunEnv, runOn, selectHosts } from '../engine/index.js';
import { InterruptedError, UsageError } from '../errors.js';
import type { ServerPaths } from '../release/paths.js';
import { raw, type Command } from '../shell/command.js';
import { lines, sh } from '../shell/sh.js';

export type LogSource = { kind: 'files'; globs: string[] } | { kind: 'pm2'; app: string } | { kind: 'journald'; unit: string };

export const DEFAULT_LOG_FILES = 'shared/log/*.log';
/** A glob the shell may expand, and nothing else: no spaces, quotes, `$` or `;`. */
const GLOB = /^[A-Za-z0-9_.\-/*?[\]]+$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]*$/;

/** Where this host's app logs are. Throws a usage error naming the var that is wrong. */
export function logSource(stage: StageConfig, host: HostConfig): LogSource {
  const vars = { ...stage.vars, ...host.vars };
  const restart = vars.restart_with ?? '';
  const kind = vars.logs?.trim() || (restart === 'pm2' ? 'pm2' : restart === 'systemd' ? 'journald' : 'files');
  const service = vars.service?.trim() || stage.app;
  switch (kind) {
    case 'files': {
      const globs = (vars.log_files?.trim() || DEFAULT_LOG_FILES).split(/\s+/);
      const bad = globs.filter((g) => !GLOB.test(g) || g.split('/').includes('..'));
      if (bad.length)
        throw new UsageError(
          `vars.log_files: ${bad.map((b) => JSON.stringify(b)).join(', ')}: expected globs under deploy_to (letters, digits, . _ - / * ? [ ]), separated by spaces`,
        );
      return { kind, globs };
    }
    case 'pm2':
    case 'journald':
      if (!NAME.test(service)) throw new UsageError(`vars.service: ${JSON.stringify(service)} is not a ${kind === 'pm2' ? 'pm2 app' : 'systemd unit'} name`);
      return kind === 'pm2' ? { kind, app: service } : { kind, unit: service };
    default:
      throw new UsageError(`vars.logs: ${JSON.stringify(kind)} is not a log source (files, pm2 or journald)`);
  }
}

export interface LogOptions {
  lines: number;
  follow: boolean;
  grep?: string;
}

/** The command that prints (or follows) the logs of one host. */
export function logsCommand(source: LogSource, paths: ServerPaths, o: LogOptions): Command {
  if (source.kind === 'journald') return journalCommand(source.unit, o);
  const where =
    source.kind === 'pm2'
      ? lines(
          sh`cd -- "\${PM2_HOME:-$HOME/.pm2}/logs" 2>/dev/null || { echo 'no pm2 logs directory here' >&2; exit 0; }`,
          sh`set -- ${[`${pm2Name(source.app)}-out.log`, `${pm2Name(source.app)}-error.log`]}`,
        )
      : lines(
          sh`cd -- ${paths.root} 2>/dev/null || { printf 'nothing deployed in %s\\n' ${paths.root} >&2; exit 0; }`,
          sh`set -- ${raw(source.globs.join(' '))}`,
        );
  const what = source.kind === 'pm2' ? `pm2 logs of ${source.app}` : `${source.globs.join(' ')} under ${paths.root}`;
  return lines(
    where,
    // keep the names that are files (an unmatched glob stays itself): the list is read once, so shifting is safe
    sh`for __x in "$@"; do shift; if [ -f "$__x" ]; then set -- "$@" "$__x"; fi; done`,
    sh`if [ "$#" -eq 0 ]; then printf 'no log files: %s\\n' ${what} >&2; exit 0; fi`,
    readFiles(o),
  );
}

function readFiles(o: LogOptions): Command {
  if (o.follow)
    return o.grep === undefined ? sh`tail -q -n ${o.lines} -F -- "$@"` : sh`tail -q -n ${o.lines} -F -- "$@" | grep --line-buffered -E -- ${o.grep}`;
  return o.grep === undefined ? sh`tail -q -n ${o.lines} -- "$@"` : sh`grep -h -E -- ${o.grep} "$@" | tail -n ${o.lines}`;
}

function journalCommand(unit: string, o: LogOptions): Command {
  const base = sh`journalctl --unit=${unit} --no-pager --output=short-iso`;
  if (o.grep === undefined) return sh`${base} --lines=${o.lines}${raw(o.follow ? ' --follow' : '')}`;
  if (o.follow) return sh`${base} --lines=${o.lines} --follow | grep --line-buffered -E -- ${o.grep}`;
  return sh`${base} | grep -E -- ${o.grep} | tail -n ${o.lines}`;
}

/** pm2 names its log files after the app, with characters other than letters, digits, `_` and `-` as `-`. */
const pm2Name = (app: string) => app.replace(/[^A-Za-z0-9_-]/g, '-');

export interface LogLine {
  host: string;
  line: string;
  stream: 'stdout' | 'stderr';
}

/** An ISO-8601-like timestamp at the start of a line (2026-11-30T22:15:00, 2026-11-30 22:15:00.123). */
const STAMP = /^\[?(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?)/;

/**
 * Every host's lines in one list, in time order where lines say their time: a line without a
 * timestamp (a stack trace's) stays right after the line before it on its host. Stable: lines
 * of the same time keep host order. Pure.
 */
export function mergeByTime(perHost: LogLine[][]): LogLine[] {
  const keyed: { key: string; host: number; index: number; line: LogLine }[] = [];
  perHost.forEach((lines, host) => {
    let key = '';
    lines.forEach((line, index) => {
      const m = STAMP.exec(line.line);
      if (m) key = m[1]!.replace(' ', 'T').replace(',', '.');
      keyed.push({ key, host, index, line });
    });
  });
  return keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.host - b.host || a.index - b.index)).map((k) => k.line);
}

export interface LogsRun {
  /** A host's line, as it arrives (with -f) or once all are in, merged (without). */
  onLine(l: LogLine): void;
  /** A host that could not be read: the others go on. */
  onHostError(host: string, message: string): void;
}

/** Reads (or follows) the logs of the selected hosts. No lock: nothing is changed. */
export async function showLogs(stage: StageConfig, selection: HostSelection, o: LogOptions, env: RunEnv, out: LogsRun): Promise<void> {
  const hosts = selectHosts(stage, selection);
  const sources = new Map(hosts.map((h) => [h.name, logSource(stage, h)]));
  if (o.grep !== undefined) {
    try {
      new RegExp(o.grep);
    } catch (e) {
      throw new UsageError(`--grep ${JSON.stringify(o.grep)}: not a regular expression (${(e as Error).message})`);
    }
  }
  const { members } = await openFleet(stage, hosts, env);
  const collected = new Map<string, LogLine[]>(hosts.map((h) => [h.name, []]));
  const emit: RunEnv['emit'] = (e) => {
    if (e.event !== 'output') return;
    const line: LogLine = { host: e.host, line: e.line, stream: e.stream };
    if (o.follow) out.onLine(line);
    else collected.get(e.host)?.push(line);
  };
  try {
    await mapSettled(members, env.concurrency, async (m) => {
      const r = await runOn(
        { ...env, emit },
        {
          host: m.host.name,
          transport: m.transport,
          steps: [{ label: 'logs', command: logsCommand(sources.get(m.host.name)!, m.paths, o) }],
          ...(env.signal ? { signal: env.signal } : {}),
        },
      );
      if (!r.ok && !env.signal?.aborted) out.onHostError(m.host.name, r.error?.message ?? `exit ${r.exitCode}`);
    });
  } finally {
    await closeFleet(members);
  }
  if (env.signal?.aborted) throw new InterruptedError(o.follow ? 'stopped following the logs' : 'interrupted');
  for (const l of mergeByTime(hosts.map((h) => collected.get(h.name) ?? []))) out.onLine(l);
}
