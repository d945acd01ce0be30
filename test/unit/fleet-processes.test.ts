/**
 * The fleet harness's kill helpers never hand process.kill a pid that is not one process:
 * kill(-1) as root signals every process on the machine, kill(0) the test runner's own group.
 */
import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isProcessPid, killTreeSync, signalGroup, signalPid } from '../helpers/fleet/processes.js';

const NOT_ONE_PROCESS = [undefined, Number.NaN, -1, 0, 1, -42, 1.5];

describe('kill helpers', () => {
  afterEach(() => vi.restoreAllMocks());

  it('refuse undefined, NaN, -1, 0, 1, negative and fractional pids without calling process.kill', () => {
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => true);
    for (const pid of NOT_ONE_PROCESS) {
      expect(isProcessPid(pid)).toBe(false);
      expect(signalPid(pid, 'SIGKILL')).toBe(false);
      expect(signalGroup(pid, 'SIGKILL')).toBe(false);
      expect(killTreeSync(pid)).toEqual([]);
    }
    expect(kill).not.toHaveBeenCalled();
  });

  it('kill a real process tree', async () => {
    const child = spawn('sh', ['-c', 'sleep 3181 & wait'], { stdio: 'ignore' });
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_, signal) => resolve(signal)));
    await new Promise((r) => setTimeout(r, 100));
    expect(killTreeSync(child.pid)).toEqual([]);
    expect(await closed).toBe('SIGKILL');
    expect(spawnSync('pgrep', ['-f', 'sleep 3181']).status).toBe(1); // the grandchild too
    expect(signalPid(child.pid, 0)).toBe(false); // reaped: gone
  });
});
