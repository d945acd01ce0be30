import type { HostSelection } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import { execOnHosts } from '../../ops/exec.js';
import { hostSelection } from '../host-selection.js';
import { failedToStart, withHostsEnd } from '../run-end.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/** `ship exec <stage> [--hosts] [--roles] -- CMD...`: CMD in the current release of each host. */
export async function execCommand(stageName: string, command: string[], flags: GlobalOptions & HostSelection): Promise<void> {
  const text = command.join(' ').trim();
  if (!text) throw new UsageError('ship exec: no command given', [], `put it after --: ship exec ${stageName} -- uptime`);
  const rt = await prepareRuntime(stageName, flags, { grouped: true }).catch(failedToStart(flags, stageName, 'exec:end'));
  await withHostsEnd(rt, 'exec:end', 'command', () => execOnHosts(rt.stage, { ...hostSelection(flags), command: text }, rt.env));
}
