import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOST_TOOLS_SCRIPT, httpGetScript, parseHostTools, parseHttpGetOutput, tcpProbeScript, type HostTools } from '../../src/transport/ssh/fallback.js';
import { BUSYBOX, busyboxBin } from '../helpers/busybox.js';
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
    res.setHeader('X-Release', '20261122030000');
    res.end(`path=${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const CURL: HostTools = { http: 'curl', tcp: 'bash', timeout: true };

describe('fallback scripts (when a host forbids TCP forwarding)', () => {
  it('keeps a URL with quotes and $ intact', async () => {
    const out = await runAsync(httpGetScript(`http://127.0.0.1:${port}/q?a='$HOME'&b="\``, 5000, CURL));
    expect(parseHttpGetOutput(out)?.body).toBe(`path=/q?a='$HOME'&b="\``);
  });

  it('GETs a URL with curl and reports status and body', async () => {
    const script = httpGetScript(`http://127.0.0.1:${port}/health?x='1'`, 5000, CURL);
    const out = await runAsync(script);
    expect(parseHttpGetOutput(out)).toMatchObject({ status: 200, body: "path=/health?x='1'", headers: { 'x-release': '20261122030000' } });
  });

  it('reports non-2xx statuses and caps the body at 64 KB', async () => {
    expect(parseHttpGetOutput(await runAsync(httpGetScript(`http://127.0.0.1:${port}/missing`, 5000, CURL)))).toMatchObject({
      status: 404,
      body: 'path=/missing',
    });
    expect(parseHttpGetOutput(await runAsync(httpGetScript(`http://127.0.0.1:${port}/big`, 5000, CURL)))?.body).toHaveLength(65536);
  });

  it('parses failures as undefined', () => {
    expect(parseHttpGetOutput('')).toBeUndefined();
    expect(parseHttpGetOutput('ship-http-status: 000\n')).toBeUndefined();
  });

  it('probes TCP ports', async () => {
    expect((await runAsyncFull(tcpProbeScript('127.0.0.1', port, 2000, CURL))).status).toBe(0);
    const closed = await runAsyncFull(tcpProbeScript('127.0.0.1', 1, 2000, CURL));
    expect(closed.status).not.toBe(0);
  });
});

// Alpine-like: nothing on PATH but BusyBox's applets (its wget knows no --content-on-error, its nc no -z)
describe.skipIf(!BUSYBOX && !process.env.CI)('fallback scripts on a BusyBox-only host', () => {
  const env = () => ({ PATH: busyboxBin() });

  it('finds BusyBox wget, nc without -z, and timeout', async () => {
    expect(parseHostTools((await runAsyncFull(HOST_TOOLS_SCRIPT, env())).stdout)).toEqual({ http: 'wget-busybox', tcp: 'nc', timeout: true });
  });

  it('GETs with BusyBox wget: status and body, and the status of an error', async () => {
    const tools = parseHostTools((await runAsyncFull(HOST_TOOLS_SCRIPT, env())).stdout);
    const ok = await runAsyncFull(httpGetScript(`http://127.0.0.1:${port}/health`, 5000, tools), env());
    expect(parseHttpGetOutput(ok.stdout), ok.stderr).toMatchObject({ status: 200, body: 'path=/health', headers: { 'x-release': '20261122030000' } }); // headers through BusyBox wget -S too
    const missing = await runAsyncFull(httpGetScript(`http://127.0.0.1:${port}/missing`, 5000, tools), env());
    expect(parseHttpGetOutput(missing.stdout)?.status, missing.stderr).toBe(404);
  });

  it('probes TCP ports with BusyBox nc', async () => {
    const tools = parseHostTools((await runAsyncFull(HOST_TOOLS_SCRIPT, env())).stdout);
    expect((await runAsyncFull(tcpProbeScript('127.0.0.1', port, 2000, tools), env())).status).toBe(0);
    expect((await runAsyncFull(tcpProbeScript('127.0.0.1', 1, 2000, tools), env())).status).not.toBe(0);
  });

  it('says when there is no HTTP client', () => {
    expect(parseHostTools('ship-tools: tcp=nc\n')).toEqual({ tcp: 'nc', timeout: false });
    expect(httpGetScript('http://x/', 1000, { timeout: false })).toContain('neither curl nor wget');
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
async function runAsyncFull(script: string, env?: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    // with a PATH of BusyBox applets, its sh runs the script
    const child = spawn(env?.PATH ? `${env.PATH}/sh` : 'sh', ['-c', SCRIPT_RUNNER], { stdio: 'pipe', ...(env ? { env } : {}) });
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
