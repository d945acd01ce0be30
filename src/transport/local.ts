import { connect as netConnect } from 'node:net';
import type { Readable } from 'node:stream';
import type { ChildProcess } from 'node:child_process';
import { endMarker, MarkerScanner, newNonce, printEndMarkers } from './end-marker.js';
import { StreamTail } from './output.js';
import { SCRIPT_SHELL } from './script-shell.js';
import { STOP_SIGNAL, abortError, exitCodeOf } from './signals.js';
import type { ExecOptions, ExecResult, HttpResponse, OutputStream, Terminal, Transport } from './types.js';

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

  /**
   * Runs the script under `sh` and finishes when the script does, known by its end markers,
   * not when its output pipes close: a task that starts a background process without
   * redirecting its output (`sleep 20 &`, a server) must not hold the deploy for as long as
   * that process lives. What such a process prints after the script ended is not read.
   */
  async runScript(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const nonce = newNonce();
    const { child } = await this.start(SCRIPT_SHELL[0], ['-c', scriptWithEndMarkers(nonce)], script);
    return new LocalRun(this.host, child, opts, nonce).result;
  }

  async runWithInput(command: string, input: Readable | Buffer, opts: ExecOptions = {}): Promise<ExecResult> {
    const { child } = await this.start('sh', ['-c', command], input);
    if (!Buffer.isBuffer(input)) input.pipe(child.stdin!);
    return new LocalRun(this.host, child, opts, undefined, () => {
      if (!Buffer.isBuffer(input)) input.destroy();
    }).result;
  }

  /** Starts the process (wrapped: an execa subprocess is a promise, which an async function would wait for). */
  private async start(file: string, args: string[], input: string | Buffer | Readable): Promise<{ child: ChildProcess }> {
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
    // the run's outcome is read from the process and its streams (LocalRun), not this promise
    child.catch(() => undefined);
    return { child: child as unknown as ChildProcess };
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
    return { status: res.status, body, headers: Object.fromEntries(res.headers) };
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

/** `SCRIPT_SHELL`'s script (read whole from stdin, then run), followed by both end markers. */
function scriptWithEndMarkers(nonce: string): string {
  return `(${SCRIPT_SHELL[2]}); __ship_rc=$?; ${printEndMarkers(nonce, '$__ship_rc')} exit "$__ship_rc"`;
}

/** One output stream of a local process: what the run needs of a MarkerScanner. */
interface StreamReader {
  /** The text after the end marker, once seen (never without a marker). */
  push(chunk: Buffer): string | undefined;
  flush(): void;
  text(): string;
}

/** A stream without an end marker (a command with input): passed on as it comes, its tail kept. */
function plainReader(deliver: (chunk: Buffer) => void): StreamReader {
  const tail = new StreamTail();
  return {
    push: (chunk) => {
      tail.push(chunk);
      deliver(chunk);
      return undefined;
    },
    flush: () => undefined,
    text: () => tail.toString(),
  };
}

/**
 * One local process from start to its one result: output passed on as it comes (through the
 * end-marker scanners for a script), only a bounded tail kept, settled once: by both end
 * markers, else when the process and its pipes are done, else, after an abort, when the
 * stopped process has exited.
 */
class LocalRun {
  readonly result: Promise<ExecResult>;
  private settled = false;
  private exited = false;
  private stopListening: () => void = () => undefined;

  constructor(
    private readonly host: string,
    child: ChildProcess,
    private readonly opts: ExecOptions,
    nonce: string | undefined,
    private readonly onStop: () => void = () => undefined,
  ) {
    this.result = new Promise((resolve, reject) => {
      const stdout = this.reader('stdout', nonce);
      const stderr = this.reader('stderr', nonce);
      let code: number | undefined;
      let stderrDone = false;
      let aborted = false;
      const finish = (exitCode: number) => {
        if (this.settle()) resolve({ exitCode, stdout: stdout.text(), stderr: stderr.text() });
      };
      const abandon = () => {
        if (this.settle()) reject(abortError(`command on ${this.host}`));
      };
      const markersSeen = () => {
        if (code === undefined || !stderrDone) return;
        finish(code);
        // a background process may hold the pipes: stop reading them, the script is over
        child.stdout?.destroy();
        child.stderr?.destroy();
      };
      child.stdout!.on('data', (c: Buffer) => {
        const rest = stdout.push(c);
        if (rest !== undefined) code = Number(rest.trim()) || 0;
        markersSeen();
      });
      child.stderr!.on('data', (c: Buffer) => {
        if (stderr.push(c) !== undefined) stderrDone = true;
        markersSeen();
      });
      child.on('exit', () => {
        this.exited = true;
        if (aborted) abandon();
      });
      child.on('close', (exit: number | null, signal: NodeJS.Signals | null) => {
        stdout.flush();
        stderr.flush();
        if (aborted) abandon();
        else finish(exitCodeOf(exit, signal) ?? 255);
      });
      const onAbort = () => {
        aborted = true;
        try {
          if (child.pid) process.kill(-child.pid, `SIG${STOP_SIGNAL}`);
        } catch {
          // already gone
        }
        this.onStop();
        if (this.exited) abandon();
      };
      if (opts.signal?.aborted) onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      this.stopListening = () => opts.signal?.removeEventListener('abort', onAbort);
    });
  }

  /** True the first time only: the run settles once. */
  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.stopListening();
    return true;
  }

  /** A stream's reader: with a nonce it holds back the end marker; without, it only passes output on. */
  private reader(stream: OutputStream, nonce: string | undefined): StreamReader {
    const deliver = (chunk: Buffer) => {
      if (!this.settled) this.opts.onData?.(stream, chunk);
    };
    return nonce ? new MarkerScanner(endMarker(nonce, stream), deliver) : plainReader(deliver);
  }
}

/** execa (about 100 modules) loads only when a command really runs here: `ship` starts faster. */
const loadExeca = () => import('execa');
