import type { HostConfig, StageConfig } from '../config/types.js';
import { mapSettled, runOn, slotSteps, stepOfKind, taskEnv, templateValues, type HostFacts, type Member, type RunEnv } from '../engine/index.js';
import type { Balancer } from '../balancer/balancer.js';
import { checkHealth } from '../health/check.js';
import { planWaves } from './rollout.js';
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
  ok: boolean; // swapped, restarted, healthy (and back in the load balancer's rotation)
  /** Nothing ran on the host: the load balancer could not take it out of rotation. */
  untouched?: boolean;
  detail?: string;
}

/** How a wave is switched: its number (0: the way back) and the load balancer, if any. */
export interface SwitchOptions {
  wave: number;
  balancer?: Balancer | undefined;
}

/**
 * The publish step shared by deploy, the way back and rollback: swap `current`, run `restart`
 * (with its hooks) in one round trip per host, then the health checks, all hosts of the wave
 * in parallel. Behind a load balancer each host is drained first (a host that cannot be is
 * left untouched) and put back in rotation once healthy; an unhealthy host stays out. Wave 0
 * is the way back after a failure: reported as rollback events, not publishes. Never throws:
 * each host's outcome is returned.
 */
export async function switchHosts(
  stage: StageConfig,
  selected: HostConfig[],
  targets: SwitchTarget[],
  env: RunEnv,
  opts: SwitchOptions,
): Promise<SwitchOutcome[]> {
  const settled = await mapSettled(targets, env.concurrency, (t) => switchOne(stage, selected, t, env, opts));
  return settled.map((s, i) =>
    s.status === 'fulfilled'
      ? s.value
      : { host: targets[i]!.member.host.name, swapped: false, ok: false, detail: env.redact(String((s.reason as Error)?.message ?? s.reason)) },
  );
}

async function switchOne(stage: StageConfig, selected: HostConfig[], t: SwitchTarget, env: RunEnv, opts: SwitchOptions): Promise<SwitchOutcome> {
  const { member, release, facts } = t;
  const { wave, balancer } = opts;
  const host = member.host.name;
  const values = templateValues(stage, member.host, facts);
  const dance = balancer?.danceFor(member.host, values);
  if (dance) {
    const drained = await balancer!.run(env, host, dance.drain);
    if (!drained.ok)
      return { host, swapped: false, ok: false, untouched: true, detail: `${host} could not be taken out of the load balancer: ${drained.detail}` };
  }
  const outcome = await swapRestartCheck(stage, selected, t, env, wave, values);
  if (!dance) return outcome;
  // a host that fails on the way back stays drained: only a healthy host goes back in rotation
  if (!outcome.ok)
    return wave > 0
      ? outcome
      : { ...outcome, detail: `${outcome.detail}; it stays drained in the load balancer (${dance.server}): enable it there once it is healthy` };
  if (!release) {
    env.emit({ event: 'log', level: 'warn', message: `${host} stays out of the load balancer (${dance.server}): it has no release to serve` });
    return outcome;
  }
  const enabled = await balancer!.run(env, host, dance.enable);
  return enabled.ok ? outcome : { ...outcome, ok: false, detail: `${host} is healthy but could not be put back in the load balancer: ${enabled.detail}` };
}

async function swapRestartCheck(
  stage: StageConfig,
  selected: HostConfig[],
  t: SwitchTarget,
  env: RunEnv,
  wave: number,
  values: Record<string, string>,
): Promise<SwitchOutcome> {
  const { member, release, facts } = t;
  const host = member.host.name;
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

/** How hosts go back: the facts and `current` of the run, and its load balancer if any. */
export interface PutBackOptions {
  env: RunEnv;
  /** The release the hosts leave. */
  from: string;
  /** The facts their restart and health check see, before the release is replaced by theirs. */
  base: (m: Member) => HostFacts;
  /** Each host's `current`, updated for the hosts whose link moved. */
  current: Record<string, string | null>;
  balancer?: Balancer | undefined;
  /** Hosts in the run: with a balancer, no wave back is wider than the rollout's widest. */
  fleetSize: number;
}

/**
 * Sends hosts back to the release each had before this run (`m.state.current`; no `current`
 * where it had none): the same switch, reported as one rollback event per host, each host
 * checked as the release it returns to. Behind a load balancer the way back keeps capacity like
 * the way out: in waves no wider than the rollout's, the last switched (where the failure is,
 * already out of rotation) first; a host goes back in rotation only once healthy on its old
 * release, and one that is not stays drained, its line saying so. Returns one line per host
 * that could not go back.
 */
export async function putBack(stage: StageConfig, selected: HostConfig[], hosts: Member[], o: PutBackOptions): Promise<string[]> {
  const order = o.balancer ? [...hosts].reverse() : hosts;
  const width = o.balancer ? Math.max(1, ...planWaves(o.fleetSize, stage.rollout).map((w) => w.length)) : order.length;
  const failed: string[] = [];
  for (let i = 0; i < order.length; i += width) failed.push(...(await putBackWave(stage, selected, order.slice(i, i + width), o)));
  return failed;
}

async function putBackWave(stage: StageConfig, selected: HostConfig[], hosts: Member[], o: PutBackOptions): Promise<string[]> {
  const targets: SwitchTarget[] = hosts.map((m) => {
    const prev = m.state.current;
    return {
      member: m,
      release: prev,
      facts: {
        ...o.base(m),
        release: prev ?? '',
        release_path: prev ? m.paths.release(prev) : '',
        // the release going back is checked as itself: {{revision}} in a health check is its commit
        revision: m.state.releases.find((r) => r.id === prev)?.revision ?? '',
        previous_release: o.from,
      },
    };
  });
  const back = await switchHosts(stage, selected, targets, o.env, { wave: 0, balancer: o.balancer });
  const failed: string[] = [];
  back.forEach((b, i) => {
    const m = hosts[i]!;
    if (b.swapped) o.current[m.host.name] = m.state.current ?? null;
    o.env.emit({
      event: 'rollback',
      host: m.host.name,
      from: o.from,
      ...(m.state.current ? { to: m.state.current } : {}),
      current: o.current[m.host.name] ?? null,
      ok: b.ok,
      ...(b.detail ? { reason: b.detail } : {}),
    });
    if (!b.ok) failed.push(b.detail ?? `${m.host.name}: rollback failed`);
  });
  return failed;
}
