import type { ShipEvent } from './events.js';
import { formatMs } from './format.js';

/**
 * What the terminal tree shows, worked out from the event stream alone and kept apart from
 * listr2 so it is testable without a terminal: phases (connect, prepare, publish...), and in
 * each one line per host with its current step and timing, or its failure in place.
 */

export type RowStatus = 'idle' | 'running' | 'ok' | 'failed';

export interface Row {
  host: string;
  status: RowStatus;
  steps: string[]; // finished in this row, in order
  step?: string; // running now
  command?: string; // of the step running (or failed): its display text, else its whole command (redacted)
  stepStartedAt?: number;
  startedAt?: number;
  endedAt?: number;
  lastLine?: string; // latest output line, shown under a running row
  stderrTail: string[];
  failure?: string; // what failed and the command; the stderr tail is added when shown
  lockedOut?: boolean; // refused by a held lock: with --lock-wait, a later try may still take it
  awaitsHealth?: boolean; // its script swaps `current`: the host's health check follows the script's end
}

export interface Phase {
  name: string;
  /** ROWS_PER_HOST rows per host, hosts in stage order; an idle row is not shown. */
  rows: Row[];
  startedAt: number;
  endedAt?: number;
  ended: boolean;
}

/** What the listr2 binding does with the changes (src/ui/tree.ts). */
export interface ProgressView {
  phaseStarted(p: Phase): void;
  rowChanged(p: Phase, r: Row): void;
  phaseEnded(p: Phase): void;
  /** A log line: under the running phase, or on its own line between phases. */
  noted(p: Phase | undefined, text: string): void;
  finished(lines: string[], ok: boolean): void;
}

/**
 * A host may run more than one script in a phase (the primary migrates after every host is
 * prepared): a script that starts after the host's row closed gets the next row of that host,
 * so a finished row never has to come back to life. Rows still open close when the phase ends.
 */
export const ROWS_PER_HOST = 3;
/** With more hosts than this in a phase, hosts that finished well are folded into the phase title. */
export const COLLAPSE_AT = 6;
const STDERR_LINES = 6;
const COMMAND_CHARS = 160;

/** A command on one line, shortened: the full one is in the deploy log. */
export function shortCommand(command: string): string {
  const one = command.replace(/\s*\n\s*/g, ' ↵ ').trim();
  return one.length > COMMAND_CHARS ? `${one.slice(0, COMMAND_CHARS - 1)}…` : one;
}

const hostsIn = (p: Phase) => new Set(p.rows.filter((r) => r.status !== 'idle').map((r) => r.host));

export const collapsed = (p: Phase): boolean => hostsIn(p).size > COLLAPSE_AT;

/** The text of a row ('' when it is not shown). */
export function rowTitle(p: Phase, r: Row, width: number, now: number): string {
  const host = r.host.padEnd(width);
  switch (r.status) {
    case 'idle':
      return '';
    case 'running': {
      const step = r.step ?? (r.steps.length ? `${r.steps.at(-1)} ✓` : 'starting');
      return `${host}  ${step}${r.step && r.stepStartedAt !== undefined ? `  ${formatMs(now - r.stepStartedAt)}` : ''}`;
    }
    case 'ok':
      if (collapsed(p)) return '';
      return `${host}  ${r.steps.join(', ') || 'done'}  ${formatMs((r.endedAt ?? now) - (r.startedAt ?? now))}`;
    case 'failed':
      return [`${host}  ${r.failure ?? 'failed'}`, ...r.stderrTail].join('\n');
  }
}

export function phaseTitle(p: Phase): string {
  const hosts = hostsIn(p);
  const rows = p.rows.filter((r) => r.status !== 'idle');
  const failed = new Set(rows.filter((r) => r.status === 'failed').map((r) => r.host));
  const running = new Set(rows.filter((r) => r.status === 'running').map((r) => r.host));
  const parts: string[] = [];
  if (p.ended) parts.push(`${hosts.size} host${hosts.size === 1 ? '' : 's'}`);
  else if (hosts.size > 1) parts.push(`${hosts.size - running.size}/${hosts.size} hosts done`);
  if (failed.size) parts.push(`${failed.size} failed`);
  const title = parts.length && hosts.size ? `${p.name} · ${parts.join(', ')}` : p.name;
  return p.endedAt === undefined ? title : `${title}  ${formatMs(p.endedAt - p.startedAt)}`;
}

export interface Progress {
  apply(e: ShipEvent): void;
  /** Ends the running phase (the run is over); rows still running count as done. */
  end(): void;
  /** The phase shown now, for refreshing timings. */
  current(): Phase | undefined;
  /** Width of the host column. */
  width(): number;
}

export function createProgress(o: { hosts: string[]; now: () => number; view: ProgressView }): Progress {
  return new ProgressModel(o.hosts, o.now, o.view);
}

type Of<K extends ShipEvent['event']> = Extract<ShipEvent, { event: K }>;

/** A row and the phase it is in. */
interface At {
  p: Phase;
  r: Row;
}

