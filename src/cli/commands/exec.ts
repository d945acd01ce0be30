import { describeOutcome, execOnHosts, runTask, shellCommand, type HostOutcome } from '../../ops/exec.js';
import { DeployError, ShipError, UsageError } from '../../errors.js';
import { serverPaths } from '../../release/paths.js';
import { render } from '../../shell/render.js';
import { failedToStart } from '../run-end.js';
import { prepareRuntime, type GlobalOptions, type Runtime } from '../runtime.js';

interface Selection extends GlobalOptions {
  hosts?: string[];
  roles?: string[];
}
const pick = (f: Selection) => ({ ...(f.hosts ? { hosts: f.hosts } : {}), ...(f.roles ? { roles: f.roles } : {}) });

/** `ship exec <stage> [--hosts] [--roles] -- CMD...`: CMD in the current release of each host. */
export async function execCommand(stageName: string, command: string[], flags: Selection): Promise<void> {
  const text = command.join(' ').trim();
  if (!text) throw new UsageError('ship exec: no command given', [], `put it after --: ship exec ${stageName} -- uptime`);
  const rt = await prepareRuntime(stageName, flags, { grouped: true }).catch(failedToStart(flags, stageName, 'exec:end'));
  await reportHosts(rt, 'exec:end', 'command', () => execOnHosts(rt.stage, { ...pick(flags), command: text }, rt.env));
}

/** `ship run <stage> <task>`: one task (and its hooks) alone, on its hosts, under the lock. */
export async function runCommand(stageName: string, task: string, flags: Selection): Promise<void> {
  const rt = await prepareRuntime(stageName, flags, { grouped: true }).catch(failedToStart(flags, stageName, 'run:end'));
  await reportHosts(rt, 'run:end', `task ${task}`, () => runTask(rt.stage, { ...pick(flags), task }, rt.env), task);
}

/** Runs the work, ends the stream with exec:end / run:end, and fails (exit 1) when any host did. */
async function reportHosts(rt: Runtime, event: 'exec:end' | 'run:end', what: string, work: () => Promise<HostOutcome[]>, task?: string): Promise<void> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  const codes = (os: HostOutcome[]) => Object.fromEntries(os.map((o) => [o.host, o.exitCode]));
  let outcomes: HostOutcome[] | undefined;
  try {
    outcomes = await work();
    const failed = outcomes.filter((o) => o.exitCode !== 0);
    if (failed.length) {
      throw new DeployError(`${what} failed on ${failed.length} of ${outcomes.length} host(s)`, failed.map((o) => (o.error && o.exitCode !== null ? o.error : describeOutcome(o))));
    }
    rt.env.emit({ event, ok: true, exitCode: 0, ms: ms(), hosts: codes(outcomes), ...(task ? { task } : {}) });
  } catch (e) {
    const exitCode = e instanceof ShipError ? e.exitCode : 1;
    rt.env.emit({ event, ok: false, exitCode, ms: ms(), hosts: outcomes ? codes(outcomes) : {}, ...(task ? { task } : {}), error: rt.redact(e instanceof Error ? e.message : String(e)) });
    throw e;
  } finally {
    await rt.reporter.close();
    rt.dispose();
  }
}

/**
 * `ship ssh <stage> [host]`: an interactive login shell in the release `current` points at,
 * on the named host or the first of the stage; exits with the shell's exit code.
 */
/** Returns the exit code of the remote shell, which becomes ship's. */
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

