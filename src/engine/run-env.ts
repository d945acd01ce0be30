import type { HostConfig } from '../config/types.js';
import type { Transport } from '../transport/types.js';
import type { Emit } from '../ui/events.js';
import type { Redact } from '../ui/redact.js';
import type { Clock } from './clock.js';
import type { StepRunner } from './run-steps.js';

/** Who is running ship: written into locks and history. */
export interface Operator {
  user: string;
  machine: string;
  pid: number;
  ci?: string;
}

/**
 * Everything a run needs from the outside, injected: the clock, where events go, how secrets
 * are hidden, how hosts are reached, and how steps run (a dry run swaps in a recorder).
 */
export interface RunEnv {
  clock: Clock;
  emit: Emit;
  redact: Redact;
  transportFor: (host: HostConfig) => Transport;
  /** This machine, for `local: true` tasks and hooks. */
  localTransport?: Transport;
  operator: Operator;
  concurrency: number;
  lockWaitMs?: number;
  signal?: AbortSignal;
  /** Runs one host's steps; the real runner sends them as one script (runSteps). */
  stepRunner?: StepRunner;
}

/** The same run without its interrupt signal: clean-up and the way back must finish after Ctrl-C. */
export const calm = (env: RunEnv): RunEnv => ({ ...env, signal: undefined });
