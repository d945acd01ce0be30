/**
 * Spawning commands, and finding and killing process trees through /proc. Only node builtins,
 * so the harness does not depend on the code under test.
 *
 * sshd forks one child per connection and those call setsid(), and user commands call setsid()
 * again, so killing a listener's process group misses them, and once the listener is dead they
 * are re-parented to init. So every kill here works from a /proc snapshot: pick the processes
 * (and everything below them in the tree) from one scan, SIGKILL them all, scan again.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment variable that marks every process of a fleet host (SHIP_E2E_FLEET=<owner
 * pid>:<host dir>): sshd's `SetEnv` hands it to every session, so a scan can tell them apart.
 */
export const TAG_VAR = 'SHIP_E2E_FLEET';

/** The mount namespace of this process, 'mnt:[...]': never one to kill by. */
export const ownNs = readLinkOr('/proc/self/ns/mnt');

/** Other users' namespaces and environments are readable only as root. */
const asRoot = process.getuid?.() === 0;

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A command that exits without reading its stdin must not crash us with EPIPE.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

export async function runOk(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Waits for `p`, but no longer than `ms`, and leaves no timer behind. */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, ms))))]);
  clearTimeout(timer);
}

/** Blocking sleep, for the exit handler where no event loop turn is left. */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Whether `pid` names one ordinary process. process.kill reads 0 as our own process group,
 * -1 as every process we may signal (as root: the whole machine) and other negative numbers
 * as whole groups, and 1 is init; a spawn that failed leaves an undefined pid.
 */
export function isProcessPid(pid: number | undefined): pid is number {
  return pid !== undefined && Number.isInteger(pid) && pid > 1;
}

/** process.kill for one process, refusing what isProcessPid refuses; false when refused or gone. */
export function signalPid(pid: number | undefined, signal: NodeJS.Signals | 0): boolean {
  if (!isProcessPid(pid)) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** The same for the process group led by `pid` (a child spawned with `detached: true`). */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (!isProcessPid(pid)) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  if (!isProcessPid(pid)) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed child we have not reaped yet is a zombie: its sockets are already closed.
  return procState(pid) !== 'Z';
}

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name in parentheses may itself contain spaces or ')'.
    return stat.charAt(stat.lastIndexOf(')') + 2);
  } catch {
    return undefined;
  }
}

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** Value of TAG_VAR in its environment, if readable. */
  tag?: string;
  /** Its command line, NULs turned into spaces (sshd's proctitle for sshd processes). */
  cmd: string;
  /** Its mount namespace (read as root only: another user's is not readable). */
  ns?: string;
}

export function readLinkOr(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

function readOr(p: string): string {
  try {
    return readFileSync(p, 'latin1');
  } catch {
    return ''; // Gone already, or another user's process (non-root mode): not ours.
  }
}

/** One snapshot of every live process but this one. */
export function scanProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  const needle = `${TAG_VAR}=`;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const stat = readOr(`/proc/${pid}/stat`);
    // Fields after the parenthesised command name (which may contain spaces): state, ppid.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (!state || state === 'Z' || state === 'X') continue;
    const info: ProcInfo = { pid, ppid: Number(ppid), cmd: readOr(`/proc/${pid}/cmdline`).replace(/\0/g, ' ') };
    const kv = readOr(`/proc/${pid}/environ`)
      .split('\0')
      .find((s) => s.startsWith(needle));
    if (kv) info.tag = kv.slice(needle.length);
    if (asRoot) info.ns = readLinkOr(`/proc/${pid}/ns/mnt`);
    out.push(info);
  }
  return out;
}

/** The seeds and everything below them in the process tree of one snapshot. */
export function withDescendants(procs: ProcInfo[], seeds: Iterable<number>): number[] {
  const children = new Map<number, number[]>();
  for (const p of procs) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const found = new Set<number>();
  const todo = [...seeds];
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    if (pid === process.pid || found.has(pid)) continue;
    found.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return [...found].filter((pid) => procs.some((p) => p.pid === pid));
}

/**
 * SIGKILL what `select` picks, again and again until it picks nothing: a process may fork
 * between one scan and its kill, and its child only shows up in the next scan. Everything of
 * a round is picked from one snapshot before anything dies, so nothing is re-parented away
 * from the tree first. Returns the pids still picked at the deadline.
 */
export function killSelectedSync(select: (procs: ProcInfo[]) => number[], deadline: number): number[] {
  let left: number[] = [];
  do {
    left = select(scanProcs());
    for (const pid of left) signalPid(pid, 'SIGKILL');
    if (left.length > 0) sleepSync(5);
  } while (left.length > 0 && Date.now() < deadline);
  return left;
}

/** SIGKILLs `pid` and every process below it; refuses what signalPid refuses. */
export function killTreeSync(pid: number | undefined, timeoutMs = 2_000): number[] {
  if (!isProcessPid(pid)) return [];
  return killSelectedSync((procs) => withDescendants(procs, [pid]), Date.now() + timeoutMs);
}
