import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { HostConfig, StageConfig } from '../config/types.js';
import { DeployError, InterruptedError, LockedError, type RemoteCommandError } from '../errors.js';
import { inspectHost, parseInspection, type InspectedHost } from '../release/inspect.js';
import { acquireLock, describeLock, LOCK_HELD, LOCK_UNWRITABLE, parseLockOwner, type LockOwner } from '../release/lock.js';
import { serverPaths, type ServerPaths } from '../release/paths.js';
import type { Command } from '../shell/command.js';
import type { Step } from '../shell/script.js';
import type { Transport } from '../transport/types.js';
import { startConnecting, type Connections } from './connections.js';
import { runOn } from './fan-out.js';
import { releaseLocks } from './locks.js';
import { mapSettled } from './pool.js';
import { calm, type RunEnv } from './run-env.js';
import { stepOfKind, type ScriptOutcome, type StepOutcome } from './run-steps.js';

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

export interface OpenFleetOptions {
  /** Take the stage's lock for this command (deploy, rollback, lock...); without it, only look. */
  lock?: { command: string; reason?: string };
  piggyback?: Piggyback;
  /** Connections already being made (a deploy starts them early); else made now. */
  connections?: Connections;
}

const LOCK_RETRY_MS = 2000;
/**
 * A lock script cut off mid-way may still run on the host (stopping it is not instant, and a
 * host without setsid stops a script less surely) and take
 * the lock, or make its release, after we have cleaned up. So an interrupt lets the lock
 * scripts finish (they are short: a fetch at most) and cleans up after them; only one still
 * running this long after is cut off.
 */
const LOCK_SCRIPT_GRACE_MS = 15_000;

/** A signal that aborts `ms` after `signal` does (undefined without one). */
function graceful(signal: AbortSignal | undefined, ms: number): AbortSignal | undefined {
  if (!signal) return undefined;
  const late = new AbortController();
  setMaxListeners(0, late.signal); // one listener per running script: many hosts are expected
  const cut = () => setTimeout(() => late.abort(signal.reason), ms).unref();
  if (signal.aborted) cut();
  else signal.addEventListener('abort', cut, { once: true });
  return late.signal;
}

/**
 * Connects to every host in parallel (bounded), takes the lock on each (when `lock` is
 * given) and reads what each holds, in one round trip per host. All or nothing: on any
 * failure the locks taken are released, the connections closed, and a typed error names
 * every host that failed. With --lock-wait, a held lock is tried again until the deadline.
 */
export async function openFleet(stage: StageConfig, hosts: HostConfig[], env: RunEnv, o: OpenFleetOptions = {}): Promise<OpenFleet> {
  const opening = new FleetOpening(stage, hosts, env, o);
  const deadline = env.clock.now().getTime() + (env.lockWaitMs ?? 0);
  for (;;) {
    const tried = opening.judge(await opening.tryAll());
    if (tried.locked.length === 0 && tried.failed.length === 0 && !env.signal?.aborted) return { members: tried.members, token: opening.token };
    // Not everyone: give back what we took, so nothing stays locked by a run that did not start.
    await opening.giveBack();
    if (env.signal?.aborted) return opening.fail(new InterruptedError('interrupted while connecting and locking: nothing was changed'));
    const waitMore = tried.failed.length === 0 && tried.locked.length > 0 && env.clock.now().getTime() + LOCK_RETRY_MS <= deadline;
    if (!waitMore) return opening.fail(refusedError(stage, hosts, tried));
    opening.stopPiggybacking(); // while we wait, hosts are only locked and looked at
    env.emit({
      event: 'log',
      level: 'info',
      message: `stage ${stage.stage} is locked on ${tried.locked.map((l) => l.host).join(', ')}; waiting (--lock-wait)`,
    });
    try {
      await env.clock.sleep(LOCK_RETRY_MS, env.signal);
    } catch {
      return opening.fail(new InterruptedError('interrupted while waiting for the lock: nothing was changed'));
    }
  }
}

/** What one try found on one host: undefined `r` when it was not tried (the leader was not locked). */
interface HostTry {
  paths: ServerPaths;
  transport: Transport;
  r?: ScriptOutcome;
  /** How many of r's steps were the lock and the inspection (the rest rode along). */
  own: number;
}

interface Tried {
  members: Member[];
  locked: { host: string; holder: string }[];
  failed: string[];
}

