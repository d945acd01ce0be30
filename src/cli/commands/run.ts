import type { HostSelection } from '../../engine/index.js';
import { runTask } from '../../ops/exec.js';
import { hostSelection } from '../host-selection.js';
import { failedToStart, withHostsEnd } from '../run-end.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/** `ship run <stage> <task>`: one task (and its hooks) alone, on its hosts, under the lock. */
export async function runCommand(stageName: string, task: string, flags: GlobalOptions & HostSelection): Promise<void> {
  const rt = await prepareRuntime(stageName, flags, { grouped: true }).catch(failedToStart(flags, stageName, 'run:end'));
  await withHostsEnd(rt, 'run:end', `task ${task}`, () => runTask(rt.stage, { ...hostSelection(flags), task }, rt.env), task);
}
