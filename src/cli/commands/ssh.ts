import { DeployError, UsageError } from '../../errors.js';
import { shellCommand } from '../../ops/exec.js';
import { serverPaths } from '../../release/paths.js';
import { render } from '../../shell/render.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';

/**
 * `ship ssh <stage> [host]`: an interactive login shell in the release `current` points at,
 * on the named host or the first of the stage. Returns the shell's exit code, which becomes
 * ship's.
 */
export async function sshCommand(stageName: string, hostName: string | undefined, flags: GlobalOptions): Promise<number> {
  const rt = await prepareRuntime(stageName, flags);
  // the shell owns Ctrl-C now: ship's wind-down handlers would only get in its way
  rt.dispose();
  const ignore = () => {};
  process.on('SIGINT', ignore);
  try {
    const host = hostName === undefined ? rt.stage.hosts[0] : rt.stage.hosts.find((h) => h.name === hostName);
    if (!host) throw new UsageError(`${hostName} is not a host of stage ${rt.stage.stage}`, [], `hosts: ${rt.stage.hosts.map((h) => h.name).join(', ')}`);
    const transport = rt.env.transportFor(host);
    if (!transport.shell) throw new UsageError(`cannot open a shell on ${host.name}: its transport has no interactive mode`);
    try {
      await transport.connect();
    } catch (e) {
      throw new DeployError(`cannot connect to ${host.name}: ${rt.redact(String((e as Error).message ?? e))}`);
    }
    try {
      return await transport.shell(render(shellCommand(serverPaths(host.deployTo))), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
    } finally {
      await transport.close();
    }
  } finally {
    process.off('SIGINT', ignore);
  }
}