/** The state of opening one fleet, across --lock-wait tries. */
class FleetOpening {
  readonly token = randomBytes(12).toString('hex');
  private readonly owner: LockOwner | undefined;
  private readonly connections: Connections;
  private readonly settle: AbortSignal | undefined;
  /** Hosts the piggybacked steps were sent to, in any try. */
  private readonly sentEarly = new Set<string>();
  /** Dropped for a refused leader, and after a try that found a lock. */
  private early: Piggyback | undefined;
  /** What the leader held in this try: the piggybacked steps are made from it. */
  private leaderState: InspectedHost | undefined;

  constructor(
    readonly _stage: StageConfig,
    private readonly hosts: HostConfig[],
    private readonly env: RunEnv,
    private readonly o: OpenFleetOptions,
  ) {
    const lock = o.lock;
    this.owner = lock && {
      user: env.operator.user,
      machine: env.operator.machine,
      pid: env.operator.pid,
      started: env.clock.now().toISOString(),
      command: lock.command,
      token: this.token,
      ...(lock.reason ? { reason: lock.reason } : {}),
    };
    this.early = o.piggyback;
    this.connections = o.connections ?? startConnecting(hosts, env);
    this.settle = graceful(env.signal, LOCK_SCRIPT_GRACE_MS);
  }

  stopPiggybacking(): void {
    this.early = undefined;
  }

  /**
   * One try on every host. Lock order: the first host is the leader. Its lock is taken before
   * any other, so two runs started at once cannot each take part of the fleet: one holds the
   * leader and goes on, the other is refused there and touches nothing else.
   */
  async tryAll(): Promise<PromiseSettledResult<HostTry>[]> {
    let openGate: (ok: boolean) => void = () => {};
    const gate = new Promise<boolean>((resolve) => (openGate = resolve));
    return mapSettled(this.hosts, this.env.concurrency, async (host, index) => {
      try {
        if (index === 0) return await this.tryLeader(host, openGate);
        return await this.tryFollower(host, gate);
      } finally {
        if (index === 0) openGate(false); // no-op when the leader already opened it
      }
    });
  }

  private lockAndLook(paths: ServerPaths): Step[] {
    const steps: Step[] = [];
    if (this.owner) steps.push({ label: 'lock', kind: 'lock', command: acquireLock(paths, this.owner), quiet: true });
    steps.push({ label: 'inspect', kind: 'inspect', command: inspectHost(paths), quiet: true });
    return steps;
  }

  private run(host: HostConfig, transport: Transport, steps: Step[], env: Record<string, string> | undefined): Promise<ScriptOutcome> {
    return runOn(this.env, {
      host: host.name,
      transport,
      steps,
      ...(env ? { env } : {}),
      // the lock is reported as soon as it is taken, before the work riding on it
      onStepEnd: (_, out) => {
        if (out.kind === 'lock' && out.exitCode === 0) this.env.emit({ event: 'lock', host: host.name, ok: true, ...(this.early ? { continues: true } : {}) });
      },
      ...(this.settle ? { signal: this.settle } : {}),
    });
  }

  /** The leader: locked and inspected alone; then its own share of the piggybacked work. */
  private async tryLeader(host: HostConfig, openGate: (ok: boolean) => void): Promise<HostTry> {
    const paths = serverPaths(host.deployTo);
    const transport = await this.connections.get(host);
    if (this.env.signal?.aborted) return { paths, transport, own: 0 }; // nothing new once interrupted
    const steps = this.lockAndLook(paths);
    const r = await this.run(host, transport, steps, undefined);
    const inspected = stepOfKind(r, 'inspect');
    const leader = inspected?.exitCode === 0 ? parseInspection(host.name, paths, inspected.stdout, this.env.clock.now()) : undefined;
    // a leader the run will refuse: no host gets anything of this run
    if (leader && refusal(leader, paths)) this.early = undefined;
    this.leaderState = leader;
    openGate(leader !== undefined);
    const share = leader && this.early && this.owner ? this.early.steps(host, paths, leader) : [];
    if (!share.length || this.env.signal?.aborted) return { paths, transport, r, own: steps.length };
    this.sentEarly.add(host.name);
    const more = await this.run(host, transport, share, this.early?.env?.(host, paths));
    return { paths, transport, r: { ...more, steps: [...r.steps, ...more.steps] }, own: steps.length };
  }

