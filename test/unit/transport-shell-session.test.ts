import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ShellSession, type ShellChannel } from '../../src/transport/shell-session.js';

/** The remote loop run by a local sh: the same bytes an SSH channel would carry. */
function localChannel(opened: string[]) {
  return async (command: string): Promise<ShellChannel> => {
    opened.push(command);
    const child = spawn('sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    return {
      write: (d) => void child.stdin.write(d),
      onStdout: (l) => void child.stdout.on('data', l),
      onStderr: (l) => void child.stderr.on('data', l),
      onClose: (l) => void child.once('close', l),
      kill: () => {
        try {
          process.kill(-child.pid!, 'SIGTERM');
        } catch {
          // already gone
        }
      },
      end: () => void child.stdin.end(),
    };
  };
}

const session = (opened: string[] = []) =>
  new ShellSession(
    localChannel(opened),
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

  it('a shell that dies mid-script resolves as lost, with the output so far', async () => {
    const s = session();
    const r = await s.run('echo partial; kill -9 $$; sleep 5');
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
