import type { Readable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { StreamTail } from '../output.js';
import { STOP_SIGNAL, abortError, exitCodeOf } from '../signals.js';
import type { ExecOptions, ExecResult, OutputStream } from '../types.js';
import type { Client, SshConnection } from './connection.js';
import { errorMessage, lostResult, sessionRefused } from './messages.js';
import type { ShellChannel } from './session.js';

/**
 * Commands as exec channels: the one that carries the shell session (session.ts runs every
 * script through it), and one per upload, with its input streamed to the command's stdin.
 */

/** The server refused to open the channel (a session past MaxSessions); nothing ran. */
export class ChannelRefused extends Error {}

/** Opens the channel of the shell session, running `command` (the session's remote loop). */
export function openShellChannel(conn: SshConnection, command: string): Promise<ShellChannel> {
  return new Promise((resolve, reject) => {
    const client = conn.client;
    if (!client) return reject(new Error(`${conn.label}: not connected`));
    const started = (err: Error | undefined, ch: ClientChannel): void => {
      if (err) return reject(new Error(`${conn.label}: cannot start a shell: ${sessionRefused(err)}`, { cause: err }));
      ch.on('error', () => undefined); // surfaces as 'close'
      resolve({
        write: (data) => void ch.write(data),
        onStdout: (l) => void ch.on('data', l),
        onStderr: (l) => void ch.stderr.on('data', l),
        onClose: (l) => void ch.once('close', l),
        kill: () => endThenClose(ch),
        end: () => void ch.end(),
      });
    };
    try {
      client.exec(command, started);
    } catch (e) {
      reject(new Error(`${conn.label}: cannot start a shell: ${errorMessage(e)}`));
    }
  });
}

/**
 * Runs `command` on its own exec channel with `input` on its stdin. Settles once: with the
 * exit code, with 255 and a note when the connection drops, or with an AbortError.
 */
export function execWithInput(conn: SshConnection, client: Client, command: string, input: Readable | Buffer, opts: ExecOptions): Promise<ExecResult> {
  if (opts.signal?.aborted) return Promise.reject(abortError(`command on ${conn.host}`));
  return new Promise<ExecResult>((resolve, reject) => {
    new InputCommand(conn, command, input, opts, resolve, reject).start(client);
  });
}

/** How long a stopped session's loop gets to stop its script and exit before its channel is closed. */
const STOP_GRACE_MS = 3000;

/**
 * The shell session after its stop line (the remote loop stops the script's process group
 * itself): stdin ends so the loop exits, and the channel is closed if it has not by then.
 */
function endThenClose(ch: ClientChannel): void {
  const timer = setTimeout(() => ch.close(), STOP_GRACE_MS);
  timer.unref();
  ch.once('close', () => clearTimeout(timer));
  ch.end();
}

/**
 * Stops what runs on an upload's channel. The signal request reaches the remote process group
 * on servers that honour it (sshd killpg()s the session). ssh2 sends a signal request only
 * while our side of the channel is open: an upload's is until all its input has gone. Closing the channel
 * is what remains for a server that ignores signal requests and for an upload already sent.
 */
function stopChannel(channel: ClientChannel): void {
  try {
    channel.signal(STOP_SIGNAL);
  } catch {
    // the connection is already gone: closing the channel is what remains
  }
  channel.close();
}

/** One command of execWithInput, from the channel request to its one result. */
class InputCommand {
  /** Only the tail of what the command printed is kept (error messages come from it). */
  private readonly stdout = new StreamTail();
  private readonly stderr = new StreamTail();
  private channel: ClientChannel | undefined;
  private exitCode: number | undefined;
  private settled = false;
  private unwatch: () => void = () => undefined;

  constructor(
    private readonly conn: SshConnection,
    private readonly command: string,
    private readonly input: Readable | Buffer,
    private readonly opts: ExecOptions,
    private readonly resolve: (r: ExecResult) => void,
    private readonly reject: (e: Error) => void,
  ) {}

  start(client: Client): void {
    this.unwatch = this.conn.watchLost(this.onLost);
    this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
    try {
      client.exec(this.command, (err, ch) => this.started(err, ch));
    } catch (err) {
      // ssh2 throws when the socket is already gone but 'close' has not been seen yet
      this.onLost(errorMessage(err));
    }
  }

  private readonly onLost = (reason: string): void => {
    if (this.settled) return;
    this.cleanup();
    this.channel?.destroy();
    this.resolve(lostResult(this.text(this.stdout), this.text(this.stderr), this.conn.label, reason));
  };

  private readonly onAbort = (): void => {
    if (this.settled) return;
    this.cleanup();
    if (this.channel) stopChannel(this.channel);
    this.reject(abortError(`command on ${this.conn.host}`));
  };

  private started(err: Error | undefined, ch: ClientChannel): void {
    if (this.settled) {
      ch?.close();
      return;
    }
    if (err) {
      if (this.conn.lostReason !== undefined) return this.onLost(this.conn.lostReason);
      // the input is untouched (nothing read yet): the caller may try again with it
      this.cleanup(false);
      this.reject(new ChannelRefused(`${this.conn.label}: cannot start a command: ${sessionRefused(err)}`, { cause: err }));
      return;
    }
    this.channel = ch;
    ch.on('data', this.deliver('stdout', this.stdout));
    ch.stderr.on('data', this.deliver('stderr', this.stderr));
    ch.on('error', () => undefined); // surfaces as 'close' without an exit status
    ch.on('exit', (code: number | null, signal?: string) => {
      this.exitCode = exitCodeOf(code, signal) ?? this.exitCode;
    });
    ch.on('close', () => this.closed());
    this.feed(ch);
  }

  private deliver(stream: OutputStream, kept: StreamTail): (chunk: Buffer) => void {
    return (chunk) => {
      if (this.settled) return;
      kept.push(chunk);
      this.opts.onData?.(stream, chunk);
    };
  }

  private closed(): void {
    if (this.settled) return;
    const [stdout, stderr] = [this.text(this.stdout), this.text(this.stderr)];
    if (this.exitCode === undefined) {
      const { lostReason, client } = this.conn;
      if (lostReason !== undefined || !client) return this.onLost(lostReason ?? 'connection closed');
      this.cleanup();
      const note = `\n[ship] the command on ${this.conn.label} ended without an exit status\n`;
      this.resolve({ exitCode: 255, stdout, stderr: stderr + note });
      return;
    }
    this.cleanup();
    this.resolve({ exitCode: this.exitCode, stdout, stderr });
  }

  private feed(ch: ClientChannel): void {
    const input = this.input;
    if (Buffer.isBuffer(input)) {
      ch.end(input);
      return;
    }
    input.on('error', (e: Error) => {
      if (this.settled) return;
      this.cleanup();
      ch.close();
      this.reject(new Error(`${this.conn.label}: reading the input for \`${this.command}\` failed: ${e.message}`, { cause: e }));
    });
    input.pipe(ch);
  }

  private cleanup(endInput = true): void {
    this.settled = true;
    this.unwatch();
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    const input = this.input;
    if (endInput && !Buffer.isBuffer(input) && !input.readableEnded) {
      // The command is over: a producer still writing (tar) must not block forever.
      if (this.channel) input.unpipe(this.channel);
      input.destroy();
    }
  }

  private text(kept: StreamTail): string {
    return kept.toString();
  }
}
