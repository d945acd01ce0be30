import type { Readable } from 'node:stream';
import { shText } from '../../shell/sh.js';
import { abortError, signalNumber } from '../signals.js';
import type { ExecOptions, ExecResult, HttpResponse, SshTarget, Terminal, Transport } from '../types.js';
import { connectTarget, type SshTransportDeps } from './connect.js';
import { SshConnection, type Client } from './connection.js';
import { ChannelRefused, execWithInput, openShellChannel } from './exec.js';
import { ForwardProbes, isForwardingProhibited } from './forward.js';
import { lostResult, tildify } from './messages.js';
import { openPty } from './pty.js';
import { ShellSession } from './session.js';

/** How many times a channel refused beside the shell session is asked for again. */
const ROOM_TRIES = 4;

/**
 * The SSH transport (this folder is the only place that imports ssh2). One connection per
 * host, opened by connect() (through a jump host when configured) and shared by every
 * command: every script runs in one shell session on it (session.ts), an upload is an exec
 * channel of its own (exec.ts), each HTTP GET or TCP probe a direct-tcpip channel
 * (forward.ts), `ship ssh` a channel with a pseudo-terminal (pty.ts).
 */

export type { SshTransportDeps } from './connect.js';
export { JumpHosts } from './jumps.js';
export { targetLabel } from './messages.js';
export { SCRIPT_RUNNER } from '../script-shell.js';

export function createSshTransport(target: SshTarget, deps: SshTransportDeps = {}): Transport {
  return new SshTransport(target, deps);
}

class SshTransport implements Transport {
  readonly host: string;
  readonly address: string;
  private readonly conn: SshConnection;
  private readonly probes: ForwardProbes;
  private session: ShellSession | undefined;

  constructor(target: SshTarget, deps: SshTransportDeps) {
    this.host = target.name;
    this.address = target.hostname;
    this.conn = new SshConnection(target, () => connectTarget(target, deps));
    this.probes = new ForwardProbes(this.conn, (script, opts) => this.runScript(script, opts), deps.notice);
  }

  connect(): Promise<void> {
    return this.conn.connect();
  }

  /** Every script of the run goes through one shell session on this connection. */
  runScript(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const ready = this.ready();
    if (ready instanceof Promise) return ready;
    this.session ??= new ShellSession(
      (command) => openShellChannel(this.conn, command),
      (stdout, stderr) => lostResult(stdout, stderr, this.conn.label, this.conn.lostReason ?? 'the connection closed'),
      () => abortError(`command on ${this.host}`),
    );
    return this.session.run(script, opts);
  }

  runWithInput(command: string, input: Readable | Buffer, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.besideSession(
      () => {
        const ready = this.ready();
        return ready instanceof Promise ? ready : execWithInput(this.conn, ready, command, input, opts);
      },
      () => {
        if (!Buffer.isBuffer(input)) input.destroy();
      },
    );
  }

  httpGet(url: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<HttpResponse> {
    return this.probes.httpGet(url, opts);
  }

  tcpProbe(host: string, port: number, opts: { timeoutMs: number }): Promise<void> {
    return this.probes.tcpProbe(host, port, opts);
  }

  /**
   * The command goes to the login shell inside `sh -c`, as scripts do: it is POSIX sh, and a
   * fish or tcsh login shell would not run it (fish exited 0 at once, tcsh 1).
   */
  shell(command: string, terminal: Terminal): Promise<number> {
    return this.besideSession(() => openPty(this.conn, shText`sh -c ${command}`, terminal));
  }

  /**
   * Starts a channel beside the shell session. When the server refuses it and the session
   * is open (sshd's MaxSessions 1), the session is ended and the channel asked for again;
   * the next script opens a new session. sshd frees a closed session's slot on a later turn
   * of its loop, so a channel asked for right after the close can still be refused: a few
   * more tries, a little later each (about 0.75 s in all). `giveUp` runs when it fails for good.
   */
  private async besideSession<T>(start: () => Promise<T>, giveUp: () => void = () => undefined): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await start();
      } catch (err) {
        if (!(err instanceof ChannelRefused) || attempt >= ROOM_TRIES || !this.session) {
          giveUp();
          throw err;
        }
        await this.session.release();
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
  }

  async close(): Promise<void> {
    if (this.conn.closed) return;
    this.conn.markClosed();
    this.session?.close(); // the remote loop ends after its script: nothing is signalled
    await this.conn.end();
  }

  /**
   * The client a command can start on, or the command's answer without starting: the
   * transport is closed, the connection lost, or never made.
   */
  private ready(): Client | Promise<ExecResult> {
    const { label, lostReason, client } = this.conn;
    if (this.conn.closed) return Promise.reject(new Error(`${label}: transport already closed`));
    if (lostReason !== undefined) return Promise.resolve(lostResult('', '', label, lostReason));
    if (!client) return Promise.reject(new Error(`${label}: not connected (call connect() first)`));
    return client;
  }
}

// Exported for unit tests of the pure helpers.
export const internals = { signalNumber, isForwardingProhibited, lostResult, tildify };
