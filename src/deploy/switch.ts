import type { HostConfig, StageConfig } from '../config/types.js';
import { mapSettled, runOn, slotSteps, stepOfKind, taskEnv, templateValues, type HostFacts, type Member, type RunEnv } from '../engine/index.js';
import { checkHealth } from '../health/check.js';
import { healthChecksFor } from '../health/select.js';
import { removeCurrentLink, swapCurrent } from '../release/swap.js';
import type { Step } from '../shell/script.js';

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
 * The publish step shared by deploy, the way back and rollback: swap `current`, run `restart`
 * (with its hooks) in one round trip per host, then the health checks, all hosts of the wave
 * in parallel. Wave 0 is the way back after a failure: reported as rollback events, not
 * publishes. Never throws: each host's outcome is returned.
 */
export async function switchHosts(
  stage: StageConfig,
  selected: HostConfig[],
  targets: SwitchTarget[],
  env: RunEnv,
  opts: { wave: number },
): Promise<SwitchOutcome[]> {
  const settled = await mapSettled(targets, env.concurrency, (t) => switchOne(stage, selected, t, env, opts.wave));
  return settled.map((s, i) =>
    s.status === 'fulfilled'
      ? s.value
      : { host: targets[i]!.member.host.name, swapped: false, ok: false, detail: env.redact(String((s.reason as Error)?.message ?? s.reason)) },
  );
}

async function switchOne(stage: StageConfig, selected: HostConfig[], t: SwitchTarget, env: RunEnv, wave: number): Promise<SwitchOutcome> {
  const { member, release, facts } = t;
  const host = member.host.name;
  const values = templateValues(stage, member.host, facts);
  const steps: Step[] = [{ label: 'swap', kind: 'swap', command: release ? swapCurrent(member.paths, release) : removeCurrentLink(member.paths) }];
  if (release) steps.push(...slotSteps('restart', stage, member.host, selected, values, member.paths.release(release)));
  if (release && wave > 0) env.emit({ event: 'publish', host, release, ...(facts.previous_release ? { previous: facts.previous_release } : {}), batch: wave });
  const tenv = taskEnv(stage, member.host, facts);
  const r = await runOn(env, { host, transport: member.transport, steps, env: tenv, ...(env.signal ? { signal: env.signal } : {}) });
  const swapped = stepOfKind(r, 'swap')?.exitCode === 0;
  if (!r.ok) return { host, swapped, ok: false, detail: r.error?.message ?? `exit ${r.exitCode}` };
  for (const health of release ? healthChecksFor(stage, member.host) : []) {
    const h = await checkHealth(env, { host, transport: member.transport, health, values, taskEnv: tenv });
    if (!h.ok) return { host, swapped, ok: false, detail: `health check failed on ${host} after ${h.attempts} attempt(s): ${env.redact(h.last.detail)}` };
  }
  return { host, swapped, ok: true };
}
