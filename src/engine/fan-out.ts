import type { Step } from '../shell/script.js';
import type { Transport } from '../transport/types.js';
import { mapSettled } from './pool.js';
import type { RunEnv } from './run-env.js';
import { runSteps, type RunStepsOptions, type ScriptOutcome } from './run-steps.js';

/** What runOn needs besides the run: whose steps, over which connection. */
export type StepsOn = Omit<RunStepsOptions, 'emit' | 'redact'>;

/** Runs one host's steps with the run's step runner, events and redaction. */
export function runOn(env: RunEnv, o: StepsOn): Promise<ScriptOutcome> {
  return (env.stepRunner ?? runSteps)({ ...o, emit: env.emit, redact: env.redact });
}

/** One host reached over one connection: what every fan-out works on. */
export interface Reached {
  host: { name: string };
  transport: Transport;
}

/** An outcome for a host whose script threw (never ran, or the connection broke oddly). */
export interface ThrownOutcome extends ScriptOutcome {
  thrown: string;
}

/** Runs one list of steps per member in parallel (bounded); returns outcomes in member order. */
export async function runOnEach<M extends Reached>(
  members: M[],
  env: RunEnv,
  stepsFor: (m: M) => Step[],
  envFor?: (m: M) => Record<string, string>,
): Promise<ScriptOutcome[]> {
  const settled = await mapSettled(members, env.concurrency, (m) =>
    runOn(env, {
      host: m.host.name,
      transport: m.transport,
      steps: stepsFor(m),
      ...(envFor ? { env: envFor(m) } : {}),
      ...(env.signal ? { signal: env.signal } : {}),
    }),
  );
  return settled.map((s, i): ScriptOutcome | ThrownOutcome =>
    s.status === 'fulfilled'
      ? s.value
      : { ok: false, exitCode: 255, steps: [], thrown: `${members[i]!.host.name}: ${String((s.reason as Error)?.message ?? s.reason)}` },
  );
}

/** One line per failed outcome, naming the host. */
export function describeFailures(members: Reached[], outcomes: ScriptOutcome[]): string[] {
  const lines: string[] = [];
  outcomes.forEach((o, i) => {
    if (o.ok) return;
    const thrown = (o as Partial<ThrownOutcome>).thrown;
    lines.push(o.error?.message ?? thrown ?? `${members[i]!.host.name}: failed (exit ${o.exitCode})`);
  });
  return lines;
}
