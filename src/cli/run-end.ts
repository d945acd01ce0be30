import { relative } from 'node:path';
import { DeployError, ExitCode, ShipError } from '../errors.js';
import { describeOutcome, type HostOutcome } from '../ops/exec.js';
import type { ShipEvent } from '../ui/events.js';
import type { Redact } from '../ui/redact.js';
import { jsonWriter } from '../ui/reporter.js';
import type { GlobalOptions, Runtime } from './runtime.js';

/**
 * How a command that runs something on the hosts ends: its stream closes with one end event
 * (deploy:end, rollback:end, exec:end, run:end) whatever happened, so CI reads the outcome and
 * the exit code from stdout under --json.
 */

type EndEvent = Extract<ShipEvent, { event: 'deploy:end' | 'rollback:end' | 'exec:end' | 'run:end' }>['event'];

/**
 * A command that fails before its runtime exists (a bad deploy.yaml, an unknown stage) still
 * ends its NDJSON stream with the closing event under --json. Rethrows: the entry point
 * prints the error and exits.
 */
export function failedToStart(flags: GlobalOptions, stage: string, event: EndEvent): (e: unknown) => never {
  return (e) => {
    if (flags.json) {
      // the stage's secrets are not known (its config did not load): nothing to hide them with
      const { exitCode, error } = errorOf((s) => s, e);
      const write = jsonWriter({ stage, out: process.stdout, redact: (s) => s });
      if (event === 'deploy:end' || event === 'rollback:end') write({ event, ok: false, exitCode, ms: 0, current: {}, error });
      else write({ event, ok: false, exitCode, ms: 0, hosts: {}, error });
    }
    throw e;
  };
}

/** The exit code an error ends the run with, and its message, redacted. */
const errorOf = (redact: Redact, e: unknown) => ({
  exitCode: e instanceof ShipError ? e.exitCode : ExitCode.failed,
  error: redact(e instanceof Error ? e.message : String(e)),
});

/** Runs a deploy or rollback and always closes it with its end event, the log path and the webhook. */
export async function withEndEvent(
  rt: Runtime,
  event: 'deploy:end' | 'rollback:end',
  run: () => Promise<{ release: string; revision?: string; current: Record<string, string | null> }>,
): Promise<void> {
  const ms = stopwatch();
  try {
    const r = await run();
    rt.env.emit({ event, ok: true, exitCode: 0, release: r.release, ...(r.revision ? { revision: r.revision } : {}), ms: ms(), current: r.current });
  } catch (e) {
    const { exitCode, error } = errorOf(rt.redact, e);
    const made = e instanceof ShipError ? { ...(e.release ? { release: e.release } : {}), ...(e.revision ? { revision: e.revision } : {}) } : {};
    rt.env.emit({ event, ok: false, exitCode, ...made, ms: ms(), current: (e instanceof ShipError && e.current) || {}, error });
    throw e;
  } finally {
    await rt.reporter.close();
    rt.dispose();
    reportLog(rt);
  }
}

/** Runs `ship exec` or `ship run`, ends the stream with exec:end / run:end, and fails (exit 1) when any host did. */
export async function withHostsEnd(rt: Runtime, event: 'exec:end' | 'run:end', what: string, work: () => Promise<HostOutcome[]>, task?: string): Promise<void> {
  const ms = stopwatch();
  const codes = (os: HostOutcome[]) => Object.fromEntries(os.map((o) => [o.host, o.exitCode]));
  let outcomes: HostOutcome[] | undefined;
  try {
    outcomes = await work();
    const failed = outcomes.filter((o) => o.exitCode !== 0);
    if (failed.length) {
      throw new DeployError(
        `${what} failed on ${failed.length} of ${outcomes.length} host(s)`,
        failed.map((o) => (o.error && o.exitCode !== null ? o.error : describeOutcome(o))),
      );
    }
    rt.env.emit({ event, ok: true, exitCode: 0, ms: ms(), hosts: codes(outcomes), ...(task ? { task } : {}) });
  } catch (e) {
    const { exitCode, error } = errorOf(rt.redact, e);
    rt.env.emit({ event, ok: false, exitCode, ms: ms(), hosts: outcomes ? codes(outcomes) : {}, ...(task ? { task } : {}), error });
    throw e;
  } finally {
    await rt.reporter.close();
    rt.dispose();
  }
}

function stopwatch(): () => number {
  const t0 = performance.now();
  return () => Math.round(performance.now() - t0);
}

/** Says where the deploy log is (stderr under --json): the last line of a deploy, for CI to archive. */
export function reportLog(rt: Runtime): void {
  if (rt.log?.error) return rt.say(`ship: the deploy log could not be written: ${rt.log.error}`);
  const path = rt.log?.path;
  if (!path) return;
  const rel = relative(process.cwd(), path);
  rt.say(`log: ${rel.startsWith('..') ? path : rel}`);
}
