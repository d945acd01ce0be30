import { connect as netConnect } from 'node:net';
import type { Readable } from 'node:stream';
import { SCRIPT_SHELL } from './script-shell.js';
import { STOP_SIGNAL, abortError, exitCodeOf } from './signals.js';
import type { ExecOptions, ExecResult, HttpResponse, Terminal, Transport } from './types.js';

const BODY_LIMIT = 64 * 1024;

/**
 * Runs commands on this machine (hosts with `local: true`), the only module that imports
 * execa. Same contract as SSH: the script goes to `sh` on stdin, never in argv.
 */
export class LocalTransport implements Transport {
  readonly address = '127.0.0.1';

  constructor(
    readonly host: string,
    private readonly cwd: string,
    private readonly env: Record<string, string | undefined> = process.env,
  ) {}

  async connect(): Promise<void> {}

  runScript(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.spawn(SCRIPT_SHELL[0], [...SCRIPT_SHELL.slice(1)], script, opts);
  }

  runWithInput(command: string, input: Readable | Buffer, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.spawn('sh', ['-c', command], input, opts);
  }

  private async spawn(file: string, args: string[], input: string | Buffer | Readable, opts: ExecOptions): Promise<ExecResult> {
    const { execa } = await loadExeca();
    const child = execa(file, args, {
      cwd: this.cwd,
      env: this.env,
      extendEnv: false,
      reject: false,
      stripFinalNewline: false,
      encoding: 'buffer',
      buffer: false,
      ...(typeof input === 'string' || Buffer.isBuffer(input) ? { input } : { stdin: 'pipe' as const }),
      // its own process group: an abort stops the whole script (the step it runs included),
      // and a Ctrl-C at the terminal reaches ship, which decides what to stop
      detached: true,
    });
    const onAbort = () => {
      try {
        if (child.pid) process.kill(-child.pid, `SIG${STOP_SIGNAL}`);
      } catch {
        // already gone
      }
      if (!(typeof input === 'string' || Buffer.isBuffer(input))) input.destroy();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (!(typeof input === 'string' || Buffer.isBuffer(input))) input.pipe(child.stdin!);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      opts.onData?.('stdout', c);
    });
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
      opts.onData?.('stderr', c);
    });
    const r = await child.finally(() => opts.signal?.removeEventListener('abort', onAbort));
    if (opts.signal?.aborted) throw abortError(`command on ${this.host}`);
    return { exitCode: exitCodeOf(r.exitCode, r.signal) ?? 255, stdout, stderr };
  }

  async httpGet(url: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<HttpResponse> {
    const signals = [AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.any(signals), redirect: 'manual' });
    } catch (e) {
      // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, timeout...)
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = (e as Error).name === 'TimeoutError' ? `timed out after ${opts.timeoutMs}ms` : (cause?.code ?? cause?.message ?? (e as Error).message);
      throw new Error(`GET ${url}: ${why}`);
    }
    const body = (await res.text()).slice(0, BODY_LIMIT);
    return { status: res.status, body };
  }

  tcpProbe(host: string, port: number, opts: { timeoutMs: number }): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`timed out connecting to ${host}:${port}`));
      }, opts.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.end();
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** `ship ssh` to a local host: the command gets this terminal as it is. */
  async shell(command: string, terminal: Terminal): Promise<number> {
    const { execa } = await loadExeca();
    const r = await execa('sh', ['-c', command], {
      cwd: this.cwd,
      env: this.env,
      extendEnv: false,
      reject: false,
      stdio: [terminal.stdin, terminal.stdout, terminal.stderr],
    });
    return exitCodeOf(r.exitCode, r.signal) ?? 255;
  }

  async close(): Promise<void> {}
}

/** execa (about 100 modules) loads only when a command really runs here: `ship` starts faster. */
const loadExeca = () => import('execa');
