import { hookTasks, hostFacts, openFleet, slotTasks, taskEnv, type Piggyback } from '../engine/index.js';
import { nextReleaseId } from '../release/id.js';
import { removeClaimed } from '../release/prepare.js';
import type { HostConfig } from '../config/types.js';
import type { ServerPaths } from '../release/paths.js';
import { appFiles } from './app-files.js';
import { earlySteps } from './deploy-steps.js';
import { unsupportedHooks } from './hooks.js';
import { DeployRun, type DeployPlan } from './run.js';

/**
 * Phase 2, connect and lock every host, and pick the release id. With the remote strategy,
 * every host but the leader gets its code in the same script as its lock, under an id made
 * from the leader's releases: no round trip of its own, no waiting for the slowest host to be
 * locked. Not when a before:deploy hook or a local build task must run first.
 */
export async function connectAndLock(plan: DeployPlan): Promise<DeployRun> {
  const { stage, env } = plan;
  let tentative: string | undefined;
  const earlyFacts = (host: HostConfig, paths: ServerPaths) =>
    hostFacts(stage, host, paths, tentative!, { revision: plan.revision, ...(plan.ref ? { branch: plan.ref } : {}), previous: undefined });
  const earlyApp = (host: HostConfig, paths: ServerPaths) => appFiles(stage, host, paths, earlyFacts(host, paths), plan.pm2Template);
  const piggyback: Piggyback | undefined = piggybacks(plan)
    ? {
        steps: (host, paths, leader) => {
          tentative ??= nextReleaseId(
            env.clock.now(),
            leader.releases.map((r) => r.id),
          ); // first try only
          return earlySteps(stage, plan.selected, host, paths, { release: tentative, revision: plan.revision, app: earlyApp(host, paths) });
        },
        undo: (paths) => (tentative ? removeClaimed(paths, tentative) : undefined),
        // the stage's env (a proxy, GIT_SSH_COMMAND...) reaches git in the lock script too
        env: (host, paths) => ({ ...taskEnv(stage, host, earlyFacts(host, paths)), ...earlyApp(host, paths).env }),
      }
    : undefined;
  const { members, token } = await openFleet(stage, plan.selected, env, { lock: { command: 'deploy' }, piggyback, connections: plan.connections });
  const existing = members.flatMap((m) => m.state.releases.map((r) => r.id));
  // the leader's id stands unless a host holds it or a later one (its guard refused it)
  const release = tentative && !existing.some((id) => id >= tentative!) ? tentative : nextReleaseId(env.clock.now(), existing);
  const run = new DeployRun(plan, members, token, release, tentative);
  env.emit({ event: 'deploy:start', release, revision: plan.revision, ...(plan.ref ? { branch: plan.ref } : {}), hosts: members.map((m) => m.host.name) });
  for (const message of unsupportedHooks(stage)) env.emit({ event: 'log', level: 'warn', message });
  return run;
}

/** Whether the code may ride in the lock scripts: nothing must run here before it goes out. */
function piggybacks(plan: DeployPlan): boolean {
  const { stage } = plan;
  return !plan.archive && hookTasks(stage, 'before:deploy').length === 0 && !slotTasks(stage, 'build').some((t) => t.local);
}
