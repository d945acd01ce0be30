import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shText } from '../../src/shell/sh.js';
import { SHIP_BIN } from './cli.js';
import { machine } from './requirements.js';

/**
 * Drives the built `ship` through a real pseudo-terminal: a detached tmux session on a
 * private server (its own socket in a temp dir, so nothing else's tmux is touched), read back with
 * capture-pane. The session's environment is exactly what the test passes (no CI variable
 * leaks in from the test runner). Tests that use it skip without tmux: skipWithout('terminal').
 */

export interface Pane {
  /** The screen and its scrollback, wrapped lines joined, trailing blanks dropped. */
  text(opts?: { escapes?: boolean }): string;
  send(...keys: string[]): void;
  /** Polls the screen until `re` matches; throws with the screen after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  kill(): void;
}

/** Runs `ship <args>` in a new terminal of cols x rows; `[exit N]` is printed when it ends. */
export function shipInTmux(args: string[], opts: { cwd: string; env: Record<string, string>; cols?: number; rows?: number }): Pane {
  const dir = mkdtempSync(join(tmpdir(), 'ship-tmux-'));
  const socket = join(dir, 'socket');
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8', TERM: 'xterm-256color', ...opts.env };
  const tmux = (...a: string[]) => spawnSync(machine.tmux ?? 'tmux', ['-S', socket, '-f', '/dev/null', ...a], { env, encoding: 'utf8' });
  const line = shText`${[process.execPath, SHIP_BIN, ...args]}; echo "[exit $?]"; sleep 600`;
  const started = tmux('new-session', '-d', '-x', String(opts.cols ?? 120), '-y', String(opts.rows ?? 50), '-c', opts.cwd, line);
  if (started.status !== 0) throw new Error(`tmux new-session failed: ${started.stderr}`);
  const text = (o: { escapes?: boolean } = {}) =>
    tmux('capture-pane', '-p', '-J', ...(o.escapes ? ['-e'] : []), '-S', '-', '-t', '0').stdout.replace(/\s+$/, '');
  return {
    text,
    send: (...keys) => void tmux('send-keys', '-t', '0', ...keys),
    waitFor: async (re, timeoutMs = 45_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const screen = text();
        if (re.test(screen)) return screen;
        if (Date.now() > deadline) throw new Error(`the terminal never showed ${re}:\n${screen}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    kill: () => {
      tmux('kill-server');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
