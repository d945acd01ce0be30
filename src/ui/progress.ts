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
  command?: string; // of the step running (or failed), as the event gave it (redacted)
  stepStartedAt?: number;
  startedAt?: number;
  endedAt?: number;
  lastLine?: string; // latest output line, shown under a running row
  stderrTail: string[];
  failure?: string; // what failed and the command; the stderr tail is added when shown
  lockedOut?: boolean; // refused by a held lock: with --lock-wait, a later try may still take it
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
 * prepared; a rollback switches hosts back, then records history): each script after the
 * first gets the next row of that host, so a finished row never has to come back to life.
 */
export const ROWS_PER_HOST = 3;
/** With more hosts than this in a phase, hosts that finished well are folded into the phase title. */
export const COLLAPSE_AT = 6;
/**
 * The steps that end a host's script in the protocol (src/deploy/deploy.ts, rollback.ts): the
 * row closes on them, so a host that is done stops spinning while slow ones still run. Other
 * rows close when the phase ends.
 */
const LAST_STEPS = new Set(['prepared', 'unlock']);
const STDERR_LINES = 6;
const COMMAND_CHARS = 160;

/**
 * A command on one line, shortened: the full one is in the deploy log. A task's wrapper
 * (`( set -e; cd -- <release>; { ... } )`, src/deploy/tasks.ts) is left out: the task's own
 * text is what the reader wrote and looks for.
 */
