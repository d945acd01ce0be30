import { warnOnFailure } from './hooks.js';
import { planWaves } from './rollout.js';
import type { DeployRun } from './run.js';
import { switchHosts } from './switch.js';
import { undoPublish } from './way-back.js';

/**
 * Phase 4, publish, wave by wave (all at once, in batches, or a canary first): each host's
 * `current` is swapped, the app restarted and health-checked. A failed wave, or Ctrl-C, sends
 * every host switched so far back (the way back throws).
 */
export async function publish(run: DeployRun): Promise<void> {
  const { env, members } = run;
  const waves = planWaves(members.length, run.stage.rollout);
  for (const [w, wave] of waves.entries()) {
    env.emit({ event: 'phase', phase: waves.length > 1 ? `publish ${w + 1}/${waves.length}` : 'publish' });
    const hosts = wave.map((i) => members[i]!);
    run.touched.push(...hosts);
    const outcomes = await switchHosts(
      run.stage,
      run.selected,
      hosts.map((m) => ({ member: m, release: run.release, facts: run.factsOf(m) })),
      env,
      { wave: w + 1, balancer: run.balancer },
    );
    for (const o of outcomes) if (o.swapped) run.current[o.host] = run.release;
    // a host the balancer could not drain was never changed: the way back leaves it alone
    for (const o of outcomes)
      if (o.untouched)
        run.touched.splice(
          run.touched.findIndex((m) => m.host.name === o.host),
          1,
        );
    if (env.signal?.aborted) await undoPublish(run, { interrupted: true });
    const bad = outcomes.filter((o) => !o.ok);
    if (bad.length) await undoPublish(run, { interrupted: false, reasons: bad.map((b) => b.detail ?? `${b.host} failed`) });
  }
  await warnOnFailure(
    'after:publish',
    run.hooks((m) => run.inRelease(m), { calm: true, result: 'deployed' }),
  );
}
