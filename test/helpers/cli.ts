import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './repo.js';

export const SHIP_BIN = join(ROOT, 'dist', 'bin', 'main.js');

export interface ShipRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as NDJSON events (for --json runs). */
  events(): Record<string, unknown>[];
}

/** Runs the built `ship` as a user would, with a clean environment of our choosing. */
export function runShip(
  args: string[],
  opts: { cwd: string; env?: Record<string, string | undefined>; timeoutMs?: number; onSpawn?: (pid: number) => void; input?: string },
): Promise<ShipRun> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', CI: 'true', LANG: 'C.UTF-8' };
    for (const [k, v] of Object.entries(opts.env ?? {})) if (v !== undefined) env[k] = v;
    const child = spawn(process.execPath, [SHIP_BIN, ...args], { cwd: opts.cwd, env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    if (child.pid) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ship ${args.join(' ')} timed out\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout,
        stderr,
        events: () =>
          stdout
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>),
      });
    });
  });
}
