import { randomBytes } from 'node:crypto';
import type { HostConfig, StageConfig } from '../config/types.js';
import { DeployError, InterruptedError, LockedError } from '../errors.js';
import { inspectHost, parseInspection, type InspectedHost } from '../release/inspect.js';
import { acquireLock, describeLock, LOCK_HELD, parseLockOwner, releaseLock, type LockOwner } from '../release/lock.js';
import { serverPaths, type ServerPaths } from '../release/paths.js';
import type { Step } from '../shell/script.js';
import type { Transport } from '../transport/types.js';
import type { Emit } from '../ui/events.js';
import type { Redact } from '../ui/redact.js';
import { mapSettled } from '../util/pool.js';
import type { Clock } from './clock.js';
import { runSteps, type ScriptOutcome } from './run-steps.js';

/** Who is running ship: written into locks and history. */
export interface Operator {
  user: string;
  machine: string;
  pid: number;
  ci?: string;
}

/** Everything a run needs from the outside, injected (STYLE habit 2). */
export interface RunEnv {
  clock: Clock;
  emit: Emit;
  redact: Redact;
  transportFor: (host: HostConfig) => Transport;
  /** This machine, for `local: true` tasks and hooks. */
  localTransport?: Transport;
  operator: Operator;
  concurrency: number;
  lockWaitMs?: number;
  signal?: AbortSignal;
}

/** One host of a run: its connection, its paths, what it held when we looked. */
export interface Member {
  host: HostConfig;
  paths: ServerPaths;
  transport: Transport;
  state: InspectedHost;
}

export interface OpenFleet {
  members: Member[];
  token: string;
}

const LOCK_RETRY_MS = 2000;

export const hostLabel = (h: HostConfig) => h.name;

/**
 * Connects to every host in parallel (bounded), takes the lock on each (when `lock` is
 * given) and reads what each holds, in one round trip per host. All or nothing: on any
 * failure the locks taken are released, the connections closed, and a typed error names
 * every host that failed.
 */
export async function openFleet(
  stage: StageConfig,
  hosts: HostConfig[],
  env: RunEnv,
  lock: { command: string; reason?: string } | undefined,
): Promise<OpenFleet> {
  const token = randomBytes(12).toString('hex');
  const owner: LockOwner | undefined = lock && {
    user: env.operator.user,
    machine: env.operator.machine,
    pid: env.operator.pid,
    started: env.clock.now().toISOString(),
    command: lock.command,
    token,
    ...(lock.reason ? { reason: lock.reason } : {}),
  };
  const deadline = env.clock.now().getTime() + (env.lockWaitMs ?? 0);
  const transports = new Map<string, Transport>();

  for (;;) {
    // Lock order: the first host is the leader. Its lock is taken before any other, so two
    // runs started at once cannot each take part of the fleet: one holds the leader and goes
    // on, the other is refused there and touches nothing else.
    let openGate: (ok: boolean) => void = () => {};
    const gate = new Promise<boolean>((resolve) => (openGate = resolve));
    const results = await mapSettled(hosts, env.concurrency, async (host, index) => {
      try {
        return await connectLockInspect(host, index);
      } finally {
        if (index === 0) openGate(false); // no-op when the leader already opened it
      }
    });
    async function connectLockInspect(host: HostConfig, index: number) {
      const paths = serverPaths(host.deployTo);
      let transport = transports.get(host.name);
      if (!transport) {
        const t0 = performance.now();
        transport = env.transportFor(host);
        try {
          await transport.connect();
        } catch (e) {
          env.emit({ event: 'host:connect', host: host.name, ok: false, ms: Math.round(performance.now() - t0), error: env.redact(String((e as Error).message ?? e)) });
          await transport.close().catch(() => {});
          throw e;
        }
        transports.set(host.name, transport);
        env.emit({ event: 'host:connect', host: host.name, ok: true, ms: Math.round(performance.now() - t0) });
      }
      if (owner && index > 0 && !(await gate)) return { host, paths, transport, r: undefined };
      const steps: Step[] = [];
      if (owner) steps.push({ label: 'lock', command: acquireLock(paths, owner) });
      steps.push({ label: 'inspect', command: inspectHost(paths) });
      const r = await runSteps({ host: host.name, transport, steps, emit: env.emit, redact: env.redact, quiet: true, ...(env.signal ? { signal: env.signal } : {}) });
      if (index === 0) openGate(r.ok);
      return { host, paths, transport, r };
    }

    const locked: { host: string; holder: string }[] = [];
    const failed: string[] = [];
    const ok: Member[] = [];
    results.forEach((res, i) => {
      const host = hosts[i]!;
      if (res.status === 'rejected') {
        failed.push(`${host.name}: ${env.redact(String((res.reason as Error).message ?? res.reason))}`);
        return;
      }
      const { paths, transport, r } = res.value;
      if (!r) return; // not tried: the leader host was not locked
      if (r.ok) {
        const inspect = r.steps.at(-1)!;
        if (owner) env.emit({ event: 'lock', host: host.name, ok: true });
        const state = parseInspection(host.name, paths, inspect.stdout);
        // a real directory named current is refused here, before anything changes anywhere
        if (state.currentIsDirectory && owner) failed.push(`${host.name}: ${paths.current} is a real directory, not a symlink: move it away by hand; ship will not delete it`);
        // a link ship cannot place (elsewhere, relative, another tool's): ship would not know
        // where to put it back after a failure, so it touches nothing
        else if (state.currentTarget && !state.current && owner) {
          failed.push(`${host.name}: ${paths.current} points to ${state.currentTarget}, not to a release in ${paths.releases}: point it at one by hand (or remove it) first`);
        }
        ok.push({ host, paths, transport, state });
      } else if (owner && r.steps[0]?.exitCode === LOCK_HELD) {
        const holder = describeLock(parseLockOwner(r.steps[0].stdout), env.clock.now());
        env.emit({ event: 'lock', host: host.name, ok: false, holder });
        locked.push({ host: host.name, holder });
      } else {
        failed.push(`${host.name}: ${r.error?.message ?? `exit ${r.exitCode}`}`);
      }
    });

    if (locked.length === 0 && failed.length === 0) return { members: ok, token };

    // Not everyone: give back what we took, so nothing stays locked by a run that did not start.
    // Every host we reached, not only those that answered: an interrupted lock script may have
    // taken the lock before it was cut off (the token guard makes this safe everywhere).
    if (owner) {
      const reached = hosts.filter((h) => transports.has(h.name)).map((h) => ({ host: h, paths: serverPaths(h.deployTo), transport: transports.get(h.name)! }));
      await releaseLocks(reached, token, { ...env, signal: undefined });
    }
    if (env.signal?.aborted) {
      await Promise.all([...transports.values()].map((t) => t.close().catch(() => {})));
      throw new InterruptedError('interrupted while connecting and locking: nothing was changed');
    }
    const waitMore = failed.length === 0 && locked.length > 0 && env.clock.now().getTime() + LOCK_RETRY_MS <= deadline;
    if (waitMore) {
      env.emit({ event: 'log', level: 'info', message: `stage ${stage.stage} is locked on ${locked.map((l) => l.host).join(', ')}; waiting (--lock-wait)` });
      try {
        await env.clock.sleep(LOCK_RETRY_MS, env.signal);
      } catch {
        await Promise.all([...transports.values()].map((t) => t.close().catch(() => {})));
        throw new InterruptedError('interrupted while waiting for the lock: nothing was changed');
      }
      continue;
    }
    await Promise.all([...transports.values()].map((t) => t.close().catch(() => {})));
    if (failed.length) {
      throw new DeployError(
        `${failed.length} of ${hosts.length} host(s) of stage ${stage.stage} cannot be deployed to (unreachable or not in a state ship can work with); nothing was changed`,
        [...failed, ...locked.map((l) => `${l.host}: locked, ${l.holder}`)],
        'check the hosts are up and reachable (ship check), then try again',
      );
    }
    throw new LockedError(
      `stage ${stage.stage} is locked (on ${locked.map((l) => l.host).join(', ')}); nothing was changed`,
      locked.map((l) => `${l.host}: ${l.holder}`),
      `wait for that run to end, use --lock-wait 5m to queue, or if it is dead: ship unlock ${stage.stage}`,
    );
  }
}

