import { shText } from '../../shell/sh.js';
import { endMarker, MARK, MarkerScanner, newNonce, printEndMarkers } from '../end-marker.js';
import type { ExecOptions, ExecResult, OutputStream } from '../types.js';

/**
 * One long-lived shell per host that runs every script of a run, one after another.
 *
 * Why: on OpenSSH every exec channel is a new session (a fork, a login shell, the
 * environment set up again): about 10-90 ms of the server's time each, paid by every host on
 * every phase. With one session per host a deploy costs one handshake and one session, and
 * each script only a subshell.
 *
 * The protocol on the channel's stdin: a line with the script's length in bytes, then the
 * script. The remote loop reads exactly that many bytes (with dd: it never reads past the
 * script, so the next length line stays in the pipe), runs them in a subshell with stdin from
 * /dev/null (a command that reads stdin cannot eat the next script), then prints a marker with
 * the exit code on stdout and one on stderr, so both streams are known complete. The script,
 * and the secrets exported in it, travel on stdin only: nothing of it is in any argv.
 */

/** What the session needs from a channel (an ssh2 ClientChannel, or a child process in tests). */
export interface ShellChannel {
  write(data: Buffer): void;
  onStdout(listener: (chunk: Buffer) => void): void;
  onStderr(listener: (chunk: Buffer) => void): void;
  /** Called once when the channel is gone (remote shell exited, connection lost). */
  onClose(listener: () => void): void;
  /** After the stop line: closes its stdin, and the channel itself if the server has not within a few seconds. */
  kill(): void;
  /** Closes its stdin: the remote loop ends after the script it runs, nothing is signalled. */
  end(): void;
}

/** Printed on both streams when the loop starts: what comes before it is the login shell's. */
const READY = '@@ship-ready:';

/** What ship writes on the session's stdin, while a script runs, to have it stopped. */
export const STOP_LINE = 'stop\n';

/**
 * The remote side: a POSIX sh loop, one line (tcsh takes no newline inside quotes). The nonce
 * keeps command output from faking a marker. Reading exactly N bytes from a pipe without
 * reading past them: `dd bs=N count=1 iflag=fullblock` (GNU and BusyBox dd: a few reads)
 * where dd has it, else `dd bs=1` (any POSIX dd, two system calls per byte). Which one is
 * found once, when the session starts.
 *
 * Stopping: each script runs in a process group of its own (`setsid`), fed on its stdin by
 * the builtin printf (never in an argv), while a watcher reads the session's stdin; the line
 * `stop` makes it TERM the script's group, and KILL it five seconds later. ship stops scripts
 * itself because servers do not: Dropbear signals only the session's first process, and
 * OpenSSH refuses signals to root logins. Where setsid or a builtin printf is missing, the
 * script runs in a subshell of the loop and `stop` TERMs the whole session's group.
 */
export function shellLoop(nonce: string): string {
  const ready = `\\036${READY}${nonce}\\n`;
  const loop = [
    shText`printf ${ready}; printf ${ready} >&2;`,
    'exec 3<&0;',
    'if dd if=/dev/null of=/dev/null iflag=fullblock 2>/dev/null; then __ship_fb=1; else __ship_fb=; fi;',
    'if command -v setsid >/dev/null 2>&1 && [ "$(command -v printf)" = printf ]; then __ship_pg=1; else __ship_pg=; fi;',
    'while IFS= read -r __ship_n; do',
    'if [ -n "$__ship_fb" ]; then __ship_s=$(dd bs="$__ship_n" count=1 iflag=fullblock 2>/dev/null);',
    'else __ship_s=$(dd bs=1 count="$__ship_n" 2>/dev/null); fi;',
    `if [ -n "$__ship_pg" ]; then printf '%s' "$__ship_s" | setsid sh -c 'eval "$(cat)"' 3<&- & else (eval "$__ship_s") </dev/null 3<&- & fi;`,
    '__ship_p=$!;',
    '(IFS= read -r __ship_c; if [ "$__ship_c" = stop ]; then',
    'if [ -n "$__ship_pg" ]; then kill -TERM -$__ship_p; (sleep 5; kill -KILL -$__ship_p) >/dev/null 2>&1 & else kill -TERM 0; fi;',
    'fi) <&3 >/dev/null 2>&1 &',
    '__ship_w=$!;',
    'wait $__ship_p; __ship_rc=$?;',
    'kill $__ship_w 2>/dev/null; wait $__ship_w 2>/dev/null;',
    printEndMarkers(nonce, '$__ship_rc'),
    'done',
  ].join(' ');
  return shText`sh -c ${loop}`;
}

/**
 * Holds back what a stream carries before the loop's ready line: what the login shell's
 * start-up files print (a .bashrc greeting, a version manager's notice) is not output of the
 * first script. It is dropped, unless the channel closes before the loop started.
 */
class LoginNoise {
  private held: string | undefined = '';
  constructor(
    private readonly ready: string,
    private readonly pass: (chunk: Buffer) => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.held === undefined) return this.pass(chunk);
    this.held += chunk.toString('utf8');
    const at = this.held.indexOf(this.ready);
    if (at < 0) return;
    const rest = this.held.slice(at + this.ready.length);
    this.held = undefined;
    if (rest !== '') this.pass(Buffer.from(rest, 'utf8'));
  }

  flush(): void {
    if (this.held) this.pass(Buffer.from(this.held, 'utf8'));
    this.held = undefined;
  }
}

