import { formatMs, paint, printableValues } from './format.js';
import type { ShipEvent } from './events.js';
import type { Reporter, ReporterOptions } from './reporter.js';

/**
 * Output of `ship exec` and `ship run` for people: each host's output as one block, printed
 * when that host is done so hosts never interleave, then a line per host with how it ended.
 * No escape codes unless colour was asked for.
 */
/** Lines of a host's block kept until it is printed: the last ones, so a command printing without bound cannot fill memory. */
const KEEP_LINES = 10_000;

/** The last `max` lines of one host, and how many came before them. */
class HostLines {
  private kept: string[] = [];
  private trimmed = 0;

  constructor(private readonly max: number) {}

  push(line: string): void {
    this.kept.push(line);
    // trimmed in batches: each line is copied a bounded number of times
    if (this.kept.length >= 2 * this.max) {
      this.trimmed += this.kept.length - this.max;
      this.kept = this.kept.slice(-this.max);
    }
  }

  lines(): string[] {
    return this.kept.length <= this.max ? this.kept : this.kept.slice(-this.max);
  }

  get dropped(): number {
    return this.trimmed + Math.max(0, this.kept.length - this.max);
  }
}

export function groupedReporter(o: ReporterOptions): Reporter {
  const c = o.color ?? false;
  const write = (text: string) => o.out.write(`${o.redact(text)}\n`);
  const lines = new Map<string, HostLines>();
  const ended = new Map<string, { exitCode: number | null; ms: number; error?: string }>();
  const order: string[] = [];
  const seen = (host: string) => {
    if (!lines.has(host)) {
      lines.set(host, new HostLines(KEEP_LINES));
      order.push(host);
    }
    return lines.get(host)!;
  };
  const verdict = (host: string) => {
    const r = ended.get(host);
    if (!r) return paint(c, '33', 'did not finish');
    if (r.exitCode === 0) return paint(c, '32', `ok in ${formatMs(r.ms)}`);
    if (r.exitCode === null) return paint(c, '31', r.error ?? 'not run');
    return paint(c, '31', `exit ${r.exitCode} after ${formatMs(r.ms)}`);
  };
  const printed = new Set<string>();
  const block = (host: string) => {
    if (printed.has(host)) return;
    printed.add(host);
    write(`${paint(c, '1', host)}  ${verdict(host)}`);
    const kept = lines.get(host);
    if (kept?.dropped) write(`  ${paint(c, '2', `[${kept.dropped} earlier lines not shown]`)}`);
    for (const l of kept?.lines() ?? []) write(`  ${l}`);
  };

  return {
    emit(event) {
      const e = printableValues(event);
      switch (e.event) {
        case 'host:connect':
          if (!e.ok) write(`${paint(c, '1', e.host)}  ${paint(c, '31', `cannot connect: ${e.error}`)}`);
          return;
        case 'lock':
          if (!e.ok) write(`${paint(c, '1', e.host)}  ${paint(c, '33', `stage is locked: ${e.holder}`)}`);
          return;
        case 'task:start':
          // a task with hooks runs several steps: name each; a plain exec needs no heading
          if (e.task !== 'exec') seen(e.host).push(paint(c, '2', `▸ ${e.task}`));
          else seen(e.host);
          return;
        case 'output':
          seen(e.host).push(e.line);
          return;
        case 'task:end':
          if (e.exitCode !== 0 && e.task !== 'exec') seen(e.host).push(paint(c, '31', `${e.task} failed with exit ${e.exitCode}`));
          return;
        case 'host:done':
          seen(e.host);
          ended.set(e.host, { exitCode: e.exitCode, ms: e.ms, ...(e.error ? { error: e.error } : {}) });
          block(e.host);
          return;
        case 'log':
          write(`${e.host ? `${e.host}: ` : ''}${e.level === 'info' ? e.message : paint(c, e.level === 'warn' ? '33' : '31', `${e.level}: ${e.message}`)}`);
          return;
        case 'exec:end':
        case 'run:end':
          for (const h of order) block(h);
          for (const line of summary(e, order.length ? order : Object.keys(e.hosts), (h) => ended.get(h)?.exitCode === 0, verdict, c)) write(line);
          return;
        default:
          return;
      }
    },
    close: async () => {},
  };
}

/** The closing lines of exec and run: a line per host when there are several, then the verdict. */
function summary(
  e: Extract<ShipEvent, { event: 'exec:end' | 'run:end' }>,
  hosts: string[],
  succeeded: (host: string) => boolean,
  verdict: (host: string) => string,
  c: boolean,
): string[] {
  const out: string[] = [];
  if (hosts.length > 1) {
    const width = Math.max(...hosts.map((h) => h.length));
    out.push('', ...hosts.map((h) => `${h.padEnd(width)}  ${verdict(h)}`));
  }
  const failed = hosts.filter((h) => !succeeded(h));
  const what = e.event === 'exec:end' ? 'exec' : `run ${e.task ?? ''}`.trim();
  if (e.ok) out.push(paint(c, '32', `${what}: ok on ${hosts.length} host(s) in ${formatMs(e.ms)}`));
  // nothing ran (a host unreachable, the stage locked): the reason follows on stderr
  else
    out.push(
      paint(c, '31', failed.length ? `${what}: failed on ${failed.length} of ${hosts.length} host(s)` : `${what}: nothing was run (exit ${e.exitCode})`),
    );
  return out;
}
