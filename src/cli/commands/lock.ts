import { lockStage } from '../../ops/status.js';
import { oneLine } from '../../release/host-text.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/** `ship lock <stage> [--reason TEXT]`: the stage's lock on every host, left held (a maintenance window). */
export async function lockCommand(stageName: string, flags: GlobalOptions & { reason?: string }): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    await lockStage(rt.stage, { ...(flags.reason ? { reason: flags.reason } : {}) }, rt.env);
    rt.say(
      `stage ${rt.stage.stage} locked on ${rt.stage.hosts.length} host(s)${flags.reason ? `: ${oneLine(flags.reason).trim()}` : ''}; ship unlock ${rt.stage.stage} to release it`,
    );
  } finally {
    rt.dispose();
  }
}