class ProgressModel implements Progress {
  private readonly known: string[];
  private phase: Phase | undefined;
  private started: RunStart | undefined;

  constructor(
    hosts: string[],
    private readonly now: () => number,
    private readonly view: ProgressView,
  ) {
    this.known = [...hosts];
  }

  apply(e: ShipEvent): void {
    switch (e.event) {
      case 'host:connect':
        return this.connected(e);
      case 'lock':
        return this.locked(e);
      case 'deploy:start':
      case 'rollback:start':
        return this.runStarted(e);
      case 'phase':
        this.open(e.phase);
        return;
      case 'task:start':
        return this.taskStarted(e);
      case 'output':
        return this.output(e);
      case 'task:end':
        return this.taskEnded(e);
      case 'publish': {
        const at = this.rowFor(e.host);
        if (!at) return this.note(`${e.host}: current -> ${e.release}`);
        at.r.step = `switching to ${e.release}`;
        return this.changed(at);
      }
      case 'health':
        return this.health(e);
      case 'rollback':
        // a host that could not be put back has already failed its row; say where it ended
        if (!e.ok) this.note(`${e.host}: could not be put back on ${e.to ?? '(none)'}, current is ${e.current ?? '(none)'}${e.reason ? `: ${e.reason}` : ''}`);
        return;
      case 'prune':
        if (e.removed.length) this.note(`${e.host}: pruned ${e.removed.join(', ')}`);
        return;
      case 'log':
        return this.note(`${e.level === 'info' ? '' : `${e.level}: `}${e.host ? `${e.host}: ` : ''}${e.message}`);
      case 'deploy:end':
      case 'rollback:end':
        this.end();
        this.view.finished(summary(e, this.started), e.ok);
        return;
      default:
        return;
    }
  }

  end(): void {
    const p = this.phase;
    if (!p) return;
    this.phase = undefined;
    for (const r of p.rows) if (r.status === 'running') this.finish({ p, r });
    p.ended = true;
    p.endedAt = this.now();
    this.view.phaseEnded(p);
  }

  current(): Phase | undefined {
    return this.phase;
  }

  width(): number {
    return Math.max(0, ...this.known.map((h) => h.length));
  }

  private connected(e: Of<'host:connect'>): void {
    const at = this.rowFor(e.host);
    if (!at) return this.note(`${e.host}: ${e.ok ? 'connected' : `cannot connect: ${e.error}`}`);
    if (!e.ok) return this.fail(at, `cannot connect: ${e.error ?? 'unknown error'}`);
    at.r.steps.push(`connected in ${formatMs(e.ms)}`);
    this.changed(at);
  }

  private locked(e: Of<'lock'>): void {
    // --lock-wait tries again: the row that was refused comes back when the lock is taken
    const p = this.phase;
    const waited = p?.rows.find((r) => r.host === e.host && r.lockedOut);
    if (p && waited && e.ok) {
      Object.assign(waited, { status: 'running', failure: undefined, lockedOut: false });
      waited.steps.push('locked after waiting');
      return this.finish({ p, r: waited });
    }
    if (waited) return; // still held: the row already says by whom
    if (e.ok && p?.rows.some((r) => r.host === e.host && r.status === 'ok' && r.steps.includes('locked'))) return; // taken again after a wait
    const at = this.rowFor(e.host);
    if (!at) return this.note(`${e.host}: ${e.ok ? 'locked' : `locked by someone else: ${e.holder}`}`);
    if (!e.ok) {
      at.r.lockedOut = true;
      return this.fail(at, `stage is locked: ${e.holder ?? 'by another run'}`);
    }
    at.r.steps.push('locked');
    // a deploy's lock script goes on with the code: the row carries on until it is done
    return e.continues ? this.changed(at) : this.finish(at);
  }

  private runStarted(e: Of<'deploy:start' | 'rollback:start'>): void {
    this.end();
    for (const h of e.hosts) this.learn(h);
    this.started =
      e.event === 'deploy:start'
        ? { kind: 'deploy', hosts: e.hosts, release: e.release, revision: e.revision, ...(e.branch ? { branch: e.branch } : {}) }
        : { kind: 'rollback', hosts: e.hosts, ...(e.target ? { release: e.target } : {}) };
  }

  private taskStarted(e: Of<'task:start'>): void {
    const at = this.rowFor(e.host);
    if (!at) return this.note(`${e.host}: ${e.task}`);
    // a task shows its own text, which is what its author wrote and looks for
    Object.assign(at.r, { step: e.task, command: e.display ?? e.command, stepStartedAt: this.now(), stderrTail: [], lastLine: undefined });
    if (e.kind === 'swap') at.r.awaitsHealth = true;
    this.changed(at);
  }

  private output(e: Of<'output'>): void {
    // stderr travels apart from stdout: its last lines may come after the failing step ended
    const p = this.phase;
    const r = this.running(e.host) ?? [...(p?.rows ?? [])].reverse().find((x) => x.host === e.host && x.status === 'failed');
    if (!r || !p || !e.line.trim()) return;
    r.lastLine = e.line;
    if (e.stream === 'stderr') r.stderrTail = [...r.stderrTail, e.line].slice(-STDERR_LINES);
    this.changed({ p, r });
  }