/** Releases our lock on each member (only where it still carries our token). Never throws. */
export async function releaseLocks(members: Pick<Member, 'host' | 'paths' | 'transport'>[], token: string, env: RunEnv): Promise<void> {
  await mapSettled(members, env.concurrency, (m) =>
    runSteps({ host: m.host.name, transport: m.transport, steps: [{ label: 'unlock', command: releaseLock(m.paths, token) }], emit: env.emit, redact: env.redact, quiet: true }),
  );
}

/**
 * Bookkeeping scripts end with `unlock`, and a script stops at its first failing step (a
 * prune that cannot delete, a full disk): wherever one failed, our lock is released on its
 * own, so a finished run never leaves the stage locked.
 */
export async function unlockWhereFailed(members: Member[], outcomes: ScriptOutcome[], token: string, env: RunEnv): Promise<void> {
  const failed = members.filter((_, i) => !outcomes[i]?.ok);
  if (failed.length) await releaseLocks(failed, token, env);
}

export async function closeFleet(members: Member[]): Promise<void> {
  await Promise.all(members.map((m) => m.transport.close().catch(() => {})));
}

/** Runs one list of steps per member in parallel (bounded); returns outcomes in member order. */
export async function runOnEach(
  members: Member[],
  env: RunEnv,
  stepsFor: (m: Member) => Step[],
  envFor?: (m: Member) => Record<string, string>,
): Promise<ScriptOutcome[]> {
  const settled = await mapSettled(members, env.concurrency, (m) =>
    runSteps({
      host: m.host.name,
      transport: m.transport,
      steps: stepsFor(m),
      emit: env.emit,
      redact: env.redact,
      ...(envFor ? { env: envFor(m) } : {}),
      ...(env.signal ? { signal: env.signal } : {}),
    }),
  );
  return settled.map((s, i) =>
    s.status === 'fulfilled'
      ? s.value
      : { ok: false, exitCode: 255, steps: [], error: undefined, thrown: `${members[i]!.host.name}: ${String((s.reason as Error)?.message ?? s.reason)}` } as ScriptOutcome & { thrown: string },
  );
}

/** One line per failed outcome, naming the host. */
export function describeFailures(members: Member[], outcomes: ScriptOutcome[]): string[] {
  const lines: string[] = [];
  outcomes.forEach((o, i) => {
    if (o.ok) return;
    const thrown = (o as ScriptOutcome & { thrown?: string }).thrown;
    lines.push(o.error?.message ?? thrown ?? `${members[i]!.host.name}: failed (exit ${o.exitCode})`);
  });
  return lines;
}
