import type { Writable } from 'node:stream';
import type { ListingEvent, ShipEvent } from './events.js';
import { formatMs, paint, printableValues, whereHostsStand } from './format.js';
import { type Redact, redactValues } from './redact.js';

/** Receives every event of a run and owns all of its output. */
export interface Reporter {
  emit(e: ShipEvent): void;
  /** Called once at the end; flushes anything buffered. */
  close(): Promise<void>;
}

export interface ReporterOptions {
  stage: string;
  out: Writable;
  redact: Redact;
  now?: () => Date;
  verbose?: boolean;
  color?: boolean;
}

/** Where NDJSON goes: every line stamped with the time and the stage (none for ship init). */
export interface JsonOptions {
  stage: string | undefined;
  out: Writable;
  redact: Redact;
  now?: () => Date;
}

/**
 * The one writer of NDJSON: one JSON object per line, `ts`, `event` and `stage` first (readable
 * by eye and by `jq -c`), then the event's own fields, every string (keys too) redacted before
 * serialising.
 */
export function jsonWriter(o: JsonOptions): (e: ShipEvent | ListingEvent) => void {
  const now = o.now ?? (() => new Date());
  return (e) => {
    const { event, ...rest } = e;
    o.out.write(`${JSON.stringify(redactValues({ ts: now().toISOString(), event, stage: o.stage, ...rest }, o.redact))}\n`);
  };
}

/** `--json`: the run's events as NDJSON on stdout (logs go to stderr). */
export function jsonReporter(o: ReporterOptions): Reporter {
  return { emit: jsonWriter(o), close: async () => {} };
}

/**
 * Plain lines for CI logs and non-terminals: one timestamped line per event, prefixed with
 * the host, no escape codes unless colour was asked for. Output lines are whole lines only.
 */
export function plainReporter(o: ReporterOptions): Reporter {
  const now = o.now ?? (() => new Date());
  const c = o.color ?? false;
  const line = (host: string | undefined, text: string) => {
    const ts = now()
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, 'Z');
    // the lines after the first of a message are indented: text from a host cannot pass for a line of ship's
    const body = text.replace(/\n/g, '\n    ');
    o.out.write(`${o.redact(`${paint(c, '2', ts)} ${host ? `${paint(c, '36', `[${host}]`)} ` : ''}${body}`)}\n`);
  };
  // the failing answer last shown per host: the same answer again is folded into that line
  const lastFailure = new Map<string, string>();
  const health = (e: Extract<ShipEvent, { event: 'health' }>) => {
    if (e.final) {
      lastFailure.delete(e.host);
      return line(e.host, e.ok ? paint(c, '32', `healthy: ${e.detail}`) : paint(c, '31', `unhealthy after ${e.attempt} attempt(s): ${e.detail}`));
    }
    if (o.verbose) return line(e.host, `health attempt ${e.attempt}: ${e.detail}`);
    if (e.ok || lastFailure.get(e.host) === e.detail) return;
    lastFailure.set(e.host, e.detail);
    return line(e.host, `health attempt ${e.attempt}: ${e.detail} (asking again until healthy)`);
  };
  return {
    emit(event) {
      const e = printableValues(event);
      switch (e.event) {
        case 'deploy:start':
          return line(undefined, `deploying ${e.revision.slice(0, 12)}${e.branch ? ` (${e.branch})` : ''} as release ${e.release} to ${e.hosts.join(', ')}`);
        case 'rollback:start':
          return line(undefined, `rolling back ${e.hosts.join(', ')}${e.target ? ` to ${e.target}` : ''}`);
        case 'host:connect':
          return e.ok ? (o.verbose ? line(e.host, `connected (${formatMs(e.ms)})`) : undefined) : line(e.host, paint(c, '31', `cannot connect: ${e.error}`));
        case 'lock':
          return e.ok ? (o.verbose ? line(e.host, 'locked') : undefined) : line(e.host, paint(c, '33', `locked: ${e.holder}`));
        case 'phase':
          return line(undefined, paint(c, '1', `-- ${e.phase}`));
        case 'task:start':
          return o.verbose ? line(e.host, `${e.task}: ${e.command ?? ''}`) : undefined;
        case 'task:end':
          return e.exitCode === 0
            ? line(e.host, `${e.task} ${paint(c, '32', 'ok')} (${formatMs(e.ms)})`)
            : line(e.host, paint(c, '31', `${e.task} failed with exit ${e.exitCode} (${formatMs(e.ms)})`));
        case 'output':
          return o.verbose ? line(e.host, `${e.stream === 'stderr' ? '! ' : '| '}${e.line}`) : undefined;
        case 'publish':
          return line(e.host, `current -> ${e.release}${e.previous ? ` (was ${e.previous})` : ''}`);
        case 'health':
          return health(e);
        case 'rollback':
          return line(
            e.host,
            rollbackLine(e, (s) => paint(c, '31', s)),
          );
        case 'prune':
          return e.removed.length ? line(e.host, `pruned ${e.removed.join(', ')}`) : undefined;
        case 'log':
          return line(e.host, e.level === 'info' ? e.message : paint(c, e.level === 'warn' ? '33' : '31', `${e.level}: ${e.message}`));
        case 'deploy:end':
        case 'rollback:end': {
          const what = e.event === 'deploy:end' ? 'deploy' : 'rollback';
          const where = whereHostsStand(e.current, e.ok ? e.release : undefined);
          return line(
            undefined,
            e.ok
              ? paint(c, '32', `${what} done: release ${e.release} in ${formatMs(e.ms)}${where}`)
              : paint(c, '31', `${what} failed (exit ${e.exitCode}) after ${formatMs(e.ms)}${where}`),
          );
        }
      }
    },
    close: async () => {},
  };
}

/** A host's line of a rollback: where it was sent and, when that failed, where it really is. */
function rollbackLine(e: Extract<ShipEvent, { event: 'rollback' }>, red: (s: string) => string): string {
  const to = e.to ?? '(none)';
  if (e.ok) return `rolled back: current -> ${to}`;
  return `${red('ROLLBACK FAILED')}: target ${to}, current is ${e.current ?? '(none)'}${e.reason ? ` (${e.reason})` : ''}`;
}

/** The same events to several reporters: the screen and the deploy log. */
export function teeReporter(...reporters: Reporter[]): Reporter {
  return {
    emit(e) {
      for (const r of reporters) r.emit(e);
    },
    close: async () => {
      await Promise.all(reporters.map((r) => r.close()));
    },
  };
}
