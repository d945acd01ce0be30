#!/usr/bin/env node
/**
 * The entry point: parses the command line, runs one command, and is the only place that
 * prints errors and chooses the exit code (each error carries its own). Each command's module
 * is imported when that command runs, so `ship --version` and `ship --help` start fast.
 */
import { CommanderError } from 'commander';
import { ExitCode, ShipError, UsageError } from '../errors.js';
import { printable } from '../release/host-text.js';
import { guardOutputs } from './outputs.js';
import { buildProgram } from './program.js';

function printError(e: unknown, json: boolean): number {
  const out = process.stderr;
  if (e instanceof ShipError) {
    const details = 'details' in e && Array.isArray((e as { details?: unknown }).details) ? (e as { details: string[] }).details : [];
    // messages carry hosts' text (a lock's reason, a command's stderr tail): printable only
    out.write(`ship: ${printable(e.message)}\n`);
    for (const d of details) out.write(`  ${printable(d).replace(/\n/g, '\n  ')}\n`);
    if (e.hint) out.write(`  → ${printable(e.hint)}\n`);
    void json;
    return e.exitCode;
  }
  const err = e as Error;
  out.write(`ship: unexpected error: ${err?.stack ?? String(e)}\n  → this is a bug in ship; please report it with the output above\n`);
  return ExitCode.failed;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = ExitCode.ok;
  const program = buildProgram((code) => (exitCode = code));
  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage; // commander already printed what was wrong
    }
    return printError(e, argv.includes('--json'));
  }
}

// `ship deploy | head`, `> /dev/full`, a terminal gone: the run goes on to its real end
guardOutputs();

// `process.exitCode`, not process.exit(): let stdout drain (NDJSON must not be cut short).
main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // a connection a library forgot to close must not keep a finished run alive
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (e) => {
    process.exitCode = printError(e instanceof Error ? e : new UsageError(String(e)), false);
  },
);
