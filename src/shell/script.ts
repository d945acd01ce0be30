import type { Command } from './command.js';
import { render, renderExports } from './render.js';

/**
 * Many steps, one round trip: a host's work for a phase is one script. Each step runs in a
 * subshell between marker lines on stdout (`@@ship:<nonce>:start:<i>` and
 * `@@ship:<nonce>:end:<i>:<exit code>`); the first failing step stops the script. The random
 * nonce keeps a command's own output from ever being read as a marker.
 */
export interface Step {
  label: string; // task or phase name shown to people ("build", "swap")
  command: Command;
  /** What people are shown of the command on one line, when that is less than all of it: a task's own text, without the wrapper that runs it. */
  display?: string;
  /** Bookkeeping (lock, inspect): no task events or output lines for it, even in a reported script. */
  quiet?: boolean;
  /** What the run reads from this step's outcome, for the few steps whose result is more than ok/failed. */
  kind?: StepKind;
  /** An exit code that means "nothing to do, skipped": the script goes on and the outcome says skipped. */
  skipCode?: number;
  /**
   * Longest the step may run before it is stopped on the host and fails (exit TIMED_OUT).
   * Unset: the protocol's default for its own steps (STEP_TIMEOUT_MS); 0: no limit (a task
   * without `timeout:`, a command of `ship exec`).
   */
  timeoutMs?: number;
}

/** How long one of the protocol's own steps (lock, swap, link, history...) may run on a host. */
export const STEP_TIMEOUT_MS = 10 * 60_000;

/** The exit code of a step stopped at its timeout (as coreutils' timeout reports it). */
export const TIMED_OUT = 124;

/**
 * The steps a run looks at after they ran: the lock (held by someone else?), the inspection
 * (what the host holds), the fresh-id guard (id refused?), the swap (did `current` move?) and
 * the migration (did it run?). Tagged by kind, so no caller matches labels.
 */
export type StepKind = 'lock' | 'inspect' | 'fresh-id' | 'swap' | 'migrate' | 'platform' | 'native';

/** A step's command as shell text, with what its exit code may mean. */
export interface RenderedStep {
  text: string;
  skipCode?: number;
}

/** Each step's command as shell text, with its skip code: rendered once, for the script and for display. */
export const renderSteps = (steps: Step[]): RenderedStep[] =>
  steps.map((s) => ({ text: render(s.command), ...(s.skipCode !== undefined ? { skipCode: s.skipCode } : {}) }));

/**
 * The umask every step script (and the upload, which runs outside one) sets first: a release
 * is readable by all and writable by the deploy user, whatever the login's umask. What holds
 * secrets is made under `privately` instead.
 */
export const RELEASE_UMASK = '022';

export function buildScript(steps: Step[], opts: { nonce: string; env?: Record<string, string> }): string {
  return scriptOf(renderSteps(steps), opts);
}

/** The same from commands already rendered (a caller that also shows them renders them once). */
export function scriptOf(commands: RenderedStep[], opts: { nonce: string; env?: Record<string, string> }): string {
  const lines = [`umask ${RELEASE_UMASK}`];
  if (opts.env && Object.keys(opts.env).length) lines.push(renderExports(opts.env));
  commands.forEach((command, i) => {
    const skip = command.skipCode !== undefined ? `[ "$__ship_rc" -eq ${command.skipCode} ] || ` : '';
    lines.push(
      `printf '\\n@@ship:${opts.nonce}:start:${i}\\n'`,
      `( ${command.text}\n)`,
      '__ship_rc=$?',
      `printf '\\n@@ship:${opts.nonce}:end:${i}:%s\\n' "$__ship_rc"`,
      `[ "$__ship_rc" -eq 0 ] || ${skip}exit "$__ship_rc"`,
    );
  });
  lines.push('exit 0');
  return `${lines.join('\n')}\n`;
}

export type Marker = { type: 'start'; step: number } | { type: 'end'; step: number; exitCode: number };

/** Splits a stdout line into the text before a marker (if any) and the marker. */
export function parseMarker(line: string, nonce: string): { text: string; marker?: Marker } {
  const tag = `@@ship:${nonce}:`;
  const at = line.indexOf(tag);
  if (at < 0) return { text: line };
  const rest = line.slice(at + tag.length).split(':');
  const text = line.slice(0, at);
  if (rest[0] === 'start') return { text, marker: { type: 'start', step: Number(rest[1]) } };
  if (rest[0] === 'end') return { text, marker: { type: 'end', step: Number(rest[1]), exitCode: Number(rest[2]) } };
  return { text: line };
}
