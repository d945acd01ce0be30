import { randomBytes } from 'node:crypto';
import { RemoteCommandError } from '../errors.js';
import { formatDuration } from '../config/index.js';
import { parseMarker, renderSteps, scriptOf, STEP_TIMEOUT_MS, TIMED_OUT, type Step, type StepKind } from '../shell/script.js';
import { LineSplitter, TailText } from '../transport/output.js';
import type { ExecResult, OutputStream, Transport } from '../transport/types.js';
import type { Emit, ShipEvent } from '../ui/events.js';
import type { Redact } from '../ui/redact.js';

export interface StepOutcome {
  label: string;
  kind?: StepKind;
  exitCode: number | undefined; // undefined: never ran
  /** It exited with its step's skipCode: nothing to do (the exit code is then reported as 0). */
  skipped?: boolean;
  /** It ran longer than its timeout and was stopped (its exit code is then TIMED_OUT). */
  timedOut?: boolean;
  ms: number;
  stdout: string;
  stderr: string;
}

export interface ScriptOutcome {
  ok: boolean;
  exitCode: number;
  steps: StepOutcome[];
  error?: RemoteCommandError;
}

export interface RunStepsOptions {
  host: string;
  transport: Transport;
  steps: Step[];
  env?: Record<string, string>;
  emit: Emit;
  redact: Redact;
  signal?: AbortSignal;
  /** Report task:start/task:end and output lines (false for bookkeeping scripts like inspect). */
  quiet?: boolean;
  /** Told as each step ends, while the script goes on (a lock taken, before the work after it). */
  onStepEnd?: (index: number, step: StepOutcome) => void;
}

/** How one host's steps are run: the real runner (runSteps) or a stand-in (a dry run records them). */
export type StepRunner = (o: RunStepsOptions) => Promise<ScriptOutcome>;

/** The outcome of the step of a kind, if the script has one. */
export const stepOfKind = (o: Pick<ScriptOutcome, 'steps'> | undefined, kind: StepKind): StepOutcome | undefined => o?.steps.find((s) => s.kind === kind);

const STDERR_TAIL = 12;
/** Output kept per step and stream (its tail): what the run reads back and error tails come from. */
const STEP_TAIL = 1024 * 1024;

/** Runs the steps as one script on one host, one round trip, streaming output line by line. */
export async function runSteps(o: RunStepsOptions): Promise<ScriptOutcome> {
  if (o.steps.length === 0) return { ok: true, exitCode: 0, steps: [] };
  const nonce = randomBytes(8).toString('hex');
  const rendered = renderSteps(o.steps);
  const timer = new StepTimer(o.steps, o.signal);
  const reader = new ScriptReader(
    o,
    rendered.map((r) => r.text),
    nonce,
    timer,
  );
  const script = scriptOf(rendered, { nonce, ...(o.env ? { env: o.env } : {}) });
  let result: ExecResult;
  try {
    result = await o.transport.runScript(script, { onData: (stream, chunk) => reader.read(stream, chunk), signal: timer.signal });
  } catch (e) {
    // stopped at a step's timeout (not by the run's own interrupt): that step failed
    if (timer.expired === undefined || o.signal?.aborted) throw e;
    result = { exitCode: TIMED_OUT, stdout: '', stderr: '' };
  } finally {
    timer.disarm();
  }
  reader.flush();
  if (timer.expired !== undefined) return reader.failed(result, timer.note(timer.expired));
  return result.exitCode === 0 ? { ok: true, exitCode: 0, steps: reader.outcomes } : reader.failed(result);
}

/**
 * The timeout of the step running: armed as a step starts, cleared as it ends. On expiry it
 * aborts the script, which stops it on the host like an interrupt would (the transports
 * signal what runs there), and remembers which step ran out of time.
 */
class StepTimer {
  private readonly stop = new AbortController();
  readonly signal: AbortSignal;
  expired: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly steps: Step[],
    outer: AbortSignal | undefined,
  ) {
    this.signal = outer ? AbortSignal.any([outer, this.stop.signal]) : this.stop.signal;
  }

  arm(index: number): void {
    this.disarm();
    const ms = this.limit(index);
    if (ms > 0)
      this.timer = setTimeout(() => {
        this.expired = index;
        this.stop.abort();
      }, ms);
  }

  disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  note(index: number): string {
    const step = this.steps[index]!;
    return `[ship] ${step.label} ran longer than its timeout (${formatDuration(this.limit(index))}) and was stopped`;
  }

  private limit(index: number): number {
    return this.steps[index]?.timeoutMs ?? STEP_TIMEOUT_MS;
  }
}

/**
 * One script's output as it streams in: marker lines start and end its steps (task:start,
 * task:end), every other line belongs to the step running (an `output` event).
 */
class ScriptReader {
  readonly outcomes: StepOutcome[];
  private active = -1;
  private startedAt = 0;
  private readonly splitters: Record<OutputStream, LineSplitter>;
  /** What each step printed: only its tail is kept, so a step may print without bound. */
  private readonly tails: Record<OutputStream, TailText>[];
  /** Markers are printed after a newline: that one blank line is not the command's. */
  private pendingBlank = false;

