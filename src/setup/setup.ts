/**
 * `ship setup <stage>`: every selected host gets the directory layout, its shared dirs and
 * (empty) shared files, a logrotate rule for shared/log and what the restart method needs (a
 * systemd unit and its sudoers line, or the pm2 startup advice).
 * The stage is locked while it runs, like a deploy. Two round trips per host: what is there,
 * then the idempotent actions planned from that. A host that fails is reported in its result
 * (the others still get set up); the caller decides the exit code.
 */
import type { StageConfig } from '../config/types.js';
import { type HostSelection, mapSettled, type Member, openFleet, releaseFleet, type RunEnv, runOn, selectHosts } from '../engine/index.js';
import type { Recipe } from '../recipes/load.js';
import type { Step } from '../shell/script.js';
import { parseActionLines, type ActionLine } from './actions.js';
import { parseSetupProbe, planSetup, setupProbe, type SetupTemplates } from './plan.js';

export interface SetupResult {
  host: string;
  lines: ActionLine[];
  error?: string;
}

export async function setupStage(stage: StageConfig, recipe: Recipe, templates: SetupTemplates, selection: HostSelection, env: RunEnv): Promise<SetupResult[]> {
  const { members, token } = await openFleet(stage, selectHosts(stage, selection), env, { lock: { command: 'setup' } });
  try {
    const settled = await mapSettled(members, env.concurrency, (m) => setupHost(stage, recipe, templates, m, env));
    return settled.map(
      (s, i): SetupResult =>
        s.status === 'fulfilled' ? s.value : { host: members[i]!.host.name, lines: [], error: String((s.reason as Error)?.message ?? s.reason) },
    );
  } finally {
    await releaseFleet(members, token, env);
  }
}

async function setupHost(stage: StageConfig, recipe: Recipe, templates: SetupTemplates, m: Member, env: RunEnv): Promise<SetupResult> {
  const run = (steps: Step[], vars: Record<string, string> = {}) =>
    runOn(env, { host: m.host.name, transport: m.transport, steps, env: vars, quiet: true, ...(env.signal ? { signal: env.signal } : {}) });
  const probe = await run(setupProbe());
  if (!probe.ok) return { host: m.host.name, lines: [], error: probe.error?.message ?? `exit ${probe.exitCode}` };
  const facts = parseSetupProbe(probe.steps[0]?.stdout ?? '', probe.steps[1]?.stdout ?? '');
  const plan = planSetup({ stage, host: m.host, recipe, facts, templates });
  const outcome = await run(plan.steps, plan.env);
  const lines = outcome.steps.flatMap((s) => parseActionLines(s.stdout));
  return { host: m.host.name, lines, ...(outcome.ok ? {} : { error: outcome.error?.message ?? `exit ${outcome.exitCode}` }) };
}
