import type { HostSelection } from '../../engine/index.js';
import { UsageError } from '../../errors.js';
import { showLogs } from '../../ops/logs.js';
import { hostSelection } from '../host-selection.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/** `ship logs <stage> [--hosts] [--roles] [-f] [-n 100] [--grep RE]`: every selected host's app logs, each line with its host. */
export async function logsCommand(
  stageName: string,
  flags: GlobalOptions & HostSelection & { follow?: boolean; lines?: string; grep?: string },
): Promise<void> {
  const lines = Number(flags.lines ?? 100);
  if (!Number.isInteger(lines) || lines < 0) throw new UsageError(`-n ${flags.lines}: expected a whole number of lines`);
  const rt = await prepareRuntime(stageName, flags);
  try {
    const selection = hostSelection(flags);
    const width = Math.max(...rt.stage.hosts.map((h) => h.name.length));
    await showLogs(rt.stage, selection, { lines, follow: !!flags.follow, ...(flags.grep !== undefined ? { grep: flags.grep } : {}) }, rt.env, {
      onLine: (l) => {
        if (rt.json) return rt.list({ event: 'logs:line', host: l.host, stream: l.stream, line: l.line });
        (l.stream === 'stderr' ? process.stderr : process.stdout).write(`${l.host.padEnd(width)} | ${l.line}\n`);
      },
      onHostError: (host, message) => rt.say(`${host}: could not read the logs: ${message}`),
    });
  } finally {
    rt.dispose();
  }
}
