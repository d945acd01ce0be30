import { deploy } from '../../deploy/deploy.js';
import type { HostSelection } from '../../engine/index.js';
import { confirmRun } from '../confirm.js';
import { hostSelection } from '../host-selection.js';
import { failedToStart, withEndEvent } from '../run-end.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';
import { gitOps } from '../wiring.js';
import { dryRunCommand } from './dry-run.js';

export interface DeployFlags extends GlobalOptions, HostSelection {
  yes?: boolean;
  revision?: string;
  dryRun?: boolean;
}

/** `ship deploy <stage>`: every selected host moves to the new release, or none does. */
export async function deployCommand(stageName: string, flags: DeployFlags): Promise<void> {
  if (flags.dryRun) return dryRunCommand('deploy', stageName, flags);
  const rt = await prepareRuntime(stageName, flags, { tree: true, log: 'deploy' }).catch(failedToStart(flags, stageName, 'deploy:end'));
  await withEndEvent(rt, 'deploy:end', async () => {
    await confirmRun(rt.stage, `deploy ${rt.stage.app} to ${rt.stage.stage} (${rt.stage.hosts.length} host${rt.stage.hosts.length > 1 ? 's' : ''})`, flags);
    return deploy(rt.stage, { ...(flags.revision ? { revision: flags.revision } : {}), ...hostSelection(flags) }, rt.env, gitOps);
  });
}
