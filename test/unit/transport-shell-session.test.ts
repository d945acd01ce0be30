import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShellSession, type ShellChannel } from '../../src/transport/ssh/session.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, signalGroup } from '../helpers/fleet/processes.js';

/**
 * The remote loop run by a local sh: the same bytes an SSH channel would carry. `trickle`
 * writes them in small pieces with pauses between, as SSH packets can arrive; `env` (PATH)
 * can put another dd in front.
 */
function localChannel(opened: string[], opts: { trickle?: boolean; env?: NodeJS.ProcessEnv; signalLeaderOnly?: boolean; login?: string } = {}) {
  return async (command: string): Promise<ShellChannel> => {
    opened.push(command);
    const child = spawn('sh', ['-c', opts.login ? `${opts.login}\n${command}` : command], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      ...(opts.env ? { env: opts.env } : {}),
    });
    // as the SSH channel does: a write after the shell exited (a login that ends at once) is lost, not thrown
    child.stdin.on('error', () => undefined);
    let chain = Promise.resolve();
    const trickle = (d: Buffer) => {
      for (let at = 0; at < d.length; at += 700) {
        const piece = d.subarray(at, at + 700);
        chain = chain.then(() => new Promise((r) => setTimeout(() => r(void child.stdin.write(piece)), 5)));
      }
    };
    return {
      write: (d) => (opts.trickle ? trickle(d) : void child.stdin.write(d)),
      onStdout: (l) => void child.stdout.on('data', l),
      onStderr: (l) => void child.stderr.on('data', l),
      onClose: (l) => void child.once('close', l),
      // Dropbear signals only the session's first process; OpenSSH its process group
      kill: () => (opts.signalLeaderOnly ? void child.kill('SIGTERM') : void signalGroup(child.pid, 'SIGTERM')),
      end: () => void child.stdin.end(),
    };
  };
}

const session = (opened: string[] = [], opts: Parameters<typeof localChannel>[1] = {}) =>
  new ShellSession(
    localChannel(opened, opts),
    (stdout, stderr) => ({ exitCode: 255, stdout, stderr: `${stderr}[lost]` }),
    () => Object.assign(new Error('aborted'), { name: 'AbortError' }),
  );