export function shortCommand(command: string): string {
  const task = /^\( set -e; cd -- \S+; \{ ([\s\S]*); \} \)$/.exec(command.trim());
  const one = (task ? task[1]! : command).replace(/\s*\n\s*/g, ' ↵ ').trim();
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
  const known = [...o.hosts];
  let phase: Phase | undefined;
  let started: RunStart | undefined;
  const learn = (host: string) => {
    if (!known.includes(host)) known.push(host);
  };

  const close = () => {
    if (!phase) return;
    const p = phase;
    phase = undefined;
    for (const r of p.rows) if (r.status === 'running') finish(p, r);
    p.ended = true;
    p.endedAt = o.now();
    o.view.phaseEnded(p);
  };
  const open = (name: string): Phase => {
    close();
    const rows = known.flatMap((host) => Array.from({ length: ROWS_PER_HOST }, (): Row => ({ host, status: 'idle', steps: [], stderrTail: [] })));
    phase = { name, rows, startedAt: o.now(), ended: false };
    o.view.phaseStarted(phase);
    return phase;
  };
  // events outside any announced phase: connecting and locking, or a rollback's switch
  const ensure = () => phase ?? open(started ? started.kind : 'connect');
  const changed = (p: Phase, r: Row) => o.view.rowChanged(p, r);
  const finish = (p: Phase, r: Row) => {
    r.status = 'ok';
    r.step = undefined;
    r.endedAt = o.now();
    changed(p, r);
  };
  const fail = (p: Phase, r: Row, failure: string) => {
    r.status = 'failed';
    r.failure = failure;
    r.endedAt = o.now();
    changed(p, r);
  };
  const running = (host: string) => phase?.rows.find((r) => r.host === host && r.status === 'running');
  /** The row of this host's current script, started if needed; undefined when none is left. */
  const rowFor = (host: string): { p: Phase; r: Row } | undefined => {
    learn(host);
    const p = ensure();
    const r = running(host) ?? p.rows.find((x) => x.host === host && x.status === 'idle');
    if (!r) return undefined;
    if (r.status === 'idle') {
      r.status = 'running';
      r.startedAt = o.now();
    }
    return { p, r };
  };
  const note = (text: string) => o.view.noted(phase, text);

  const apply = (e: ShipEvent): void => {
    switch (e.event) {
      case 'host:connect': {
        const at = rowFor(e.host);
        if (!at) return note(`${e.host}: ${e.ok ? 'connected' : `cannot connect: ${e.error}`}`);
        if (!e.ok) return fail(at.p, at.r, `cannot connect: ${e.error ?? 'unknown error'}`);
        at.r.steps.push(`connected in ${formatMs(e.ms)}`);
        return changed(at.p, at.r);
      }
      case 'lock': {
        // --lock-wait tries again: the row that was refused comes back when the lock is taken
        const waited = phase?.rows.find((r) => r.host === e.host && r.lockedOut);
        if (waited && e.ok) {
          Object.assign(waited, { status: 'running', failure: undefined, lockedOut: false });
          waited.steps.push('locked after waiting');
          return finish(phase!, waited);
        }
        if (waited) return; // still held: the row already says by whom
        if (e.ok && phase?.rows.some((r) => r.host === e.host && r.status === 'ok' && r.steps.includes('locked'))) return; // taken again after a wait
        const at = rowFor(e.host);
        if (!at) return note(`${e.host}: ${e.ok ? 'locked' : `locked by someone else: ${e.holder}`}`);
        if (!e.ok) {
          at.r.lockedOut = true;
          return fail(at.p, at.r, `stage is locked: ${e.holder ?? 'by another run'}`);
        }
        at.r.steps.push('locked');
        // a deploy's lock script goes on with the code: the row carries on until it is done
        return e.continues ? changed(at.p, at.r) : finish(at.p, at.r);
      }
      case 'deploy:start':
      case 'rollback:start':
        close();
        e.hosts.forEach(learn);
        started = e.event === 'deploy:start'
          ? { kind: 'deploy', hosts: e.hosts, release: e.release, revision: e.revision, ...(e.branch ? { branch: e.branch } : {}) }
          : { kind: 'rollback', hosts: e.hosts, ...(e.target ? { release: e.target } : {}) };
        return;
      case 'phase':
        open(e.phase);
        return;
      case 'task:start': {
        const at = rowFor(e.host);
        if (!at) return note(`${e.host}: ${e.task}`);
        Object.assign(at.r, { step: e.task, command: e.command, stepStartedAt: o.now(), stderrTail: [], lastLine: undefined });
        return changed(at.p, at.r);
      }
      case 'output': {
        // stderr travels apart from stdout: its last lines may come after the failing step ended
        const r = running(e.host) ?? [...(phase?.rows ?? [])].reverse().find((x) => x.host === e.host && x.status === 'failed');
        if (!r || !phase || !e.line.trim()) return;
        r.lastLine = e.line;
        if (e.stream === 'stderr') r.stderrTail = [...r.stderrTail, e.line].slice(-STDERR_LINES);
        return changed(phase, r);
      }
      case 'task:end': {
        const r = running(e.host);
        if (!r || !phase) return note(`${e.host}: ${e.task} ${e.exitCode === 0 ? 'ok' : `failed with exit ${e.exitCode}`}`);
        if (e.exitCode !== 0) {
          const lines = [`${e.task} failed with exit ${e.exitCode} after ${formatMs(e.ms)}`];
          if (r.command) lines.push(`$ ${shortCommand(r.command)}`);
          return fail(phase, r, lines.join('\n'));
        }
        r.steps.push(e.task);
        r.step = undefined;
        r.lastLine = undefined;
        return LAST_STEPS.has(e.task) ? finish(phase, r) : changed(phase, r);
      }
      case 'publish': {
        const at = rowFor(e.host);
        if (!at) return note(`${e.host}: current -> ${e.release}`);
        at.r.step = `switching to ${e.release}`;
        return changed(at.p, at.r);
      }
      case 'health': {
        const at = rowFor(e.host);
        if (!at) return note(`${e.host}: health ${e.ok ? 'ok' : e.detail}`);
        if (!e.final) {
          at.r.step = `health check #${e.attempt}${e.ok ? '' : `: ${e.detail}`}`;
          at.r.stepStartedAt ??= o.now();
          return changed(at.p, at.r);
        }
        if (!e.ok) return fail(at.p, at.r, `unhealthy after ${e.attempt} attempt(s): ${e.detail}`);
        // a host may have several checks (by role): the row stays open for the next one
        at.r.steps.push('healthy');
        at.r.step = undefined;
        return changed(at.p, at.r);
      }
      case 'rollback': {
        // a host that could not be put back has already failed its row; say where it ended
        if (!e.ok) note(`${e.host}: could not be put back${e.reason ? `: ${e.reason}` : ''}`);
        return;
      }
      case 'prune':
        if (e.removed.length) note(`${e.host}: pruned ${e.removed.join(', ')}`);
        return;
      case 'log':
        return note(`${e.level === 'info' ? '' : `${e.level}: `}${e.host ? `${e.host}: ` : ''}${e.message}`);
      case 'deploy:end':
      case 'rollback:end':
        close();
        o.view.finished(summary(e, started), e.ok);
        return;
      default:
        return;
    }
  };

  return {
    apply,
    end: close,
    current: () => phase,
    width: () => Math.max(0, ...known.map((h) => h.length)),
  };
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