  /** Every other host: once the leader is locked, lock, look, and carry the piggybacked work. */
  private async tryFollower(host: HostConfig, gate: Promise<boolean>): Promise<HostTry> {
    const paths = serverPaths(host.deployTo);
    const transport = await this.connections.get(host);
    if (this.owner && !(await gate)) return { paths, transport, own: 0 };
    if (this.env.signal?.aborted) return { paths, transport, own: 0 };
    const steps = this.lockAndLook(paths);
    const extra = this.early && this.owner && this.leaderState ? this.early.steps(host, paths, this.leaderState) : [];
    if (extra.length) this.sentEarly.add(host.name);
    const r = await this.run(host, transport, [...steps, ...extra], extra.length ? this.early?.env?.(host, paths) : undefined);
    return { paths, transport, r, own: steps.length };
  }

  /** Sorts one try's results: members (inspected, maybe refused), hosts locked by others, failures. */
  judge(results: PromiseSettledResult<HostTry>[]): Tried {
    const tried: Tried = { members: [], locked: [], failed: [] };
    results.forEach((res, i) => {
      const host = this.hosts[i]!;
      if (res.status === 'rejected') {
        tried.failed.push(`${host.name}: ${this.env.redact(String((res.reason as Error).message ?? res.reason))}`);
        return;
      }
      const { paths, transport, r, own } = res.value;
      if (!r) return; // not tried: the leader host was not locked
      const inspect = stepOfKind(r, 'inspect');
      const lockStep = stepOfKind(r, 'lock');
      if (inspect?.exitCode === 0) {
        const state = parseInspection(host.name, paths, inspect.stdout, this.env.clock.now());
        for (const { id, why } of state.ignored)
          this.env.emit({ event: 'log', level: 'warn', host: host.name, message: `${paths.releases}/${id} ignored: ${why}` });
        const refused = this.owner ? refusal(state, paths) : undefined;
        if (refused) tried.failed.push(`${host.name}: ${refused}`);
        const member: Member = { host, paths, transport, state };
        // the piggybacked steps failed or were cut short: the run decides (it was prepare work)
        if (r.steps.length > own) member.early = { ok: r.ok, steps: r.steps.slice(own), ...(r.error ? { error: r.error } : {}) };
        tried.members.push(member);
      } else if (lockStep?.exitCode === LOCK_HELD) {
        const holder = describeLock(parseLockOwner(lockStep.stdout), this.env.clock.now());
        this.env.emit({ event: 'lock', host: host.name, ok: false, holder });
        tried.locked.push({ host: host.name, holder });
      } else if (lockStep?.exitCode === LOCK_UNWRITABLE) {
        // not locked: the lock could not be made at all; the script said why, in one line
        const why = lockStep.stderr.trim().split('\n').at(-1) ?? 'cannot create the lock';
        tried.failed.push(`${host.name}: ${this.env.redact(why)}`);
      } else {
        tried.failed.push(`${host.name}: ${r.error?.message ?? `exit ${r.exitCode}`}`);
      }
    });
    return tried;
  }

  /**
   * Releases our lock on every host we reached, not only those that answered: an interrupted
   * lock script may have taken the lock before it was cut off (the token guard makes this safe
   * everywhere). Where piggybacked work was sent, it is undone first.
   */
  async giveBack(): Promise<void> {
    if (!this.owner) return;
    const open = this.connections.connected();
    const reached = this.hosts.filter((h) => open.has(h.name)).map((h) => ({ host: h, paths: serverPaths(h.deployTo), transport: open.get(h.name)! }));
    const piggyback = this.o.piggyback;
    await releaseLocks(reached, this.token, calm(this.env), (m) => (piggyback && this.sentEarly.has(m.host.name) ? piggyback.undo(m.paths) : undefined));
    this.sentEarly.clear(); // undone
  }

  async fail(error: Error): Promise<never> {
    await this.connections.close();
    throw error;
  }
}

function refusedError(stage: StageConfig, hosts: HostConfig[], tried: Tried): Error {
  const { failed, locked } = tried;
  if (failed.length) {
    return new DeployError(
      `${failed.length} of ${hosts.length} host(s) of stage ${stage.stage} cannot be deployed to (unreachable or not in a state ship can work with); nothing was changed`,
      [...failed, ...locked.map((l) => `${l.host}: locked, ${l.holder}`)],
      'check the hosts are up and reachable (ship check), then try again',
    );
  }
  return new LockedError(
    `stage ${stage.stage} is locked (on ${locked.map((l) => l.host).join(', ')}); nothing was changed`,
    locked.map((l) => `${l.host}: ${l.holder}`),
    `wait for that run to end, use --lock-wait 5m to queue, or if it is dead: ship unlock ${stage.stage}`,
  );
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
