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
  /** Bookkeeping (lock, inspect): no task events or output lines for it, even in a reported script. */
  quiet?: boolean;
}

export function buildScript(steps: Step[], opts: { nonce: string; env?: Record<string, string> }): string {
  return scriptOf(steps.map((s) => render(s.command)), opts);
}

/** The same from commands already rendered (a caller that also shows them renders them once). */
export function scriptOf(commands: string[], opts: { nonce: string; env?: Record<string, string> }): string {
  const lines = ['umask 022'];
  if (opts.env && Object.keys(opts.env).length) lines.push(renderExports(opts.env));
  commands.forEach((command, i) => {
    lines.push(
      `printf '\\n@@ship:${opts.nonce}:start:${i}\\n'`,
      `( ${command}\n)`,
      '__ship_rc=$?',
      `printf '\\n@@ship:${opts.nonce}:end:${i}:%s\\n' "$__ship_rc"`,
      '[ "$__ship_rc" -eq 0 ] || exit "$__ship_rc"',
    );
  });
  lines.push('exit 0');
  return lines.join('\n') + '\n';
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
