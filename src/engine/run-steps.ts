import { randomBytes } from 'node:crypto';
import { RemoteCommandError } from '../errors.js';
import { render } from '../shell/render.js';
import { parseMarker, scriptOf, type Step, type StepKind } from '../shell/script.js';
import type { OutputStream, Transport } from '../transport/types.js';
import type { Emit } from '../ui/events.js';
import type { Redact } from '../ui/redact.js';

export interface StepOutcome {
  label: string;
  kind?: StepKind;
  exitCode: number | undefined; // undefined: never ran
  /** It exited with its step's skipCode: nothing to do (the exit code is then reported as 0). */
  skipped?: boolean;
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

/** Runs the steps as one script on one host, one round trip, streaming output line by line. */
export async function runSteps(o: RunStepsOptions): Promise<ScriptOutcome> {
  if (o.steps.length === 0) return { ok: true, exitCode: 0, steps: [] };
  const nonce = randomBytes(8).toString('hex');
  const outcomes: StepOutcome[] = o.steps.map((s) => ({ label: s.label, ...(s.kind ? { kind: s.kind } : {}), exitCode: undefined, ms: 0, stdout: '', stderr: '' }));
  let active = -1;
  let startedAt = 0;
  const now = () => performance.now();
  const buffers: Record<OutputStream, string> = { stdout: '', stderr: '' };
  let pendingBlank = false; // markers are printed after a newline; swallow that one blank line

  const rendered = o.steps.map((s) => render(s.command));
  const display = (i: number) => o.redact(rendered[i]!);
  const quiet = (i: number) => o.quiet || o.steps[i]?.quiet === true;
  const emitLine = (stream: OutputStream, line: string) => {
    const out = outcomes[active];
    if (out) out[stream] += line + '\n';
    if (!quiet(active)) o.emit({ event: 'output', host: o.host, stream, line: o.redact(line), ...(out ? { task: out.label } : {}) });
  };
  const onLine = (stream: OutputStream, line: string) => {
    if (stream === 'stderr') return emitLine(stream, line);
    const { text, marker } = parseMarker(line, nonce);
    if (!marker) {
      if (pendingBlank) emitLine(stream, '');
      pendingBlank = line === '';
      if (!pendingBlank) emitLine(stream, line);
      return;
    }
    pendingBlank = false;
    if (text) emitLine(stream, text);
    if (marker.type === 'start') {
      active = marker.step;
      startedAt = now();
      if (!quiet(active)) o.emit({ event: 'task:start', host: o.host, task: o.steps[active]!.label, command: display(active) });
    } else {
      const out = outcomes[marker.step];
      if (out) {
        const skipped = marker.exitCode !== 0 && marker.exitCode === o.steps[marker.step]?.skipCode;
        out.exitCode = skipped ? 0 : marker.exitCode;
        if (skipped) out.skipped = true;
        out.ms = Math.round(now() - startedAt);
        if (!quiet(marker.step)) o.emit({ event: 'task:end', host: o.host, task: out.label, ms: out.ms, exitCode: out.exitCode, ...(skipped ? { skipped } : {}) });
        o.onStepEnd?.(marker.step, out);
      }
    }
  };
  const onData = (stream: OutputStream, chunk: Buffer) => {
    buffers[stream] += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffers[stream].indexOf('\n')) >= 0) {
      const line = buffers[stream].slice(0, nl).replace(/\r$/, '');
      buffers[stream] = buffers[stream].slice(nl + 1);
      onLine(stream, line);
    }
  };

  const script = scriptOf(
    o.steps.map((s, i) => ({ text: rendered[i]!, ...(s.skipCode !== undefined ? { skipCode: s.skipCode } : {}) })),
    { nonce, ...(o.env ? { env: o.env } : {}) },
  );
  const result = await o.transport.runScript(script, { onData, ...(o.signal ? { signal: o.signal } : {}) });
  for (const stream of ['stdout', 'stderr'] as const) if (buffers[stream]) onLine(stream, buffers[stream]);

  if (result.exitCode === 0) return { ok: true, exitCode: 0, steps: outcomes };
  // The failing step: the one whose end marker carries the code, else the last one started
  // (the connection dropped or the script was killed mid-step).
  let failedIdx = outcomes.findIndex((s) => s.exitCode !== undefined && s.exitCode !== 0);
  if (failedIdx < 0) failedIdx = Math.max(0, active);
  const failed = outcomes[failedIdx]!;
  if (failed.exitCode === undefined) {
    failed.exitCode = result.exitCode;
    // a step that never printed its end marker: pick up whatever stderr the transport kept
    if (!failed.stderr && result.stderr) failed.stderr = result.stderr;
    if (!quiet(failedIdx)) o.emit({ event: 'task:end', host: o.host, task: failed.label, ms: Math.round(now() - startedAt), exitCode: result.exitCode });
  }
  const tail = failed.stderr.trimEnd().split('\n').filter(Boolean).slice(-STDERR_TAIL).map(o.redact);
  if (tail.length === 0 && failed.stdout.trim()) tail.push(...failed.stdout.trimEnd().split('\n').slice(-3).map(o.redact));
  const error = new RemoteCommandError(o.host, failed.label, display(failedIdx), failed.exitCode, tail);
  return { ok: false, exitCode: failed.exitCode, steps: outcomes, error };
}
