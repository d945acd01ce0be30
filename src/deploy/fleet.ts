import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { HostConfig, StageConfig } from '../config/types.js';
import { DeployError, InterruptedError, LockedError } from '../errors.js';
import { inspectHost, parseInspection, type InspectedHost } from '../release/inspect.js';
import type { RemoteCommandError } from '../errors.js';
import { acquireLock, describeLock, LOCK_HELD, parseLockOwner, releaseLock, type LockOwner } from '../release/lock.js';
import { serverPaths, type ServerPaths } from '../release/paths.js';
import type { Command } from '../shell/command.js';
import type { Step } from '../shell/script.js';
import type { Transport } from '../transport/types.js';
import type { Emit } from '../ui/events.js';
import type { Redact } from '../ui/redact.js';
import { mapSettled } from '../util/pool.js';
import type { Clock } from './clock.js';
import { runSteps, type ScriptOutcome, type StepOutcome } from './run-steps.js';

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
  /** What the piggybacked steps did on this host (undefined: none were sent to it). */
  early?: EarlyWork;
}

/**
 * Work that rides in the lock script of every host but the leader: what the run would do
 * next on that host anyway (a deploy delivers the code), so it costs no round trip of its
 * own and no host waits for the slowest one to be locked before starting it. The leader is
 * locked (and inspected) first, alone; the steps may depend on what it holds, and the leader
 * runs them in a script of its own right after, while the others lock.
 */
export interface Piggyback {
  steps(host: HostConfig, paths: ServerPaths, leader: InspectedHost): Step[];
  /** Undoes them where they may have run, under our lock, when the fleet cannot be opened. */
  undo(paths: ServerPaths): Command | undefined;
  /** The environment the steps run with (exported in the script, never in an argv). */
  env?(host: HostConfig, paths: ServerPaths): Record<string, string>;
}

export interface EarlyWork {
  ok: boolean;
  steps: StepOutcome[];
  error?: RemoteCommandError;
}

export interface OpenFleet {
  members: Member[];
  token: string;
}

const LOCK_RETRY_MS = 2000;
const LOCK_SCRIPT_GRACE_MS = 15_000;

/** A signal that aborts `ms` after `signal` does (undefined without one). */
function graceful(signal: AbortSignal | undefined, ms: number): AbortSignal | undefined {
  if (!signal) return undefined;
  const late = new AbortController();
  setMaxListeners(0, late.signal); // one listener per running script: many hosts are expected
  const cut = () => {
    const timer = setTimeout(() => late.abort(signal.reason), ms);
    timer.unref();
  };
  if (signal.aborted) cut();
  else signal.addEventListener('abort', cut, { once: true });
  return late.signal;
}

export const hostLabel = (h: HostConfig) => h.name;

/** The SSH connections of a run, opened ahead of use (a deploy opens them while git resolves the sha). */
export interface Connections {
  /** The host's connected transport, connecting now if not yet started; rejects when it cannot connect. */
  get(host: HostConfig): Promise<Transport>;
  /** The hosts connected so far. */
  connected(): Map<string, Transport>;
  /** Closes every connection, also those still being made. */
  close(): Promise<void>;
}

/**
 * Starts connecting to every host now, at most `concurrency` handshakes at a time, each
 * reported as host:connect. Nothing runs on a host: a failure here changes nothing.
 */