interface Running {
  channel: ShellChannel;
  stdout: MarkerScanner;
  stderr: MarkerScanner;
  code: number | undefined;
  stderrDone: boolean;
  finish: (r: ExecResult) => void;
  fail: (e: Error) => void;
}

/**
 * Runs scripts one at a time over a ShellChannel opened on first use and again after it
 * died (an aborted script kills its session; the next script gets a new one).
 */
export class ShellSession {
  private channel: ShellChannel | undefined;
  private opening: Promise<ShellChannel> | undefined;
  private running: Running | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private nonce = newNonce();

  constructor(
    private readonly open: (command: string) => Promise<ShellChannel>,
    /** The result when the channel dies mid-script (connection lost: exit 255 with a note). */
    private readonly lost: (stdout: string, stderr: string) => ExecResult,
    private readonly abortError: () => Error,
  ) {}

  run(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const next = this.queue.then(() => this.runNow(script, opts));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Ends the session gently: its stdin closes and the loop exits. No signal: what a restart
   * task started in the background (nohup app &) shares the session's process group and must
   * live on after ship has gone.
   */
  close(): void {
    this.channel?.end();
    this.channel = undefined;
  }

  /**
   * Ends the session once no script runs or waits, and resolves when its channel is gone:
   * on a server that allows one session per connection (MaxSessions 1) that makes room for
   * an upload's or `ship ssh`'s channel. The next script opens a new session.
   */
  async release(): Promise<void> {
    await this.queue;
    await this.opening?.catch(() => undefined);
    const ch = this.channel;
    if (!ch) return;
    const gone = new Promise<void>((resolve) => ch.onClose(resolve));
    this.close();
    await gone;
  }

  private async channelFor(): Promise<ShellChannel> {
    if (this.channel) return this.channel;
    this.opening ??= (async () => {
      this.nonce = newNonce();
      const ch = await this.open(shellLoop(this.nonce));
      const nonce = this.nonce;
      const ready = `${MARK}${READY}${nonce}\n`;
      const stdout = new LoginNoise(ready, (c) => this.onData('stdout', c, nonce));
      const stderr = new LoginNoise(ready, (c) => this.onData('stderr', c, nonce));
      ch.onStdout((c) => stdout.push(c));
      ch.onStderr((c) => stderr.push(c));
      ch.onClose(() => {
        // a login shell that exits before the loop starts: what it said explains why
        stdout.flush();
        stderr.flush();
        this.onClose(ch);
      });
      this.channel = ch;
      return ch;
    })().finally(() => {
      this.opening = undefined;
    });
    return this.opening;
  }

  private async runNow(script: string, opts: ExecOptions): Promise<ExecResult> {
    if (opts.signal?.aborted) throw this.abortError();
    const ch = await this.channelFor();
    if (opts.signal?.aborted) throw this.abortError(); // aborted while the session was opening
    return new Promise<ExecResult>((resolve, reject) => {
      const deliver = (stream: OutputStream) => (chunk: Buffer) => opts.onData?.(stream, chunk);
      const onAbort = () => {
        if (this.running !== run) return;
        this.running = undefined;
        this.channel = undefined; // the stopped session is not reused
        ch.write(Buffer.from(STOP_LINE));
        ch.kill();
        reject(this.abortError());
      };
      const done = () => opts.signal?.removeEventListener('abort', onAbort);
      const run: Running = {
        channel: ch,
        stdout: new MarkerScanner(endMarker(this.nonce, 'stdout'), deliver('stdout')),
        stderr: new MarkerScanner(endMarker(this.nonce, 'stderr'), deliver('stderr')),
        code: undefined,
        stderrDone: false,
        finish: (r) => {
          done();
          resolve(r);
        },
        fail: (e) => {
          done();
          reject(e);
        },
      };
      this.running = run;
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const body = Buffer.from(script, 'utf8');
      ch.write(Buffer.concat([Buffer.from(`${body.length}\n`), body]));
    });
  }

  private onData(stream: OutputStream, chunk: Buffer, nonce: string): void {
    const run = this.running;
    if (!run || nonce !== this.nonce) return;
    if (stream === 'stdout') {
      const rest = run.stdout.push(chunk);
      if (rest !== undefined) run.code = Number(rest.trim()) || 0;
    } else if (run.stderr.push(chunk) !== undefined) {
      run.stderrDone = true;
    }
    if (run.code !== undefined && run.stderrDone) {
      this.running = undefined;
      run.finish({ exitCode: run.code, stdout: run.stdout.text(), stderr: run.stderr.text() });
    }
  }

  private onClose(ch: ShellChannel): void {
    if (this.channel === ch) this.channel = undefined;
    const run = this.running;
    if (!run || run.channel !== ch) return; // an old, killed session closing late
    this.running = undefined;
    run.stdout.flush();
    run.stderr.flush();
    run.finish(this.lost(run.stdout.text(), run.stderr.text()));
  }
}
