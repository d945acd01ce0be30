import type { StageConfig } from '../config/types.js';
import { startConnecting, selectHosts, type HostSelection, type RunEnv } from '../engine/index.js';
import { DeployError, InterruptedError } from '../errors.js';
import { appHosts } from '../balancer/balancer.js';
import { planBalancer } from './rollout.js';
import { readTemplate } from '../setup/templates.js';
import { buildArtifact } from './artifact.js';
import type { DeployPlan, GitOps } from './run.js';

export interface DeployOptions extends HostSelection {
  revision?: string | undefined;
}

/**
 * Phase 1, plan: the hosts, the one sha they all get, and (strategy upload) the archive of it,
 * or (strategy artifact) the release built from it, made once here. Nothing is sent to a host. The SSH handshakes start now and run while git
 * works: connections are all a failure here leaves to close.
 */
export async function planDeploy(stage: StageConfig, opts: DeployOptions, env: RunEnv, git: GitOps): Promise<DeployPlan> {
  const started = env.clock.now();
  const selected = appHosts(stage, selectHosts(stage, opts));
  planBalancer(stage, selected);
  const ref = opts.revision ?? stage.branch;
  const connections = startConnecting(selected, env);
  let archive: DeployPlan['archive'];
  let artifact: DeployPlan['artifact'];
  try {
    const revision = await git.resolveRevision(stage.repo, ref).catch((e: Error) => {
      throw new DeployError(e.message, [], 'check repo and branch in deploy.yaml, or pass --revision');
    });
    await warnUnpushed(stage, ref, revision, env, git);
    if (env.signal?.aborted) throw new InterruptedError('interrupted before connecting: nothing was changed');
    if (stage.strategy === 'upload') {
      archive = await git.tempFile(`ship-${stage.app}-${revision.slice(0, 12)}.tar`);
      await git.archiveToFile(stage.repo, revision, stage.repoTree, archive.path).catch((e: Error) => {
        throw new DeployError(e.message);
      });
    }
    if (stage.strategy === 'artifact') {
      const built = await buildArtifact(stage, revision, ref, env, git);
      archive = built.archive;
      artifact = { platform: built.platform, native: built.native };
      // the hosts are locked next: their rows belong under a phase of their own, not the build's
      env.emit({ event: 'phase', phase: 'lock' });
    }
    return {
      stage,
      env,
      selected,
      ref,
      revision,
      archive,
      ...(artifact ? { artifact } : {}),
      connections,
      started,
      pm2Template: readTemplate('pm2.config.cjs.tmpl'),
    };
  } catch (e) {
    await archive?.remove();
    await connections.close();
    throw e;
  }
}

/**
 * Deploying a branch whose tip here has commits the repository lacks: the deploy takes what the
 * repository has, and says so, since the one who typed the command usually meant their own.
 */
async function warnUnpushed(stage: StageConfig, ref: string | undefined, revision: string, env: RunEnv, git: GitOps): Promise<void> {
  if (ref === undefined || /^[0-9a-f]{40}$/.test(ref) || !git.unpushedTip) return;
  const local = await git.unpushedTip(stage.configDir, ref, revision).catch(() => undefined);
  if (!local) return;
  env.emit({
    event: 'log',
    level: 'warn',
    message: `branch ${ref} here is at ${local.slice(0, 12)}, which ${stage.repo} does not have: the deploy takes ${revision.slice(0, 12)}, without your unpushed commits (push first, or pass --revision)`,
  });
}
