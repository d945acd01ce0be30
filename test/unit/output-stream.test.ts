/**
 * Command output in bounded memory and linear time: the line splitter, the tails kept per
 * step, characters split across reads, and local scripts that leave a process behind.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSteps } from '../../src/engine/index.js';
import { script } from '../../src/shell/command.js';
import { LocalTransport } from '../../src/transport/local.js';
import { LineSplitter, MAX_LINE, TailText } from '../../src/transport/output.js';
import type { ExecOptions, Transport } from '../../src/transport/types.js';
import type { ShipEvent } from '../../src/ui/events.js';
import { makeRedactor } from '../../src/ui/redact.js';
import { ROOT } from '../helpers/repo.js';

const MB = 1024 * 1024;

describe('LineSplitter', () => {
  it('a 32 MB line without a newline: never holds more than one capped line, passes it on cut with a note', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let most = 0;
    for (let i = 0; i < 512; i++) {
      s.push(chunk);
      most = Math.max(most, s.retained);
    }
    s.push(Buffer.from('\nnext\r\n'));
    s.end();
    expect(most).toBeLessThanOrEqual(MAX_LINE);
    expect(lines).toEqual([`${'x'.repeat(MAX_LINE)} [ship: ${32 * MB - MAX_LINE} more characters of this line not shown]`, 'next']);
  });

  it('a character split across two reads stays one character', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    const bytes = Buffer.from('pässwörd\n');
    s.push(bytes.subarray(0, 2)); // "p" and the first byte of "ä"
    s.push(bytes.subarray(2));
    s.end();
    expect(lines).toEqual(['pässwörd']);
  });
});

describe('TailText', () => {
  it('keeps only the last characters, from a line boundary', () => {
    const t = new TailText(100);
    for (let i = 0; i < 10_000; i++) t.append(`line ${i}\n`);
    expect(t.length).toBeLessThanOrEqual(200);
    expect(t.toString().startsWith('line ')).toBe(true);
    expect(t.toString().endsWith('line 9999\n')).toBe(true);
  });
});

/** A transport that delivers a script's output in the chunks given (no process). */
const chunked = (chunks: Buffer[]): Transport => ({
  host: 'h1',
  connect: async () => undefined,
  runScript: async (text: string, o?: ExecOptions) => {
    const nonce = /@@ship:([0-9a-f]+):start/.exec(text)![1]!;
    o?.onData?.('stdout', Buffer.from(`\n@@ship:${nonce}:start:0\n`));
    for (const c of chunks) o?.onData?.('stdout', c);
    o?.onData?.('stdout', Buffer.from(`\n@@ship:${nonce}:end:0:0\n`));
    return { exitCode: 0, stdout: '', stderr: '' };
  },
  runWithInput: async () => ({ exitCode: 0, stdout: '', stderr: '' }),
  httpGet: async () => ({ status: 200, body: '' }),
  tcpProbe: async () => undefined,
  close: async () => undefined,
});

describe('runSteps reads each stream through one decoder', () => {
  it('a secret whose multi-byte character is split across two reads is still redacted', async () => {
    const secret = 'geheim-schlüssel-42';
    const bytes = Buffer.from(`token=${secret}\n`);
    const at = bytes.indexOf(Buffer.from('ü')) + 1; // between the two bytes of "ü"
    const events: ShipEvent[] = [];
    await runSteps({
      host: 'h1',
      transport: chunked([bytes.subarray(0, at), bytes.subarray(at)]),
      steps: [{ label: 'show', command: script('true') }],
      emit: (e) => events.push(e),
      redact: makeRedactor([secret]),
    });
    const out = events.filter((e) => e.event === 'output').map((e) => (e as { line: string }).line);
    expect(out).toEqual(['token=[REDACTED]']);
  });
});

/**
 * Runs one step printing `shell`'s output through the built runSteps and LocalTransport in a
 * child process, and returns that process's peak resident memory in MB (VmHWM).
 */
function peakMemoryOfStep(shell: string): { mb: number; lines: number; last: string } {
  const code = `
    import { readFileSync } from 'node:fs';
    import { runSteps } from ${JSON.stringify(join(ROOT, 'dist/engine/index.js'))};
    import { script } from ${JSON.stringify(join(ROOT, 'dist/shell/command.js'))};
    import { LocalTransport } from ${JSON.stringify(join(ROOT, 'dist/transport/local.js'))};
    let lines = 0; let last = '';
    const r = await runSteps({ host: 'h', transport: new LocalTransport('h', '/tmp'), steps: [{ label: 'big', command: script(process.env.SHELL_TEXT) }],
      emit: (e) => { if (e.event === 'output') { lines++; last = e.line.slice(-80); } }, redact: (t) => t });
    const hwm = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1];
    console.log(JSON.stringify({ ok: r.ok, mb: Math.round(Number(hwm) / 1024), lines, last }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { env: { ...process.env, SHELL_TEXT: shell }, encoding: 'utf8', maxBuffer: MB });
  expect(r.status, r.stderr).toBe(0);
  const out = JSON.parse(r.stdout) as { ok: boolean; mb: number; lines: number; last: string };
  expect(out.ok).toBe(true);
  return out;
}

/**
 * 256 MB, not a gigabyte, to keep the suite short: memory that grew with the output would be
 * over 256 MB here, far above the bound (a gigabyte measured the same: docs/reliability.md).
 */
describe('a task printing without bound passes in bounded memory (peak RSS of a child process)', () => {
  it('256 MB as one line without a newline', () => {
    const r = peakMemoryOfStep("head -c 268435456 /dev/zero | tr '\\0' x; echo; echo done");
    expect(r.mb).toBeLessThan(200);
    expect(r.lines).toBe(2);
    expect(r.last).toBe('done');
  }, 120_000);

  it('256 MB in lines of 1 KiB', () => {
    const r = peakMemoryOfStep('yes "$(head -c 1023 /dev/zero | tr \'\\0\' y)" | head -c 268435456; echo done');
    expect(r.mb).toBeLessThan(200);
    expect(r.lines).toBe(256 * 1024 + 1);
  }, 180_000);
});

describe('local scripts finish with the script, not with its pipes', () => {
  it('a background process that keeps stdout open (sleep &) does not hold the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ship-bg-'));
    const r = await new LocalTransport('h1', dir).runScript('sleep 600 & echo $! > bg.pid; echo started');
    const pid = Number(readFileSync(join(dir, 'bg.pid'), 'utf8'));
    try {
      expect(r).toMatchObject({ exitCode: 0, stdout: 'started\n' });
      expect(() => process.kill(pid, 0)).not.toThrow(); // it still runs: the script's end was enough
    } finally {
      process.kill(pid, 'SIGKILL');
    }
  }, 20_000);

  it('keeps the exit code, stderr and what a step printed before it exits', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ship-bg-'));
    const r = await new LocalTransport('h1', dir).runScript('echo out; echo err >&2; sleep 600 & echo $! > bg.pid; exit 7');
    process.kill(Number(readFileSync(join(dir, 'bg.pid'), 'utf8')), 'SIGKILL');
    expect(r).toEqual({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
  }, 20_000);
});
