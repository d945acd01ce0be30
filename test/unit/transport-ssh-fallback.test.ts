import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGetScript, parseHttpGetOutput, tcpProbeScript } from '../../src/transport/ssh/fallback.js';
import { internals, SCRIPT_RUNNER } from '../../src/transport/ssh/index.js';

let server: Server;
let port = 0;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/big') {
      res.end('x'.repeat(100_000));
      return;
    }
    res.statusCode = req.url === '/missing' ? 404 : 200;
    res.end(`path=${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('fallback scripts (when a host forbids TCP forwarding)', () => {
  it('keeps a URL with quotes and $ intact', async () => {
    const out = await runAsync(httpGetScript(`http://127.0.0.1:${port}/q?a='$HOME'&b="\``, 5000));
    expect(parseHttpGetOutput(out)?.body).toBe(`path=/q?a='$HOME'&b="\``);
  });

  it('GETs a URL with curl and reports status and body', async () => {
    const script = httpGetScript(`http://127.0.0.1:${port}/health?x='1'`, 5000);
    const out = await runAsync(script);
    expect(parseHttpGetOutput(out)).toEqual({ status: 200, body: "path=/health?x='1'" });
  });

  it('reports non-2xx statuses and caps the body at 64 KB', async () => {
    expect(parseHttpGetOutput(await runAsync(httpGetScript(`http://127.0.0.1:${port}/missing`, 5000)))).toEqual({
      status: 404,
      body: 'path=/missing',
    });
    expect(parseHttpGetOutput(await runAsync(httpGetScript(`http://127.0.0.1:${port}/big`, 5000)))?.body).toHaveLength(65536);
  });

  it('parses failures as undefined', () => {
    expect(parseHttpGetOutput('')).toBeUndefined();
    expect(parseHttpGetOutput('ship-http-status: 000\n')).toBeUndefined();
  });

  it('probes TCP ports', async () => {
    expect((await runAsyncFull(tcpProbeScript('127.0.0.1', port, 2000))).status).toBe(0);
    const closed = await runAsyncFull(tcpProbeScript('127.0.0.1', 1, 2000));
    expect(closed.status).not.toBe(0);
  });
});

describe('ssh transport helpers', () => {
  it('maps signal names to 128+N exit codes', () => {
    expect(internals.signalNumber('SIGKILL')).toBe(9);
    expect(internals.signalNumber('TERM')).toBe(15);
  });

  it('recognises refused forwarding', () => {
    expect(internals.isForwardingProhibited({ reason: 1, message: 'x' })).toBe(true);
    expect(internals.isForwardingProhibited(new Error('(SSH) Channel open failure: administratively prohibited: open failed'))).toBe(true);
    expect(internals.isForwardingProhibited(new Error('(SSH) Channel open failure: Connection refused'))).toBe(false);
  });

  it('notes a lost connection on stderr', () => {
    expect(internals.lostResult('out', 'partial', 'root@127.0.0.1:22', 'read ECONNRESET')).toEqual({
      exitCode: 255,
      stdout: 'out',
      stderr: 'partial\n[ship] connection to root@127.0.0.1:22 lost: read ECONNRESET\n',
    });
    expect(internals.tildify('/root/.ssh/id_rsa', '/root')).toBe('~/.ssh/id_rsa');
  });
});

// The HTTP server lives in this process: run scripts asynchronously so it can answer.
async function runAsyncFull(script: string): Promise<{ status: number; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', SCRIPT_RUNNER], { stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
    child.stdin.end(script);
  });
}
async function runAsync(script: string): Promise<string> {
  return (await runAsyncFull(script)).stdout;
}
