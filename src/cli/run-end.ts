import { relative } from 'node:path';
import { ExitCode, ShipError } from '../errors.js';
import type { ShipEvent } from '../ui/events.js';
import type { GlobalOptions, Runtime } from './runtime.js';

type EndEvent = Extract<ShipEvent, { event: 'deploy:end' | 'rollback:end' | 'exec:end' | 'run:end' }>['event'];

/**
 * A command that fails before its runtime exists (a bad deploy.yaml, an unknown stage) still
 * ends its NDJSON stream with the closing event under --json, so CI reads the exit code from
 * stdout whatever went wrong. Rethrows: the entry point prints the error and exits.
 */
export function failedToStart(flags: GlobalOptions, stage: string, event: EndEvent): (e: unknown) => never {
  return (e) => {
    if (flags.json) {
      const exitCode = e instanceof ShipError ? e.exitCode : ExitCode.failed;
      const error = e instanceof Error ? e.message : String(e);
      const extra = event === 'deploy:end' || event === 'rollback:end' ? { current: {} } : { hosts: {} };
      process.stdout.write(JSON.stringify({ ts: new Date().toISOString(), event, stage, ok: false, exitCode, ms: 0, ...extra, error }) + '\n');
    }
    throw e;
  };
}

/** Says where the deploy log is (stderr under --json): the last line of a deploy, for CI to archive. */
export function reportLog(rt: Runtime): void {
  if (rt.log?.error) return rt.say(`ship: the deploy log could not be written: ${rt.log.error}`);
  const path = rt.log?.path;
  if (!path) return;
  const rel = relative(process.cwd(), path);
  rt.say(`log: ${rel.startsWith('..') ? path : rel}`);
}