export function startConnecting(hosts: HostConfig[], env: RunEnv): Connections {
  const pending = new Map<string, Promise<Transport>>();
  const done = new Map<string, Transport>();
  let closed = false;
  let active = 0;
  const waiting: (() => void)[] = [];
  const turn = () =>
    active < env.concurrency ? (active++, Promise.resolve()) : new Promise<void>((resolve) => waiting.push(() => (active++, resolve())));
  const leave = () => {
    active--;
    waiting.shift()?.();
  };
  const connect = async (host: HostConfig): Promise<Transport> => {
    await turn();
    const t0 = performance.now();
    const transport = env.transportFor(host);
    try {
      if (closed) throw new Error('the run ended before connecting');
      await transport.connect();
    } catch (e) {
      if (!closed) env.emit({ event: 'host:connect', host: host.name, ok: false, ms: Math.round(performance.now() - t0), error: env.redact(String((e as Error).message ?? e)) });
      await transport.close().catch(() => {});
      throw e;
    } finally {
      leave();
    }
    if (closed) {
      await transport.close().catch(() => {});
      throw new Error('the run ended while connecting');
    }
    done.set(host.name, transport);
    env.emit({ event: 'host:connect', host: host.name, ok: true, ms: Math.round(performance.now() - t0) });
    return transport;
  };
  const get = (host: HostConfig) => {
    let p = pending.get(host.name);
    if (!p) {
      p = connect(host);
      p.catch(() => {}); // looked at by whoever awaits it; never an unhandled rejection
      pending.set(host.name, p);
    }
    return p;
  };
  for (const h of hosts) get(h);
  return {
    get,
    connected: () => done,
    close: async () => {
      closed = true;
      await Promise.all([...done.values()].map((t) => t.close().catch(() => {})));
      done.clear();
    },
  };
}

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
  piggyback?: Piggyback,
  connections: Connections = startConnecting(hosts, env),
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
  const sentEarly = new Set<string>(); // hosts the piggybacked steps were sent to, in any try
  let early = piggyback; // dropped for a refused leader, and after a try that found a lock
  // A lock script cut off mid-way may still run on the host (a signal does not always reach
  // it: OpenSSH refuses them in root sessions, and a shell dies before its children) and take
  // the lock, or make its release, after we have cleaned up. So an interrupt lets the lock
  // scripts finish (they are short: a fetch at most) and cleans up after them; only one still
  // running LOCK_SCRIPT_GRACE_MS later is cut off.
  const settle = graceful(env.signal, LOCK_SCRIPT_GRACE_MS);

  for (;;) {
    // Lock order: the first host is the leader. Its lock is taken before any other, so two
    // runs started at once cannot each take part of the fleet: one holds the leader and goes
    // on, the other is refused there and touches nothing else.
    let openGate: (ok: boolean) => void = () => {};
    const gate = new Promise<boolean>((resolve) => (openGate = resolve));
    let leader: InspectedHost | undefined;
    const results = await mapSettled(hosts, env.concurrency, async (host, index) => {
      try {
        return await connectLockInspect(host, index);
      } finally {
        if (index === 0) openGate(false); // no-op when the leader already opened it
      }
    });
    async function connectLockInspect(host: HostConfig, index: number) {
      const paths = serverPaths(host.deployTo);
      const transport = await connections.get(host);
      if (owner && index > 0 && !(await gate)) return { host, paths, transport, r: undefined, early: 0 };
      if (env.signal?.aborted) return { host, paths, transport, r: undefined, early: 0 }; // nothing new once interrupted
      const steps: Step[] = [];
      if (owner) steps.push({ label: 'lock', command: acquireLock(paths, owner), quiet: true });
      steps.push({ label: 'inspect', command: inspectHost(paths), quiet: true });
      const extra = early && owner && index > 0 && leader ? early.steps(host, paths, leader) : [];
      if (extra.length) sentEarly.add(host.name);
      const stepEnv = extra.length ? early?.env?.(host, paths) : undefined;
      const r = await runSteps({
        host: host.name,
        transport,
        steps: [...steps, ...extra],
        ...(stepEnv ? { env: stepEnv } : {}),
        emit: env.emit,
        redact: env.redact,
        // the lock is reported as soon as it is taken, before the work riding on it
        onStepEnd: (i, out) => {
          if (owner && i === 0 && out.exitCode === 0) env.emit({ event: 'lock', host: host.name, ok: true, ...(early ? { continues: true } : {}) });
        },
        ...(settle ? { signal: settle } : {}),
      });
      if (index === 0) {
        const inspected = r.steps[steps.length - 1];
        if (inspected?.exitCode === 0) leader = parseInspection(host.name, paths, inspected.stdout);
        // a leader the run will refuse (see below): no host gets anything of this run
        if (leader && refusal(leader, paths)) early = undefined;
        openGate(inspected?.exitCode === 0);
        // the leader's own share, in a script of its own while the others lock
        const own = leader && early && owner ? early.steps(host, paths, leader) : [];
        if (own.length && !env.signal?.aborted) {
          sentEarly.add(host.name);
          const ownEnv = early?.env?.(host, paths);
          const more = await runSteps({ host: host.name, transport, steps: own, ...(ownEnv ? { env: ownEnv } : {}), emit: env.emit, redact: env.redact, ...(settle ? { signal: settle } : {}) });
          return { host, paths, transport, r: { ...more, steps: [...r.steps, ...more.steps] }, early: steps.length };
        }
      }
      return { host, paths, transport, r, early: steps.length };
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
      const { paths, transport, r, early } = res.value;
      if (!r) return; // not tried: the leader host was not locked
      const lockStep = owner ? r.steps[0] : undefined;
      const inspect = r.steps[early - 1]!;
      if (inspect.exitCode === 0) {
        const state = parseInspection(host.name, paths, inspect.stdout);
        const refused = owner ? refusal(state, paths) : undefined;
        if (refused) failed.push(`${host.name}: ${refused}`);
        const member: Member = { host, paths, transport, state };
        // the piggybacked steps failed or were cut short: the run decides (it was prepare work)
        if (r.steps.length > early) member.early = { ok: r.ok, steps: r.steps.slice(early), ...(r.error ? { error: r.error } : {}) };
        ok.push(member);
      } else if (lockStep?.exitCode === LOCK_HELD) {
        const holder = describeLock(parseLockOwner(lockStep.stdout), env.clock.now());
        env.emit({ event: 'lock', host: host.name, ok: false, holder });
        locked.push({ host: host.name, holder });
      } else {
        failed.push(`${host.name}: ${r.error?.message ?? `exit ${r.exitCode}`}`);
      }
    });

    if (locked.length === 0 && failed.length === 0 && !env.signal?.aborted) return { members: ok, token };

    // Not everyone: give back what we took, so nothing stays locked by a run that did not start.
    // Every host we reached, not only those that answered: an interrupted lock script may have
    // taken the lock before it was cut off (the token guard makes this safe everywhere).
    if (owner) {
      const open = connections.connected();
      const reached = hosts.filter((h) => open.has(h.name)).map((h) => ({ host: h, paths: serverPaths(h.deployTo), transport: open.get(h.name)! }));
      await releaseLocks(reached, token, { ...env, signal: undefined }, (m) => (piggyback && sentEarly.has(m.host.name) ? piggyback.undo(m.paths) : undefined));
      sentEarly.clear(); // undone
    }
    if (env.signal?.aborted) {
      await connections.close();
      throw new InterruptedError('interrupted while connecting and locking: nothing was changed');
    }
    const waitMore = failed.length === 0 && locked.length > 0 && env.clock.now().getTime() + LOCK_RETRY_MS <= deadline;
    if (waitMore) {
      // while we wait, the hosts we can lock are locked only briefly, never busy with our code:
      // the next tries lock and look, and the code goes out in the prepare phase
      early = undefined;
      env.emit({ event: 'log', level: 'info', message: `stage ${stage.stage} is locked on ${locked.map((l) => l.host).join(', ')}; waiting (--lock-wait)` });
      try {
        await env.clock.sleep(LOCK_RETRY_MS, env.signal);
      } catch {
        await connections.close();
        throw new InterruptedError('interrupted while waiting for the lock: nothing was changed');
      }
      continue;
    }
    await connections.close();
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

