import type { HostConfig, StageConfig } from '../config/types.js';
import { checkHealth } from '../health/check.js';
import { healthChecksFor } from '../health/select.js';
import { removeCurrentLink, swapCurrent } from '../release/swap.js';
import type { Step } from '../shell/script.js';
import { mapSettled } from '../util/pool.js';
import { runSteps } from './run-steps.js';
import type { Member, RunEnv } from './fleet.js';
import { slotSteps, taskEnv, templateValues, type HostFacts } from './tasks.js';

/** Where one host should point, and the facts its restart and health check see. */
export interface SwitchTarget {
  member: Member;
  release: string | undefined; // undefined: remove `current` (undoing a first deploy)
  facts: HostFacts;
}

export interface SwitchOutcome {
  host: string;
  swapped: boolean; // `current` now points at the target
  ok: boolean; // swapped, restarted and healthy
  detail?: string;
}

/**
 * The publish step shared by deploy, undo and rollback: swap `current`, run `restart` (with
 * its hooks) in one round trip per host, then the health check, all hosts of the wave in
 * parallel. Never throws: each host's outcome is returned.
 */
export async function switchHosts(
  stage: StageConfig,
  selected: HostConfig[],
  targets: SwitchTarget[],
  env: RunEnv,
  opts: { wave: number; checkHealth: boolean },
): Promise<SwitchOutcome[]> {
  const settled = await mapSettled(targets, env.concurrency, async (t): Promise<SwitchOutcome> => {
    const { member, release, facts } = t;
    const host = member.host.name;
    const values = templateValues(stage, member.host, facts);
    const steps: Step[] = [
      { label: 'swap', command: release ? swapCurrent(member.paths, release) : removeCurrentLink(member.paths) },
    ];
    if (release) steps.push(...slotSteps('restart', stage, member.host, selected, values, member.paths.release(release)));
    // wave 0 is the way back after a failure: reported as rollback events, not publishes
    if (release && opts.wave > 0) env.emit({ event: 'publish', host, release, ...(facts.previous_release ? { previous: facts.previous_release } : {}), batch: opts.wave });
    const tenv = taskEnv(stage, member.host, facts);
    const r = await runSteps({
      host,
      transport: member.transport,
      steps,
      env: tenv,
      emit: env.emit,
      redact: env.redact,
      ...(env.signal ? { signal: env.signal } : {}),
    });
    const swapped = r.steps[0]?.exitCode === 0;
    if (!r.ok) return { host, swapped, ok: false, detail: r.error?.message ?? `exit ${r.exitCode}` };
    const checks = opts.checkHealth && release ? healthChecksFor(stage, member.host) : [];
    for (const health of checks) {
      const h = await checkHealth({
        host,
        transport: member.transport,
        health,
        values,
        env: tenv,
        clock: env.clock,
        emit: env.emit,
        redact: env.redact,
        ...(env.signal ? { signal: env.signal } : {}),
      });
      if (!h.ok) return { host, swapped, ok: false, detail: `health check failed on ${host} after ${h.attempts} attempt(s): ${env.redact(h.last.detail)}` };
    }
    return { host, swapped, ok: true };
  });
  return settled.map((s, i) =>
    s.status === 'fulfilled'
      ? s.value
      : { host: targets[i]!.member.host.name, swapped: false, ok: false, detail: env.redact(String((s.reason as Error)?.message ?? s.reason)) },
  );
}
