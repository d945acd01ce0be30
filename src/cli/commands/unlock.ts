import { unlockStage } from '../../ops/status.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/** `ship unlock <stage>`: removes the lock on every host, whoever holds it, saying whose it was. */
export async function unlockCommand(stageName: string, flags: GlobalOptions): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    const out = await unlockStage(rt.stage, {}, rt.env);
    for (const o of out) rt.say(`${o.host}: ${o.was ? `unlocked (was ${o.was})` : 'was not locked'}`);
  } finally {
    rt.dispose();
  }
}