/**
 * Why ship will not work on a host, from what it holds, or undefined. A real directory named
 * current: ship never deletes it. A link ship cannot place (elsewhere, relative, another
 * tool's): ship would not know where to put it back after a failure. Either way the run
 * touches nothing.
 */
function refusal(state: InspectedHost, paths: ServerPaths): string | undefined {
  if (state.currentIsDirectory) return `${paths.current} is a real directory, not a symlink: move it away by hand; ship will not delete it`;
  if (state.currentTarget && !state.current) {
    return `${paths.current} points to ${state.currentTarget}, not to a release in ${paths.releases}: point it at one by hand (or remove it) first`;
  }
  return undefined;
}

/**
 * Releases our lock on each member (only where it still carries our token), after `undo`
 * where one is given (under the same token check). Never throws.
 */
export async function releaseLocks(
  members: Pick<Member, 'host' | 'paths' | 'transport'>[],
  token: string,
  env: RunEnv,
  undo?: (m: Pick<Member, 'host' | 'paths'>) => Command | undefined,
): Promise<void> {
  await mapSettled(members, env.concurrency, (m) => {
    const command = releaseLock(m.paths, token, undo?.(m));
    return runSteps({ host: m.host.name, transport: m.transport, steps: [{ label: 'unlock', command }], emit: env.emit, redact: env.redact, quiet: true });
  });
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
