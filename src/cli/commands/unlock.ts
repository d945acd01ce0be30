import { unlockStage } from '../../ops/status.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/**
 * `ship unlock <stage> [--force]`: removes the lock on every host, saying what it found on
 * each. A lock whose run may still be going is refused without --force (exit 4).
 */
export async function unlockCommand(stageName: string, flags: GlobalOptions & { force?: boolean }): Promise<void> {
  const rt = await prepareRuntime(stageName, flags);
  try {
    const out = await unlockStage(rt.stage, { force: !!flags.force, alive: processAlive }, rt.env);
    for (const o of out) rt.say(`${o.host}: ${o.said}`);
  } finally {
    rt.dispose();
  }
}

/** Signal 0 checks a process exists without touching it; EPERM means it exists under another user. */
function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
