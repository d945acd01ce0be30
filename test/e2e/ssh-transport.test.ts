import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/transport/ssh/known-hosts.js';
import { createSshTransport } from '../../src/transport/ssh/index.js';
import { SshConnectError } from '../../src/transport/ssh/errors.js';
import type { SshTarget, Transport } from '../../src/transport/types.js';
import { killTreeSync } from '../helpers/fleet/index.js';
import { machine, skipWithout } from '../helpers/requirements.js';

/**
 * The SSH transport against real OpenSSH servers started here, on 127.0.0.1 high ports,
 * with throwaway host and user keys. Its own servers, not the fleet harness's: only the
 * harness's process helpers are shared.
 */

/** Without OpenSSH's server this file has nothing to talk to: it is skipped, and npm test says so at the end. */
const noSshd = skipWithout('sshd');

const tmp = mkdtempSync(join(tmpdir(), 'ship-ssh-e2e-'));
const userKey = join(tmp, 'id_ed25519');
const hostKeyFile = join(tmp, 'hostkey');
let hostKeyBlob: Buffer;
let knownHostsFile: string; // trusts the test sshd on every port we use

interface Sshd {
  port: number;
  proc: ChildProcess;
  log: () => string;
}
const daemons: Sshd[] = [];
const opened: Transport[] = [];

function keygen(file: string, passphrase = ''): void {
  execFileSync(machine.sshKeygen!, ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'ship-test', '-f', file]);
}