describe('ShellSession', () => {
  it('runs scripts one after another in one shell, with exit codes and both streams complete', async () => {
    const opened: string[] = [];
    const s = session(opened);
    const seen: string[] = [];
    const a = await s.run('echo out; echo err >&2; exit 3', { onData: (st, c) => seen.push(`${st}:${c.toString()}`) });
    expect(a).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(seen.join('')).not.toContain('@@ship');
    const b = await s.run("printf 'no newline'");
    expect(b).toEqual({ exitCode: 0, stdout: 'no newline', stderr: '' });
    const [c, d] = await Promise.all([s.run('sleep 0.2; echo first'), s.run('echo second')]);
    expect([c.stdout, d.stdout]).toEqual(['first\n', 'second\n']);
    expect(opened).toHaveLength(1);
    s.close();
  });

  it("keeps what the login shell prints before the loop out of the first script's output", async () => {
    const s = session([], { login: 'echo "Welcome to web1"; echo "rbenv: rehash" >&2; sleep 0.2' });
    expect(await s.run('echo first; echo e >&2')).toEqual({ exitCode: 0, stdout: 'first\n', stderr: 'e\n' });
    expect(await s.run('echo second')).toEqual({ exitCode: 0, stdout: 'second\n', stderr: '' });
  });

  it('a login shell that exits before the loop: lost, with what it said', async () => {
    const s = session([], { login: 'echo "this account is locked" >&2; exit 1' });
    const r = await s.run('echo never');
    expect(r.exitCode).toBe(255);
    expect(r.stderr).toBe('this account is locked\n[lost]');
  });

  it('release() waits for the running script, ends the session, and the next script opens a new one', async () => {
    const opened: string[] = [];
    const s = session(opened);
    const slow = s.run('sleep 0.2; echo slow');
    await s.release();
    expect((await slow).stdout).toBe('slow\n');
    expect((await s.run('echo next')).stdout).toBe('next\n');
    expect(opened).toHaveLength(2);
  });

  it('keeps scripts apart: exports, cd and exit do not leak; a command reading stdin cannot eat the next script', async () => {
    const s = session();
    expect((await s.run('export X=1; cd /tmp; cat; exit 7')).exitCode).toBe(7);
    expect(await s.run('echo "x=${X:-unset} pwd=$(pwd)"')).toMatchObject({ exitCode: 0, stdout: `x=unset pwd=${process.cwd()}\n` });
    s.close();
  });

  it('carries any bytes: quotes, a fake marker, unicode, a large script', async () => {
    const s = session();
    const big = 'x'.repeat(20_000);
    const r = await s.run(`printf '%s\\n' "it's \\"q\\" \\$HOME ✓ @@ship-done:fake:0"; echo ${big} | wc -c`);
    expect(r.stdout).toBe(`it's "q" $HOME ✓ @@ship-done:fake:0\n20001\n`);
    s.close();
  });

  it('reads each script whole when it arrives in pieces, and reads no further', async () => {
    const s = session([], { trickle: true });
    const body = `echo ${'y'.repeat(3000)} | wc -c`;
    const [a, b] = await Promise.all([s.run(body), s.run('echo next')]);
    expect([a.stdout, b.stdout]).toEqual(['3001\n', 'next\n']);
    s.close();
  });

  it('works with a dd that lacks iflag=fullblock (BSD, old BusyBox): one byte at a time', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'ship-dd-'));
    const log = join(bin, 'log');
    const realDd = execFileSync('sh', ['-c', 'command -v dd'], { encoding: 'utf8' }).trim();
    writeFileSync(join(bin, 'dd'), `#!/bin/sh\nfor a in "$@"; do case $a in iflag=*) exit 1;; esac; done\necho "$@" >> ${log}\nexec ${realDd} "$@"\n`);
    chmodSync(join(bin, 'dd'), 0o755);
    const s = session([], { trickle: true, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    const [a, b] = await Promise.all([s.run(`echo ${'z'.repeat(2000)} | wc -c; exit 4`), s.run('echo after')]);
    expect([a.exitCode, a.stdout, b.stdout]).toEqual([4, '2001\n', 'after\n']);
    expect(readFileSync(log, 'utf8')).toMatch(/^bs=1 count=\d+$/m);
    s.close();
  });

  it('an aborted script kills its session; the next script gets a new one', async () => {
    const opened: string[] = [];
    const s = session(opened);
    const ac = new AbortController();
    const slow = s.run('sleep 5; echo never', { signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(slow).rejects.toMatchObject({ name: 'AbortError' });
    expect((await s.run('echo again')).stdout).toBe('again\n');
    expect(opened).toHaveLength(2);
    s.close();
  });

  it('stopping a script ends its whole process group, also where the server signals only the first process (Dropbear)', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'ship-stop-')), 'pid');
    const s = session([], { signalLeaderOnly: true });
    const ac = new AbortController();
    const slow = s.run(`sh -c 'echo $$ > ${pidFile}; exec sleep 30' & wait`, { signal: ac.signal });
    while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8') === '') await sleep(20);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    ac.abort();
    await expect(slow).rejects.toMatchObject({ name: 'AbortError' });
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(20);
    expect(isAlive(pid)).toBe(false);
  });

  it('a shell that dies mid-script resolves as lost, with the output so far', async () => {
    const s = session();
    const r = await s.run('echo partial; kill -9 $PPID');
    expect(r.exitCode).toBe(255);
    expect(r.stdout).toContain('partial');
    expect(r.stderr).toContain('[lost]');
    expect((await s.run('echo back')).stdout).toBe('back\n');
    s.close();
  });
});

describe('ShellSession streaming', () => {
  it('delivers output while the script still runs: the script waits for the reader to have seen it', async () => {
    const s = session();
    const flag = join(mkdtempSync(join(tmpdir(), 'ship-stream-')), 'seen');
    let seen = '';
    const r = await s.run(`echo early; while [ ! -e ${flag} ]; do sleep 0.05; done; echo late`, {
      onData: (_st, c) => {
        seen += c.toString();
        // whole lines, newline included: a line reader above must get it now (buffering would deadlock)
        if (seen === 'early\n') writeFileSync(flag, '');
      },
    });
    expect(r.stdout).toBe('early\nlate\n');
    s.close();
  });
});