  constructor(
    private readonly o: RunStepsOptions,
    private readonly rendered: string[],
    private readonly nonce: string,
    private readonly timer: StepTimer,
  ) {
    this.outcomes = o.steps.map((s) => ({ label: s.label, ...(s.kind ? { kind: s.kind } : {}), exitCode: undefined, ms: 0, stdout: '', stderr: '' }));
    this.tails = o.steps.map(() => ({ stdout: new TailText(STEP_TAIL), stderr: new TailText(STEP_TAIL) }));
    this.splitters = { stdout: new LineSplitter((l) => this.line('stdout', l)), stderr: new LineSplitter((l) => this.line('stderr', l)) };
  }

  /** A chunk of one stream: its whole lines are read now, a partial one waits for the rest. */
  read(stream: OutputStream, chunk: Buffer): void {
    this.splitters[stream].push(chunk);
  }

  /** The script is over: a last line without its newline is still a line. */
  flush(): void {
    for (const stream of ['stdout', 'stderr'] as const) this.splitters[stream].end();
    for (let i = 0; i < this.outcomes.length; i++) this.settle(i);
  }

  /**
   * The outcome of a script that exited non-zero. The failing step is the one whose end marker
   * carries the code, else the last one started (the connection dropped or the script was
   * killed mid-step).
   */
  failed(result: ExecResult, note?: string): ScriptOutcome {
    let index = this.outcomes.findIndex((s) => s.exitCode !== undefined && s.exitCode !== 0);
    if (index < 0) index = Math.max(0, this.active);
    const failed = this.outcomes[index]!;
    if (failed.exitCode === undefined) {
      failed.exitCode = result.exitCode;
      // a step that never printed its end marker: pick up whatever stderr the transport kept
      if (!failed.stderr && result.stderr) failed.stderr = result.stderr;
      this.report(index, {
        event: 'task:end',
        host: this.o.host,
        task: failed.label,
        ms: Math.round(performance.now() - this.startedAt),
        exitCode: result.exitCode,
        ...this.last(index),
      });
    }
    const redact = this.o.redact;
    const tail = failed.stderr.trimEnd().split('\n').filter(Boolean).slice(-STDERR_TAIL).map(redact);
    if (tail.length === 0 && failed.stdout.trim()) tail.push(...failed.stdout.trimEnd().split('\n').slice(-3).map(redact));
    if (note) {
      tail.push(note);
      failed.timedOut = true;
    }
    const error = new RemoteCommandError(this.o.host, failed.label, this.command(index), failed.exitCode, tail);
    return { ok: false, exitCode: failed.exitCode, steps: this.outcomes, error };
  }

  private line(stream: OutputStream, line: string): void {
    if (stream === 'stderr') return this.output(stream, line);
    const { text, marker } = parseMarker(line, this.nonce);
    if (!marker) {
      if (this.pendingBlank) this.output(stream, '');
      this.pendingBlank = line === '';
      if (!this.pendingBlank) this.output(stream, line);
      return;
    }
    this.pendingBlank = false;
    if (text) this.output(stream, text);
    if (marker.type === 'start') this.started(marker.step);
    else this.ended(marker.step, marker.exitCode);
  }

  private output(stream: OutputStream, line: string): void {
    const out = this.outcomes[this.active];
    this.tails[this.active]?.[stream].append(`${line}\n`);
    this.report(this.active, { event: 'output', host: this.o.host, stream, line: this.o.redact(line), ...(out ? { task: out.label } : {}) });
  }

  private started(index: number): void {
    this.active = index;
    this.timer.arm(index);
    this.startedAt = performance.now();
    const step = this.o.steps[index]!;
    this.report(index, {
      event: 'task:start',
      host: this.o.host,
      task: step.label,
      command: this.command(index),
      ...(step.display !== undefined ? { display: this.o.redact(step.display) } : {}),
      ...(step.kind ? { kind: step.kind } : {}),
    });
  }

  private ended(index: number, exitCode: number): void {
    const out = this.outcomes[index];
    if (!out) return;
    this.timer.disarm();
    this.settle(index);
    const skipped = exitCode !== 0 && exitCode === this.o.steps[index]?.skipCode;
    out.exitCode = skipped ? 0 : exitCode;
    if (skipped) out.skipped = true;
    out.ms = Math.round(performance.now() - this.startedAt);
    this.report(index, {
      event: 'task:end',
      host: this.o.host,
      task: out.label,
      ms: out.ms,
      exitCode: out.exitCode,
      ...(skipped ? { skipped } : {}),
      ...this.last(index),
    });
    this.o.onStepEnd?.(index, out);
  }

  /** The step's output tails into its outcome. */
  private settle(index: number): void {
    const out = this.outcomes[index];
    const tails = this.tails[index];
    if (!out || !tails) return;
    out.stdout = tails.stdout.toString();
    out.stderr = tails.stderr.toString();
  }

  /** Emits an event of step `index`, unless the script or that step is quiet. */
  private report(index: number, e: ShipEvent): void {
    if (!this.o.quiet && this.o.steps[index]?.quiet !== true) this.o.emit(e);
  }

  private command(index: number): string {
    return this.o.redact(this.rendered[index]!);
  }

  private last(index: number): { last?: true } {
    return index === this.o.steps.length - 1 ? { last: true } : {};
  }
}