async function freePort(): Promise<number> {
  const srv = createTcpServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function startSshd(name: string, extra: string[] = []): Promise<Sshd> {
  const port = await freePort();
  const conf = join(tmp, `sshd_${name}.conf`);
  writeFileSync(
    conf,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${join(tmp, `sshd_${name}.pid`)}`,
      `AuthorizedKeysFile ${join(tmp, 'authorized_keys')}`,
      'UsePAM no',
      'StrictModes no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      ...(extra.some((l) => l.startsWith('MaxSessions')) ? [] : ['MaxSessions 100']),
      'MaxStartups 100',
      'LogLevel INFO',
      ...(extra.some((l) => l.startsWith('AllowTcpForwarding')) ? [] : ['AllowTcpForwarding yes']),
      ...extra,
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true });
  const proc = spawn(machine.sshd!, ['-D', '-e', '-f', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const d: Sshd = { port, proc, log: () => log };
  daemons.push(d);
  const deadline = Date.now() + 10_000;
  while (!log.includes('Server listening')) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`sshd ${name} did not start:\n${log}`);
    await sleep(50);
  }
  return d;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function target(port: number, over: Partial<SshTarget> = {}): SshTarget {
  return {
    name: 'host1',
    hostname: '127.0.0.1',
    port,
    user: 'root',
    identityFiles: [userKey],
    explicitIdentity: true,
    knownHosts: 'strict',
    knownHostsFiles: [knownHostsFile],
    connectTimeoutMs: 5000,
    keepaliveMs: 5000,
    ...over,
  };
}

function transport(t: SshTarget, deps: Parameters<typeof createSshTransport>[1] = {}): Transport {
  const tr = createSshTransport(t, { homedir: tmp, ...deps });
  opened.push(tr);
  return tr;
}

async function connectError(t: SshTarget): Promise<SshConnectError> {
  const tr = transport(t);
  const err = await tr.connect().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SshConnectError);
  return err as SshConnectError;
}

/**
 * A throwaway unprivileged login (sshd does not honour signal requests in root sessions).
 * Created on first use and removed in afterAll.
 */
const TEST_USER = 'ship-ssh-e2e';
let createdUser = false;
function testUser(): string {
  try {
    execFileSync('id', [TEST_USER], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/bin/sh', TEST_USER]);
    createdUser = true;
  }
  execFileSync('usermod', ['-p', '*', TEST_USER]); // a locked (!) account is refused by sshd
  // sshd reads AuthorizedKeysFile as the user
  execFileSync('chmod', ['0711', tmp]);
  execFileSync('chmod', ['0644', join(tmp, 'authorized_keys')]);
  return TEST_USER;
}

const accepted = (d: Sshd): number => d.log().split('Accepted publickey').length - 1;

let main: Sshd;
let tr: Transport;
let http: HttpServer;
let httpPort = 0;

beforeAll(async () => {
  if (noSshd) return;
  keygen(userKey);
  keygen(hostKeyFile);
  writeFileSync(join(tmp, 'authorized_keys'), readFileSync(`${userKey}.pub`));
  hostKeyBlob = Buffer.from(readFileSync(`${hostKeyFile}.pub`, 'utf8').split(' ')[1] ?? '', 'base64');
  main = await startSshd('main');
  knownHostsFile = join(tmp, 'known_hosts');
  writeFileSync(knownHostsFile, `[127.0.0.1]:${main.port} ssh-ed25519 ${hostKeyBlob.toString('base64')}\n`);

  http = createHttpServer((req, res) => {
    if (req.url === '/hang') return; // never answers
    res.statusCode = req.url === '/health' ? 200 : 404;
    res.setHeader('content-type', 'text/plain');
    res.setHeader('x-release', '20261122021500');
    res.end(req.url === '/health' ? `ok from ${req.headers.host}` : 'nope');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpPort = (http.address() as AddressInfo).port;

  tr = transport(target(main.port));
  await tr.connect();
});

afterAll(async () => {
  await Promise.all(opened.map((t) => t.close()));
  http?.closeAllConnections();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  for (const d of daemons) {
    killTreeSync(d.proc.pid);
  }
  // -f: a stopped script's KILL watcher (sleep 5) may still run as that user
  if (createdUser) execFileSync('userdel', ['-f', TEST_USER], { stdio: 'ignore' });
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(noSshd)('commands', () => {
  it('runs a script with exported env; the secret never shows in ps', async () => {
    const secret = `s3cr3t-${process.pid}-${Date.now()}`;
    const script = [`export SHIP_SECRET='${secret}'`, "export GREETING='hello world'", 'echo "$GREETING"', 'sleep 1', 'echo "len=${#SHIP_SECRET}"'].join('\n');
    let started!: () => void;
    const greeted = new Promise<void>((r) => (started = r));
    const run = tr.runScript(script, { onData: (_s, c) => c.toString().includes('hello world') && started() });
    await greeted; // the script is past its exports and about to sleep
    await sleep(100);
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps).toContain('sleep 1'); // the script is running right now
    expect(ps).not.toContain(secret);
    const res = await run;
    expect(res).toEqual({ exitCode: 0, stdout: `hello world\nlen=${secret.length}\n`, stderr: '' });
  });

  it('returns exit codes, 128+N for signals, and keeps stdout and stderr apart', async () => {
    expect((await tr.runScript('exit 3')).exitCode).toBe(3);
    expect((await tr.runScript('false')).exitCode).toBe(1);
    // a command killed by a signal: 128+N (the script runs in a subshell of the host's session shell)
    expect((await tr.runScript(`sh -c 'kill -9 $$'`)).exitCode).toBe(137);
    const chunks: string[] = [];
    const res = await tr.runScript('echo out; echo err >&2; echo more', {
      onData: (stream, chunk) => chunks.push(`${stream}:${chunk.toString()}`),
    });
    expect(res).toEqual({ exitCode: 0, stdout: 'out\nmore\n', stderr: 'err\n' });
    expect(chunks.join('')).toContain('stderr:err');
  });

  it('keeps quotes and special characters of the script intact', async () => {
    const res = await tr.runScript(`printf '%s|' "a b" 'it'\\''s' "\\$HOME" '\`x\`'; echo`);
    expect(res.stdout).toBe("a b|it's|$HOME|`x`|\n");
  });

  it('gives commands in the script an empty stdin', async () => {
    const res = await tr.runScript('cat; echo "cat done $?"; if read x; then echo got; else echo eof; fi');
    expect(res).toMatchObject({ exitCode: 0, stdout: 'cat done 0\neof\n' });
  });

  it('pipes a tar stream into runWithInput', async () => {
    const src = join(tmp, 'upload-src');
    const dest = join(tmp, 'upload-dest');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'a.txt'), 'alpha\n');
    writeFileSync(join(src, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
    const tar = spawn('tar', ['-C', src, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const res = await tr.runWithInput(`mkdir -p ${dest} && tar -C ${dest} -xf -`, tar.stdout);
    expect(res.exitCode).toBe(0);
    expect(readFileSync(join(dest, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(statSync(join(dest, 'sub', 'b.bin')).size).toBe(300_000);
    const buf = await tr.runWithInput('wc -c', Buffer.from('12345'));
    expect(buf.stdout.trim()).toBe('5');
  });

  it('settles runWithInput when the command stops reading, and releases the input', async () => {
    const endless = new Readable({
      read() {
        this.push(Buffer.alloc(64 * 1024));
      },
    });
    const res = await tr.runWithInput('head -c 10 >/dev/null; exit 4', endless);
    expect(res.exitCode).toBe(4);
    expect(endless.destroyed).toBe(true);
  });

  it('reuses one connection for 50 sequential commands', async () => {
    const before = accepted(main);
    const started = Date.now();
    for (let i = 0; i < 50; i++) {
      const res = await tr.runScript(`echo ${i}`);
      expect(res.stdout).toBe(`${i}\n`);
    }
    // Each command costs one session fork in sshd (~150-300 ms on a loaded test machine);
    // a new login per command would cost far more, and would show in sshd's log.
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(accepted(main)).toBe(before);
  });

  it('aborts a running command with an AbortError and stays usable', async () => {
    const controller = new AbortController();
    const run = tr.runScript('sleep 5; echo late', { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await tr.runScript('echo still here')).stdout).toBe('still here\n');
  });

  it('abort kills the whole remote command (as a non-root user: sshd refuses signals for root)', async () => {
    const t = transport(target(main.port, { user: testUser() }));
    await t.connect();
    const marker = `sleep 7.${process.pid}`;
    const controller = new AbortController();
    const run = t.runScript(`${marker}; echo late`, { signal: controller.signal });
    const running = (): boolean => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').includes(marker);
    await sleep(400);
    expect(running()).toBe(true);
    controller.abort();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    const deadline = Date.now() + 3000;
    while (running() && Date.now() < deadline) await sleep(50);
    expect(running()).toBe(false);
    await t.close();
  });
});

describe.skipIf(noSshd)('from the host: HTTP and TCP', () => {
  it('GETs a URL through the connection', async () => {
    const res = await tr.httpGet(`http://127.0.0.1:${httpPort}/health`, { timeoutMs: 5000 });
    // the headers too (names in lower case): a health check can require a release in one
    expect(res).toEqual({
      status: 200,
      body: `ok from 127.0.0.1:${httpPort}`,
      headers: expect.objectContaining({ 'content-type': 'text/plain', 'x-release': '20261122021500' }),
    });
    expect((await tr.httpGet(`http://127.0.0.1:${httpPort}/other`, { timeoutMs: 5000 })).status).toBe(404);
  });

  it('times out with a clear message and refuses closed ports', async () => {
    await expect(tr.httpGet(`http://127.0.0.1:${httpPort}/hang`, { timeoutMs: 500 })).rejects.toThrow(
      `GET http://127.0.0.1:${httpPort}/hang from host1: no answer within 500ms`,
    );
    const closed = await freePort();
    await expect(tr.httpGet(`http://127.0.0.1:${closed}/`, { timeoutMs: 2000 })).rejects.toThrow(/refused/i);
  });

  it('speaks TLS over the connection and verifies the certificate', async () => {
    const key = join(tmp, 'tls.key');
    const cert = join(tmp, 'tls.crt');
    const subject = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'];
    const openssl = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', key, '-out', cert];
    execFileSync('openssl', [...openssl, ...subject], { stdio: 'ignore' });
    const https = createHttpsServer({ key: readFileSync(key), cert: readFileSync(cert) }, (_req, res) => res.end('secure'));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const port = (https.address() as AddressInfo).port;
    try {
      // a self-signed certificate is not trusted: the handshake happened through the tunnel and was judged
      await expect(tr.httpGet(`https://127.0.0.1:${port}/`, { timeoutMs: 5000 })).rejects.toThrow(/self-signed certificate/);
    } finally {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  });

  it('probes TCP ports', async () => {
    await expect(tr.tcpProbe('127.0.0.1', httpPort, { timeoutMs: 2000 })).resolves.toBeUndefined();
    await expect(tr.tcpProbe('127.0.0.1', await freePort(), { timeoutMs: 2000 })).rejects.toThrow(/refused/i);
  });

  it('falls back to curl and nc/bash when the host forbids forwarding', async () => {
    const noFwd = await startSshd('nofwd', ['AllowTcpForwarding no']);
    writeFileSync(knownHostsFile, `[127.0.0.1]:${noFwd.port} ssh-ed25519 ${hostKeyBlob.toString('base64')}\n`, { flag: 'a' });
    const notices: string[] = [];
    const t = transport(target(noFwd.port), { notice: (m) => notices.push(m) });
    await t.connect();
    const res = await t.httpGet(`http://127.0.0.1:${httpPort}/health`, { timeoutMs: 5000 });
    // the headers too (names in lower case): a health check can require a release in one
    expect(res).toEqual({
      status: 200,
      body: `ok from 127.0.0.1:${httpPort}`,
      headers: expect.objectContaining({ 'content-type': 'text/plain', 'x-release': '20261122021500' }),
    });
    await t.tcpProbe('127.0.0.1', httpPort, { timeoutMs: 2000 });
    await expect(t.tcpProbe('127.0.0.1', await freePort(), { timeoutMs: 2000 })).rejects.toThrow(/no connection/);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('does not allow TCP forwarding');
    await t.close();
  });
});

describe.skipIf(noSshd)('host keys', () => {
  it('strict: refuses an unknown host key and names its fingerprint', async () => {
    const empty = join(tmp, 'empty_known_hosts');
    writeFileSync(empty, '');
    const err = await connectError(target(main.port, { knownHostsFiles: [empty] }));
    expect(err.kind).toBe('hostkey');
    expect(err.host).toBe('host1');
    expect(err.message).toContain(`host key for 127.0.0.1:${main.port} (host1) is not known: ssh-ed25519 ${fingerprint(hostKeyBlob)}`);
    expect(err.message).toContain(`ssh-keyscan -p ${main.port} 127.0.0.1 >> ~/empty_known_hosts`);
  });

  it('accept-new: records the key (0600, new directory), then strict passes', async () => {
    const file = join(tmp, 'fresh', 'dir', 'known_hosts');
    const learned: string[] = [];
    const t = transport(target(main.port, { knownHosts: 'accept-new', knownHostsFiles: [file] }), {
      onHostKeyLearned: (host, line) => learned.push(`${host} ${line}`),
    });
    await t.connect();
    const line = `[127.0.0.1]:${main.port} ssh-ed25519 ${hostKeyBlob.toString('base64')}`;
    expect(readFileSync(file, 'utf8')).toBe(`${line}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(learned).toEqual([`host1 ${line}`]);
    await t.close();

    const strict = transport(target(main.port, { knownHostsFiles: [file] }));
    await strict.connect();
    expect((await strict.runScript('echo ok')).stdout).toBe('ok\n');
    expect(readFileSync(file, 'utf8')).toBe(`${line}\n`); // nothing appended twice
  });

  it('refuses a mismatched key under strict and accept-new', async () => {
    const other = join(tmp, 'other_host_key');
    keygen(other);
    const wrong = join(tmp, 'wrong_known_hosts');
    writeFileSync(wrong, `[127.0.0.1]:${main.port} ${readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    for (const policy of ['strict', 'accept-new'] as const) {
      const err = await connectError(target(main.port, { knownHosts: policy, knownHostsFiles: [wrong] }));
      expect(err.kind).toBe('hostkey');
      expect(err.message).toContain(`HOST KEY MISMATCH for 127.0.0.1:${main.port} (host1)`);
      expect(err.message).toContain(`got ssh-ed25519 ${fingerprint(hostKeyBlob)}`);
      expect(err.message).toContain('~/wrong_known_hosts:1');
    }
  });

  it('off: connects without any known_hosts', async () => {
    const t = transport(target(main.port, { knownHosts: 'off', knownHostsFiles: [join(tmp, 'nope')] }));
    await t.connect();
    await t.close();
  });
});

describe.skipIf(noSshd)('connect failures', () => {
  it('names the host and what was tried when the key is not accepted', async () => {
    const stranger = join(tmp, 'stranger');
    keygen(stranger);
    const err = await connectError(target(main.port, { identityFiles: [stranger] }));
    expect(err.kind).toBe('auth');
    expect(err.message).toBe(`permission denied (publickey) for root@127.0.0.1:${main.port} (host1); tried: ~/stranger`);
  });

  it('explains encrypted keys', async () => {
    const locked = join(tmp, 'locked');
    keygen(locked, 'a passphrase');
    const err = await connectError(target(main.port, { identityFiles: [locked] }));
    expect(err.kind).toBe('key');
    expect(err.message).toBe('the key ~/locked is encrypted: load it into ssh-agent (ssh-add) or set ssh.identity to an unencrypted deploy key');
    // among default keys, an encrypted one is skipped and mentioned if nothing else works
    const stranger = join(tmp, 'stranger');
    const err2 = await connectError(target(main.port, { explicitIdentity: false, identityFiles: [locked, stranger] }));
    expect(err2.kind).toBe('key');
    expect(err2.message).toContain('tried: ~/stranger; the key ~/locked is encrypted');
  });

  it('tries each default key in order until one works', async () => {
    const t = transport(target(main.port, { explicitIdentity: false, identityFiles: [join(tmp, 'stranger'), join(tmp, 'missing'), userKey] }));
    await t.connect();
    await t.close();
  });

  it('reports refused connections and handshake timeouts', async () => {
    const closed = await freePort();
    const refused = await connectError(target(closed));
    expect(refused.kind).toBe('refused');
    expect(refused.message).toContain(`connection refused by root@127.0.0.1:${closed} (host1)`);

    const silent: TcpServer = createTcpServer((s: Socket) => s.on('error', () => undefined).resume());
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as AddressInfo).port;
    const started = Date.now();
    const timeout = await connectError(target(silentPort, { connectTimeoutMs: 500 }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(timeout.kind).toBe('timeout');
    expect(timeout.message).toContain(`connecting to root@127.0.0.1:${silentPort} (host1) timed out after 500ms`);
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
});

describe.skipIf(noSshd)('jump host', () => {
  it('reaches the target through a jump (the same sshd, jumping to itself)', async () => {
    const before = accepted(main);
    const t = transport(target(main.port, { jump: target(main.port, { name: 'bastion' }) }));
    await t.connect();
    const res = await t.runScript('echo "via $SSH_CLIENT"');
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/^via 127\.0\.0\.1 /);
    expect((await t.httpGet(`http://127.0.0.1:${httpPort}/health`, { timeoutMs: 5000 })).status).toBe(200);
    expect(accepted(main)).toBe(before + 2); // one login to the jump, one to the target
    await t.close();
    await t.close(); // idempotent
  });

  it('names the jump when it fails', async () => {
    const closed = await freePort();
    const err = await connectError(target(main.port, { jump: target(closed, { name: 'bastion' }) }));
    expect(err.kind).toBe('refused');
    expect(err.message).toContain(`jump host for root@127.0.0.1:${main.port} (host1): connection refused by root@127.0.0.1:${closed} (bastion)`);
  });
});

describe.skipIf(noSshd)('MaxSessions 1', () => {
  it('an upload beside the shell session: the session makes room, and comes back for the next script', async () => {
    const one = await startSshd('maxsessions', ['MaxSessions 1']);
    const t = transport(target(one.port, { knownHosts: 'off' }));
    await t.connect();
    expect((await t.runScript('echo first')).stdout).toBe('first\n');
    expect(await t.runWithInput('cat', Readable.from([Buffer.from('archive')]))).toEqual({ exitCode: 0, stdout: 'archive', stderr: '' });
    expect((await t.runScript('echo again')).stdout).toBe('again\n');
    await t.close();
  });
});

describe.skipIf(noSshd)('a pre-authentication banner of 40 KB', () => {
  it('names the banner as the cause', async () => {
    const banner = join(tmp, 'banner.txt');
    writeFileSync(banner, `${'Authorised use only. '.repeat(2000)}\n`);
    const big = await startSshd('banner', [`Banner ${banner}`]);
    const err = await connectError(target(big.port, { knownHosts: 'off' }));
    expect(err.message, err.message).toMatch(/Banner/);
    expect(err.message).toMatch(/35 KB/);
  });
});

describe.skipIf(noSshd)('losing the server', () => {
  it('settles a running command with 255 when sshd dies mid-command', async () => {
    const doomed = await startSshd('doomed');
    writeFileSync(knownHostsFile, `[127.0.0.1]:${doomed.port} ssh-ed25519 ${hostKeyBlob.toString('base64')}\n`, { flag: 'a' });
    const t = transport(target(doomed.port, { keepaliveMs: 1000 }));
    await t.connect();
    const run = t.runScript('echo started; sleep 30; echo never');
    await sleep(500);
    killTreeSync(doomed.proc.pid);
    const started = Date.now();
    const res = await run;
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.exitCode).toBe(255);
    expect(res.stdout).toBe('started\n');
    expect(res.stderr).toContain(`connection to root@127.0.0.1:${doomed.port} (host1) lost`);
    const after = await t.runScript('echo again');
    expect(after.exitCode).toBe(255);
    await t.close();
  });
});
