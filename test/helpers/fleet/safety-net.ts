/**
 * Process-wide safety net: no sshd outlives the test process. While fleets live, an exit hook
 * and SIGTERM/SIGINT/SIGHUP handlers kill them, and a detached reaper (reaper.cjs) watches this
 * process and reaps its fleets if it dies by SIGKILL, when no hook of ours can run.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { killSelectedSync, signalPid, TAG_VAR, type ProcInfo } from './processes.js';

/** A fleet's temp dir is named FLEET_DIR_PREFIX<owner pid>-XXXXXX: the reaper finds owners by it. */
export const FLEET_DIR_PREFIX = 'ship-fleet-';

export const REAPER_PATH = fileURLToPath(new URL('./reaper.cjs', import.meta.url));

/** What the safety net needs of a live fleet. */
export interface Guarded {
  /** The fleet's temp dir, removed after its processes are dead. */
  readonly dir: string;
  /** The fleet's processes in one snapshot. */
  select(procs: ProcInfo[]): number[];
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
const liveFleets = new Set<Guarded>();
let exitHookInstalled = false;
let guardian: ChildProcess | undefined;

/** The argv that runs the reaper: watch `owner`, or reap every dead owner's fleets now. */
export function reaperArgs(mode: 'watch' | 'reap-dead', owner?: number): string[] {
  return [REAPER_PATH, mode, TAG_VAR, FLEET_DIR_PREFIX, ...(owner !== undefined ? [String(owner)] : [])];
}

/** Takes `fleet` under the net; arms the hooks and the reaper if they are not armed yet. */
export function guard(fleet: Guarded): void {
  liveFleets.add(fleet);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      if (liveFleets.size > 0) killEverythingSync();
      stopGuardian();
    });
  }
  // Signal listeners only while fleets live, so the default behaviour is back afterwards.
  for (const sig of SIGNALS) {
    if (!process.listeners(sig).includes(onSignal)) process.on(sig, onSignal);
  }
  if (!guardian) startGuardian();
}

/** Lets `fleet` go (it is stopped); disarms the net when no fleet is left. */
export function release(fleet: Guarded): void {
  liveFleets.delete(fleet);
  if (liveFleets.size > 0) return;
  for (const sig of SIGNALS) process.removeListener(sig, onSignal);
  stopGuardian();
}

/** Kills the fleets of test processes that are gone (a crashed earlier run). */
export function reapOrphans(): void {
  spawnSync(process.execPath, reaperArgs('reap-dead'), { stdio: 'ignore', timeout: 10_000 });
}

/** Unmounts what a test mounted below `dir` (a tiny tmpfs for a full disk); root only. */
export function unmountUnder(dir: string): void {
  if (process.getuid?.() !== 0) return;
  let mounts: string[];
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n');
  } catch {
    return;
  }
  const points = mounts
    .map((l) => l.split(' ')[1] ?? '')
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const p of points) spawnSync('umount', ['-l', p], { stdio: 'ignore' });
}

function killEverythingSync(): void {
  const fleets = [...liveFleets];
  killSelectedSync((procs) => fleets.flatMap((f) => f.select(procs)), Date.now() + 2_000);
  for (const f of fleets) {
    unmountUnder(f.dir);
    rmSync(f.dir, { recursive: true, force: true });
  }
  liveFleets.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killEverythingSync();
  stopGuardian();
  // Keep the default meaning of the signal (vitest stops its workers with SIGTERM) unless
  // someone else also listens for it and will decide.
  process.removeListener(signal, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function startGuardian(): void {
  guardian = spawn(process.execPath, reaperArgs('watch', process.pid), {
    detached: true, // Not in our process group: whatever kills us must not kill it too.
    stdio: 'ignore',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  guardian.on('error', () => {});
  guardian.unref();
}

function stopGuardian(): void {
  signalPid(guardian?.pid, 'SIGKILL');
  guardian = undefined;
}
