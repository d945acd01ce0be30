/**
 * A real HAProxy (from the Debian archive) on loopback in front of the fleet's apps, started
 * and stopped by the test, and a load generator that counts every failed request.
 *
 * The balancer is plain on purpose: no health checks of its own, no retries, no redispatch.
 * Whatever it loses during a deploy is what the deploy made it lose.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { machine } from './requirements.js';

export interface Haproxy {
  /** The admin socket ("level admin"). */
  socket: string;
  /** Where clients connect: 127.0.0.1:port. */
  port: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts HAProxy with backend `app` holding one server per entry (name → 127.0.0.1:port). */
export async function startHaproxy(servers: { name: string; port: number }[]): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'ship-haproxy-'));
  chmodSync(dir, 0o755);
  const socket = join(dir, 'admin.sock');
  const port = await freePort();
  const config = [
    'global',
    // readable by the fleet's login user too: a test drives it from a host (`on: <role>`)
    `  stats socket ${socket} mode 666 level admin`,
    '  maxconn 2000',
    'defaults',
    '  mode http',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    '  retries 0',
    'frontend web',
    `  bind 127.0.0.1:${port}`,
    '  default_backend app',
    'backend app',
    '  balance roundrobin',
    ...servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port}`),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'haproxy.cfg'), config);
  const child: ChildProcess = spawn(machine.haproxy!, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`haproxy did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    socket,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', timeout: 500 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

export interface LoadReport {
  sent: number;
  ok: number;
  failed: number;
  /** A few of the failures, for the test's message. */
  samples: string[];
}

/**
 * Requests without pause from `connections` keep-alive clients until stop() (and at least
 * `min` requests), never past `maxMs` or `maxRequests`: it always ends by itself.
 */
export function startLoad(port: number, o: { connections?: number; min?: number; maxMs?: number; maxRequests?: number } = {}) {
  const { connections = 8, min = 2000, maxMs = 120_000, maxRequests = 1_000_000 } = o;
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const report: LoadReport = { sent: 0, ok: 0, failed: 0, samples: [] };
  const started = Date.now();
  let stopping = false;
  const fail = (why: string) => {
    report.failed++;
    if (report.samples.length < 5) report.samples.push(why);
  };
  const one = () =>
    new Promise<void>((resolve) => {
      report.sent++;
      const req = request({ host: '127.0.0.1', port, path: '/', agent, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) report.ok++;
          else fail(`HTTP ${res.statusCode}`);
          resolve();
        });
        res.on('error', (e) => {
          fail(e.message);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        fail(e.message);
        resolve();
      });
      req.end();
    });
  const done = () => Date.now() - started > maxMs || report.sent >= maxRequests || (stopping && report.sent >= min);
  const loop = async () => {
    while (!done()) await one();
  };
  const loops = Promise.all(Array.from({ length: connections }, loop));
  return {
    report,
    stop: async (): Promise<LoadReport> => {
      stopping = true;
      await loops;
      agent.destroy();
      return report;
    },
  };
}
