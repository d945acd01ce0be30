import type { ClientChannel } from 'ssh2';
import { exitCodeOf } from '../signals.js';
import type { Terminal } from '../types.js';
import type { SshConnection } from './connection.js';
import { ChannelRefused } from './exec.js';
import { errorMessage, sessionRefused } from './messages.js';

/**
 * `ship ssh`: `command` attached to this terminal, on a pseudo-terminal sized like it (raw
 * keys, resized with it) when stdin is a terminal. Resolves with the command's exit code.
 */
export function openPty(conn: SshConnection, command: string, terminal: Terminal): Promise<number> {
  const client = conn.client;
  if (!client) return Promise.reject(new Error(`${conn.label}: not connected (call connect() first)`));
  const { stdin, stdout } = terminal;
  const tty = stdin.isTTY === true;
  // a pseudo-terminal only for a terminal: `echo pwd | ship ssh` gets a plain pipe, as ssh does
  const pty = tty ? { term: process.env.TERM || 'xterm-256color', rows: stdout.rows || 24, cols: stdout.columns || 80, height: 0, width: 0 } : false;
  return new Promise<number>((resolve, reject) => {
    const opened = (err: Error | undefined, ch: ClientChannel): void => {
      if (err) return reject(new ChannelRefused(`${conn.label}: cannot open a shell: ${sessionRefused(err)}`, { cause: err }));
      attach(conn, ch, terminal, tty, resolve);
    };
    try {
      client.exec(command, { pty }, opened);
    } catch (err) {
      // ssh2 throws when the socket is already gone
      reject(new Error(`${conn.label}: cannot open a shell: ${errorMessage(err)}`, { cause: err }));
    }
  });
}

/** Joins the channel to the terminal until it closes, then gives the terminal back as it was. */
function attach(conn: SshConnection, ch: ClientChannel, terminal: Terminal, tty: boolean, done: (code: number) => void): void {
  const { stdin, stdout, stderr } = terminal;
  let code = 255; // the connection dropped before an exit status
  const resize = () => ch.setWindow(stdout.rows || 24, stdout.columns || 80, 0, 0);
  const unwatch = conn.watchLost((reason) => {
    stderr.write(`\r\n[ship] connection to ${conn.label} lost: ${reason}\r\n`);
    ch.close();
  });
  ch.on('exit', (c: number | null, signal?: string) => {
    code = exitCodeOf(c, signal) ?? 255;
  });
  ch.on('close', () => {
    unwatch();
    stdout.off('resize', resize);
    stdin.unpipe(ch);
    if (tty) stdin.setRawMode(false);
    stdin.pause();
    done(code);
  });
  // raw keys: Ctrl-C, arrows and tab belong to the remote shell, not to this process
  if (tty) stdin.setRawMode(true);
  stdout.on('resize', resize); // Node turns SIGWINCH into 'resize' on a terminal
  stdin.pipe(ch);
  stdin.resume();
  ch.pipe(stdout, { end: false });
  ch.stderr.pipe(stderr, { end: false });
}
