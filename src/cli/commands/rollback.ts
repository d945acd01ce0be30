import { rollback } from '../../deploy/rollback.js';
import type { HostSelection } from '../../engine/index.js';
import { confirmRun } from '../confirm.js';
import { hostSelection } from '../host-selection.js';
import { failedToStart, withEndEvent } from '../run-end.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';
import { dryRunCommand } from './dry-run.js';

export interface RollbackFlags extends GlobalOptions, HostSelection {
  yes?: boolean;
  to?: string;
  dryRun?: boolean;
}

/** `ship rollback <stage> [--to ID]`: every selected host back to the previous good release, or to ID. */
export async function rollbackCommand(stageName: string, flags: RollbackFlags): Promise<void> {
  if (flags.dryRun) return dryRunCommand('rollback', stageName, flags);
  const rt = await prepareRuntime(stageName, flags, { tree: true, log: 'rollback' }).catch(failedToStart(flags, stageName, 'rollback:end'));
  await withEndEvent(rt, 'rollback:end', async () => {
    await confirmRun(rt.stage, `roll back ${rt.stage.app} on ${rt.stage.stage}${flags.to ? ` to ${flags.to}` : ''}`, flags);
    return rollback(rt.stage, { ...(flags.to ? { to: flags.to } : {}), ...hostSelection(flags) }, rt.env);
  });
}
