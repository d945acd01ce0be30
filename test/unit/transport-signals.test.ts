import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalTransport } from '../../src/transport/local.js';
import { STOP_SIGNAL, abortError, exitCodeOf, signalNumber } from '../../src/transport/signals.js';

describe('the signal table both transports use', () => {
  it('numbers the signals an SSH server can name, with or without SIG', () => {
    expect(signalNumber('TERM')).toBe(15);
    expect(signalNumber('SIGTERM')).toBe(15);
    expect(signalNumber('SIGKILL')).toBe(9);
    expect(signalNumber('SEGV')).toBe(11);
    expect(signalNumber('USR1')).toBe(10);
    expect(signalNumber('SIGXCPU@openssh.com')).toBe(0);
    expect(signalNumber('constructor')).toBe(0);
    expect(STOP_SIGNAL).toBe('TERM');
  });

  it('turns an exit report into the code a shell would give', () => {
    expect(exitCodeOf(0, null)).toBe(0);
    expect(exitCodeOf(3, 'SIGTERM')).toBe(3);
    expect(exitCodeOf(null, 'SIGTERM')).toBe(143);
    expect(exitCodeOf(undefined, 'SIGHUP')).toBe(129);
    expect(exitCodeOf(null, 'SIGSYS')).toBe(128);
    expect(exitCodeOf(null, undefined)).toBeUndefined();
  });

  it('makes one AbortError', () => {
    expect(abortError('command on web1')).toMatchObject({ name: 'AbortError', message: 'command on web1: aborted' });
  });
});

describe('the local transport on the shared table', () => {
  const local = () => new LocalTransport('here', mkdtempSync(join(tmpdir(), 'ship-signals-')));

  it('reports a script killed by a signal as 128+N', async () => {
    expect((await local().runScript('kill -TERM $$')).exitCode).toBe(143);
    expect((await local().runScript('kill -USR1 $$')).exitCode).toBe(138);
  });

  it('rejects an aborted script with the shared AbortError', async () => {
    const controller = new AbortController();
    const run = local().runScript('sleep 5', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(run).rejects.toMatchObject({ name: 'AbortError', message: 'command on here: aborted' });
  });
});