  private taskEnded(e: Of<'task:end'>): void {
    const p = this.phase;
    const r = this.running(e.host);
    if (!r || !p) return this.note(`${e.host}: ${e.task} ${e.exitCode === 0 ? 'ok' : `failed with exit ${e.exitCode}`}`);
    if (e.exitCode !== 0) {
      const lines = [`${e.task} failed with exit ${e.exitCode} after ${formatMs(e.ms)}`];
      if (r.command) lines.push(`$ ${shortCommand(r.command)}`);
      return this.fail({ p, r }, lines.join('\n'));
    }
    r.steps.push(e.task);
    r.step = undefined;
    r.lastLine = undefined;
    if (!e.last) return this.changed({ p, r });
    // the end of a host's script closes its row, so a host that is done stops spinning while
    // slow ones still run; after a swap the health check is still to come on this row
    if (!r.awaitsHealth) return this.finish({ p, r });
    r.awaitsHealth = false;
    this.changed({ p, r });
  }

  private health(e: Of<'health'>): void {
    const at = this.rowFor(e.host);
    if (!at) return this.note(`${e.host}: health ${e.ok ? 'ok' : e.detail}`);
    if (!e.final) {
      at.r.step = `health check #${e.attempt}${e.ok ? '' : `: ${e.detail}`}`;
      at.r.stepStartedAt ??= this.now();
      return this.changed(at);
    }
    if (!e.ok) return this.fail(at, `unhealthy after ${e.attempt} attempt(s): ${e.detail}`);
    // a host may have several checks (by role): the row stays open for the next one
    at.r.steps.push('healthy');
    at.r.step = undefined;
    this.changed(at);
  }

  private learn(host: string): void {
    if (!this.known.includes(host)) this.known.push(host);
  }

  private open(name: string): Phase {
    this.end();
    const rows = this.known.flatMap((host) => Array.from({ length: ROWS_PER_HOST }, (): Row => ({ host, status: 'idle', steps: [], stderrTail: [] })));
    const p: Phase = { name, rows, startedAt: this.now(), ended: false };
    this.phase = p;
    this.view.phaseStarted(p);
    return p;
  }

  /** The row of this host's current script, started if needed; undefined when none is left. */
  private rowFor(host: string): At | undefined {
    this.learn(host);
    // events outside any announced phase: connecting and locking, or a rollback's switch
    const p = this.phase ?? this.open(this.started ? this.started.kind : 'connect');
    const r = this.running(host) ?? p.rows.find((x) => x.host === host && x.status === 'idle');
    if (!r) return undefined;
    if (r.status === 'idle') {
      r.status = 'running';
      r.startedAt = this.now();
    }
    return { p, r };
  }

  private running(host: string): Row | undefined {
    return this.phase?.rows.find((r) => r.host === host && r.status === 'running');
  }

  private changed(at: At): void {
    this.view.rowChanged(at.p, at.r);
  }

  private finish(at: At): void {
    at.r.status = 'ok';
    at.r.step = undefined;
    at.r.endedAt = this.now();
    this.changed(at);
  }

  private fail(at: At, failure: string): void {
    at.r.status = 'failed';
    at.r.failure = failure;
    at.r.endedAt = this.now();
    this.changed(at);
  }

  private note(text: string): void {
    this.view.noted(this.phase, text);
  }
}

type EndEvent = Extract<ShipEvent, { event: 'deploy:end' | 'rollback:end' }>;

/** What deploy:start or rollback:start said, for the summary. */
interface RunStart {
  kind: 'deploy' | 'rollback';
  hosts: string[];
  release?: string;
  revision?: string;
  branch?: string;
}

/** The closing lines: what was deployed where, or what failed and where every host stands. */
export function summary(e: EndEvent, start: RunStart | undefined): string[] {
  const hosts = Object.keys(e.current);
  const n = hosts.length || start?.hosts.length || 0;
  const on = `${n} host${n === 1 ? '' : 's'}`;
  if (e.ok && e.event === 'deploy:end') {
    const rev = (e.revision ?? start?.revision ?? '').slice(0, 12);
    return [`deployed ${rev}${start?.branch ? ` (${start.branch})` : ''} as release ${e.release} to ${on} in ${formatMs(e.ms)}`];
  }
  if (e.ok) return [`rolled back to release ${e.release} on ${on} in ${formatMs(e.ms)}`];
  const what = e.event === 'deploy:end' ? 'deploy' : 'rollback';
  const width = Math.max(0, ...hosts.map((h) => h.length));
  // the error itself follows on stderr, from the entry point
  return [
    `${what} failed (exit ${e.exitCode}) after ${formatMs(e.ms)}${hosts.length ? '; where each host stands:' : ''}`,
    ...hosts.map((h) => `  ${h.padEnd(width)}  current -> ${e.current[h] ?? '(none)'}`),
  ];
}
