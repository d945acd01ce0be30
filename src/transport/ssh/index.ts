import { readFile } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { homedir as osHomedir } from 'node:os';
import type { Duplex, Readable } from 'node:stream';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, ClientChannel, ConnectConfig, ParsedKey, ServerHostKeyAlgorithm } from 'ssh2';
import { bareHostname, defaultPort, httpGetOverStream } from './http-over-stream.js';
import { createHostKeyGate, loadKnownHosts, recordHostKey } from './host-keys.js';
import { httpGetScript, parseHttpGetOutput, tcpProbeScript } from './fallback.js';
import { SshConnectError } from './errors.js';
import { STOP_SIGNAL, abortError, exitCodeOf, signalNumber } from '../signals.js';
import type { ExecOptions, ExecResult, HttpResponse, SshTarget, Terminal, Transport } from '../types.js';
import { fileCache } from './file-cache.js';
import { ShellSession, type ShellChannel } from './session.js';

type Client = InstanceType<typeof ssh2.Client>;

/**
 * The SSH transport: the only module that talks to ssh2. One connection per host, opened by
 * connect() (through a jump host when configured) and shared by every command; each
 * command is an exec channel on it, each HTTP GET or TCP probe a direct-tcpip channel.
 */

export interface SshTransportDeps {
  /** Called after accept-new recorded a host key (the line was appended to knownHostsFiles[0]). */
  onHostKeyLearned?(host: string, line: string): void;
  /** One-off remarks worth showing the operator (e.g. a fallback was used). */
  notice?(message: string): void;
  /** Home directory, used only to show paths as `~/...` in messages. */
  homedir?: string;
}

export { SCRIPT_RUNNER } from '../script-shell.js';

export function createSshTransport(target: SshTarget, deps: SshTransportDeps = {}): Transport {
  return new SshTransport(target, deps);
}

/** `user@host:port`, plus the deploy.yaml name when it differs from the address. */
export function targetLabel(t: Pick<SshTarget, 'user' | 'hostname' | 'port' | 'name'>): string {
  const base = `${t.user}@${t.hostname}:${t.port}`;
  return t.name === t.hostname ? base : `${base} (${t.name})`;
}

type LostListener = (reason: string) => void;

class SshTransport implements Transport {
  readonly host: string;
  private client: Client | undefined;
  private jumpClient: Client | undefined;
  private connecting: Promise<void> | undefined;
  private lostReason: string | undefined;
  private closed = false;
  private fallbackNoticed = false;
  private readonly active = new Set<LostListener>();
  private session: ShellSession | undefined;

  constructor(
    private readonly target: SshTarget,
    private readonly deps: SshTransportDeps,
  ) {
    this.host = target.name;
  }

  connect(): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.label}: transport already closed`));
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }

  /** Every script of the run goes through one shell session on this connection (shell-session.ts). */
  runScript(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (this.closed) return Promise.reject(new Error(`${this.label}: transport already closed`));
    if (this.lostReason !== undefined) return Promise.resolve(lostResult('', '', this.label, this.lostReason));
    if (!this.client) return Promise.reject(new Error(`${this.label}: not connected (call connect() first)`));
    this.session ??= new ShellSession(
      (command) => this.openShellChannel(command),
      (stdout, stderr) => lostResult(stdout, stderr, this.label, this.lostReason ?? 'the connection closed'),
      () => abortError(`command on ${this.host}`),
    );
    return this.session.run(script, opts);
  }

  private openShellChannel(command: string): Promise<ShellChannel> {
    return new Promise((resolve, reject) => {
      const client = this.client;
      if (!client) return reject(new Error(`${this.label}: not connected`));
      const started = (err: Error | undefined, ch: ClientChannel): void => {
        if (err) return reject(new Error(`${this.label}: cannot start a shell: ${err.message}`, { cause: err }));
        ch.on('error', () => undefined); // surfaces as 'close'
        resolve({
          write: (data) => void ch.write(data),
          onStdout: (l) => void ch.on('data', l),
          onStderr: (l) => void ch.stderr.on('data', l),
          onClose: (l) => void ch.once('close', l),
          kill: () => stopChannel(ch),
          end: () => void ch.end(),
        });
      };
      try {
        client.exec(command, started);
      } catch (e) {
        reject(new Error(`${this.label}: cannot start a shell: ${errorMessage(e)}`));
      }
    });
  }

  runWithInput(command: string, input: Readable | Buffer, opts: ExecOptions = {}): Promise<ExecResult> {
    return this.exec(command, input, opts);
  }

  async httpGet(url: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<HttpResponse> {
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    if (!parsed) throw new Error(`GET ${url} from ${this.host}: not a valid URL`);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new Error(`GET ${url} from ${this.host}: only http and https URLs are supported`);
    }
    const what = `GET ${url} from ${this.host}`;
    return this.withDeadline(what, opts.timeoutMs, opts.signal, async (signal) => {
      let stream: Duplex;
      try {
        stream = await this.forward(bareHostname(parsed), defaultPort(parsed), signal);
      } catch (err) {
        if (!isForwardingProhibited(err)) throw new Error(`${what}: ${forwardFailure(err)}`, { cause: err });
        this.noticeFallback();
        return this.httpGetViaCommand(url, opts.timeoutMs, signal, what);
      }
      try {
        return await httpGetOverStream(stream, parsed, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        throw new Error(`${what}: ${errorMessage(err)}`, { cause: err });
      }
    });
  }

  async tcpProbe(host: string, port: number, opts: { timeoutMs: number }): Promise<void> {
    const what = `TCP ${host}:${port} from ${this.host}`;
    await this.withDeadline(what, opts.timeoutMs, undefined, async (signal) => {
      try {
        const stream = await this.forward(host, port, signal);
        stream.destroy();
      } catch (err) {
        if (!isForwardingProhibited(err)) throw new Error(`${what}: ${forwardFailure(err)}`, { cause: err });
        this.noticeFallback();
        const res = await this.runScript(tcpProbeScript(host, port, opts.timeoutMs), { signal });
        if (res.exitCode !== 0) {
          throw new Error(`${what}: no connection (exit ${res.exitCode}) ${tail(res.stderr)}`.trimEnd());
        }
      }
    });
  }

  shell(command: string, terminal: Terminal): Promise<number> {
    const client = this.client;
    if (!client) return Promise.reject(new Error(`${this.label}: not connected (call connect() first)`));
    const { stdin, stdout, stderr } = terminal;
    const tty = stdin.isTTY === true;
    // a pseudo-terminal only for a terminal: `echo pwd | ship ssh` gets a plain pipe, as ssh does
    const pty = tty ? { term: process.env.TERM || 'xterm-256color', rows: stdout.rows || 24, cols: stdout.columns || 80, height: 0, width: 0 } : false;
    return new Promise<number>((resolve, reject) => {
      const opened = (err: Error | undefined, ch: ClientChannel): void => {
        if (err) return reject(new Error(`${this.label}: cannot open a shell: ${err.message}`, { cause: err }));
        let code = 255; // the connection dropped before an exit status
        const resize = () => ch.setWindow(stdout.rows || 24, stdout.columns || 80, 0, 0);
        const lost = (reason: string) => {
          stderr.write(`\r\n[ship] connection to ${this.label} lost: ${reason}\r\n`);
          ch.close();
        };
        this.active.add(lost);
        ch.on('exit', (c: number | null, signal?: string) => {
          code = exitCodeOf(c, signal) ?? 255;
        });
        ch.on('close', () => {
          this.active.delete(lost);
          stdout.off('resize', resize);
          stdin.unpipe(ch);
          if (tty) stdin.setRawMode(false);
          stdin.pause();
          resolve(code);
        });
        // raw keys: Ctrl-C, arrows and tab belong to the remote shell, not to this process
        if (tty) stdin.setRawMode(true);
        stdout.on('resize', resize); // Node turns SIGWINCH into 'resize' on a terminal
        stdin.pipe(ch);
        stdin.resume();
        ch.pipe(stdout, { end: false });
        ch.stderr.pipe(stderr, { end: false });
      };
      try {
        client.exec(command, { pty }, opened);
      } catch (err) {
        // ssh2 throws when the socket is already gone
        reject(new Error(`${this.label}: cannot open a shell: ${errorMessage(err)}`, { cause: err }));
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lostReason ??= 'the transport was closed';
    this.session?.close();
    const clients = [this.client, this.jumpClient].filter((c): c is Client => c !== undefined);
    this.client = undefined;
    this.jumpClient = undefined;
    await Promise.all(clients.map(endClient));
  }

  // --- connecting -----------------------------------------------------------------------

  private get label(): string {
    return targetLabel(this.target);
  }

  private async open(): Promise<void> {
    const t = this.target;
    let sock: Duplex | undefined;
    let jumpClient: Client | undefined;
    if (t.jump) {
      const jump = t.jump;
      try {
        jumpClient = await openClient(jump, this.deps);
      } catch (err) {
        if (err instanceof SshConnectError) {
          throw new SshConnectError(t.name, err.kind, `jump host for ${this.label}: ${err.message}`, { cause: err });
        }
        throw err;
      }
      try {
        sock = await forwardOut(jumpClient, t.hostname, t.port, t.connectTimeoutMs);
      } catch (err) {
        await endClient(jumpClient);
        const kind = /refused/i.test(errorMessage(err)) ? 'refused' : 'other';
        throw new SshConnectError(
          t.name,
          kind,
          `cannot reach ${this.label} through jump host ${targetLabel(jump)}: ${forwardFailure(err)}`,
          { cause: err },
        );
      }
    }
    let client: Client;
    try {
      client = await openClient(t, this.deps, sock);
    } catch (err) {
      if (jumpClient) await endClient(jumpClient);
      throw err;
    }
    if (this.closed) {
      await Promise.all([client, jumpClient].filter((c): c is Client => c !== undefined).map(endClient));
      throw new Error(`${this.label}: transport closed while connecting`);
    }
    this.client = client;
    this.jumpClient = jumpClient;
    let lastError: string | undefined;
    client.on('error', (err: Error) => {
      lastError = err.message;
    });
    client.on('close', () => {
      this.lostReason ??= lastError ?? 'the server closed the connection';
      for (const lost of [...this.active]) lost(this.lostReason);
    });
  }

  // --- commands ---------------------------------------------------------------------------

  private exec(command: string, input: Readable | Buffer, opts: ExecOptions): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      const client = this.client;
      if (this.closed) {
        reject(new Error(`${this.label}: transport already closed`));
        return;
      }
      if (this.lostReason !== undefined) {
        resolve(lostResult('', '', this.label, this.lostReason));
        return;
      }
      if (!client) {
        reject(new Error(`${this.label}: not connected (call connect() first)`));
        return;
      }
      if (opts.signal?.aborted) {
        reject(abortError(`command on ${this.host}`));
        return;
      }

      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let channel: ClientChannel | undefined;
      let exitCode: number | undefined;
      let settled = false;

      const cleanup = (): void => {
        settled = true;
        this.active.delete(onLost);
        opts.signal?.removeEventListener('abort', onAbort);
        if (!Buffer.isBuffer(input) && !input.readableEnded) {
          // The command is over: a producer still writing (tar) must not block forever.
          if (channel) input.unpipe(channel);
          input.destroy();
        }
      };
      const text = (chunks: Buffer[]): string => Buffer.concat(chunks).toString('utf8');
      const onLost = (reason: string): void => {
        if (settled) return;
        cleanup();
        channel?.destroy();
        resolve(lostResult(text(stdout), text(stderr), this.label, reason));
      };
      const onAbort = (): void => {
        if (settled) return;
        cleanup();
        if (channel) stopChannel(channel);
        reject(abortError(`command on ${this.host}`));
      };
      this.active.add(onLost);
      opts.signal?.addEventListener('abort', onAbort, { once: true });

      const started = (err: Error | undefined, ch: ClientChannel): void => {
        if (settled) {
          ch?.close();
          return;
        }
        if (err) {
          if (this.lostReason !== undefined) return onLost(this.lostReason);
          cleanup();
          reject(new Error(`${this.label}: cannot start a command: ${err.message}`, { cause: err }));
          return;
        }
        channel = ch;
        const deliver = (stream: 'stdout' | 'stderr', chunks: Buffer[]) => (chunk: Buffer) => {
          if (settled) return;
          chunks.push(chunk);
          opts.onData?.(stream, chunk);
        };
        ch.on('data', deliver('stdout', stdout));
        ch.stderr.on('data', deliver('stderr', stderr));
        ch.on('error', () => undefined); // surfaces as 'close' without an exit status
        ch.on('exit', (code: number | null, signal?: string) => {
          exitCode = exitCodeOf(code, signal) ?? exitCode;
        });
        ch.on('close', () => {
          if (settled) return;
          if (exitCode === undefined) {
            if (this.lostReason !== undefined || !this.client) return onLost(this.lostReason ?? 'connection closed');
            cleanup();
            const note = `\n[ship] the command on ${this.label} ended without an exit status\n`;
            resolve({ exitCode: 255, stdout: text(stdout), stderr: text(stderr) + note });
            return;
          }
          cleanup();
          resolve({ exitCode, stdout: text(stdout), stderr: text(stderr) });
        });

        if (Buffer.isBuffer(input)) {
          ch.end(input);
        } else {
          input.on('error', (e: Error) => {
            if (settled) return;
            cleanup();
            ch.close();
            reject(new Error(`${this.label}: reading the input for \`${command}\` failed: ${e.message}`, { cause: e }));
          });
          input.pipe(ch);
        }
      };
      try {
        client.exec(command, started);
      } catch (err) {
        // ssh2 throws when the socket is already gone but 'close' has not been seen yet
        onLost(errorMessage(err));
      }
    });
  }

  // --- forwarding ----------------------------------------------------------------------------

  private forward(host: string, port: number, signal: AbortSignal): Promise<Duplex> {
    const client = this.client;
    if (!client) {
      return Promise.reject(
        new Error(this.lostReason ? `connection to ${this.label} lost` : `${this.label}: not connected`),
      );
    }
    return new Promise<Duplex>((resolve, reject) => {
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
          signal.removeEventListener('abort', onAbort);
          if (settled) {
            stream?.destroy(); // arrived after the deadline
            return;
          }
          settled = true;
          if (err) reject(err);
          else resolve(stream);
        });
      } catch (err) {
        signal.removeEventListener('abort', onAbort);
        settled = true;
        reject(new Error(`connection to ${this.label} lost: ${errorMessage(err)}`));
      }
    });
  }

  private async httpGetViaCommand(url: string, timeoutMs: number, signal: AbortSignal, what: string): Promise<HttpResponse> {
    const res = await this.runScript(httpGetScript(url, timeoutMs), { signal });
    const parsed = res.exitCode === 0 ? parseHttpGetOutput(res.stdout) : undefined;
    if (!parsed) throw new Error(`${what} (run on the host): exit ${res.exitCode} ${tail(res.stderr)}`.trimEnd());
    return parsed;
  }

  private noticeFallback(): void {
    if (this.fallbackNoticed) return;
    this.fallbackNoticed = true;
    this.deps.notice?.(
      `${this.label} does not allow TCP forwarding (AllowTcpForwarding); HTTP and TCP checks run curl/wget/nc on the host instead`,
    );
  }

  /** Runs `fn` with a signal that fires on the caller's signal or after `timeoutMs`. */
  private async withDeadline<T>(
    what: string,
    timeoutMs: number,
    outer: AbortSignal | undefined,
    fn: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new Error(`${what}: no answer within ${formatMs(timeoutMs)}`)),
      timeoutMs,
    );
    const onOuterAbort = (): void => controller.abort(abortError(what));
    if (outer?.aborted) onOuterAbort();
    else outer?.addEventListener('abort', onOuterAbort, { once: true });
    try {
      return await Promise.race([
        fn(controller.signal),
        new Promise<never>((_, reject) => {
          const fail = (): void => reject(controller.signal.reason as Error);
          if (controller.signal.aborted) fail();
          else controller.signal.addEventListener('abort', fail, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuterAbort);
      if (!controller.signal.aborted) controller.abort(new Error(`${what}: finished`));
    }
  }
}

// --- one SSH connection ------------------------------------------------------------------

const HOST_KEY_ALGORITHMS: ServerHostKeyAlgorithm[] = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

interface Credentials {
  methods: AnyAuthMethod[];
  labels: string[]; // parallel to methods, for messages
  encrypted: string[]; // key files skipped because they need a passphrase
  skipped: string[]; // other key files that could not be used, with why
}

/** Connects and authenticates one client; every failure becomes an SshConnectError. */
async function openClient(t: SshTarget, deps: SshTransportDeps, sock?: Duplex): Promise<Client> {
  const home = deps.homedir ?? osHomedir();
  const label = targetLabel(t);
  const creds = await loadCredentials(t, home, label);
  const knownHosts = t.knownHosts === 'off' ? [] : await loadKnownHosts(t.knownHostsFiles, (f) => tildify(f, home));
  const gate = createHostKeyGate(t, knownHosts, tildify(t.knownHostsFiles[0] ?? '~/.ssh/known_hosts', home));
  const preferred = gate.preferredAlgorithms.filter((a): a is ServerHostKeyAlgorithm =>
    (HOST_KEY_ALGORITHMS as string[]).includes(a),
  );

  let methodsLeft: string[] | null = null;
  let next = 0;
  const config: ConnectConfig = {
    username: t.user,
    readyTimeout: t.connectTimeoutMs,
    keepaliveInterval: t.keepaliveMs,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer) => gate.verify(key),
    // Ask first for the key types we already know for this host, as ssh does.
    ...(preferred.length > 0 ? { algorithms: { serverHostKey: { remove: preferred, prepend: preferred, append: [] } } } : {}),
    authHandler: (left, _partial, cb) => {
      if (left) methodsLeft = left;
      while (next < creds.methods.length) {
        const method = creds.methods[next++] as AnyAuthMethod;
        const kind = method.type === 'agent' ? 'publickey' : method.type;
        if (left && !left.includes(kind)) continue;
        return cb(method);
      }
      return cb(false as never);
    },
    // Our own socket, with Nagle's algorithm off from the first byte: ssh2's default socket
    // waits for delayed ACKs on every small write, about 90 ms per round trip (measured).
    sock: sock ?? netConnect({ host: t.hostname, port: t.port, noDelay: true }),
  };

  const client = new ssh2.Client();
  const notes: string[] = [];
  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const fail = (err: SshConnectError): void => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(err);
    };
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      // Not fatal: ssh2 reports them and moves on to the next method.
      if (err.level === 'agent' || /signing/i.test(err.message)) {
        notes.push(`${err.level === 'agent' ? 'agent' : 'key'}: ${err.message}`);
        return;
      }
      fail(describeConnectError(t, label, err, gate.refusal, creds, methodsLeft, notes, home));
    });
    client.on('close', () => {
      if (settled) return;
      const refusal = gate.refusal;
      const kind = refusal !== undefined ? 'hostkey' : 'other';
      fail(new SshConnectError(t.name, kind, refusal ?? `${label} closed the connection during the SSH handshake`));
    });
    try {
      client.connect(config);
    } catch (err) {
      fail(new SshConnectError(t.name, 'other', `cannot connect to ${label}: ${errorMessage(err)}`, { cause: err }));
    }
  });

  const toRecord = gate.toRecord;
  if (toRecord !== undefined) {
    const file = t.knownHostsFiles[0];
    if (file !== undefined) {
      try {
        await recordHostKey(file, toRecord);
        deps.onHostKeyLearned?.(t.name, toRecord);
      } catch (err) {
        await endClient(client);
        throw new SshConnectError(
          t.name,
          'hostkey',
          `cannot record the host key of ${label} in ${tildify(file, home)}: ${errorMessage(err)}`,
          { cause: err },
        );
      }
    }
  }
  return client;
}

function describeConnectError(
  t: SshTarget,
  label: string,
  err: Error & { level?: string; code?: string },
  refusal: string | undefined,
  creds: Credentials,
  methodsLeft: string[] | null,
  notes: string[],
  home: string,
): SshConnectError {
  const make = (kind: SshConnectError['kind'], message: string): SshConnectError =>
    new SshConnectError(t.name, kind, message, { cause: err });
  if (refusal !== undefined) return make('hostkey', refusal);
  if (err.level === 'client-timeout') {
    return make('timeout', `connecting to ${label} timed out after ${formatMs(t.connectTimeoutMs)} (no SSH handshake: is the host up and the port right?)`);
  }
  switch (err.code) {
    case 'ECONNREFUSED':
      return make('refused', `connection refused by ${label}: nothing listens on port ${t.port} (is sshd running?)`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return make('other', `cannot resolve the host name of ${label}`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return make('other', `${label} is unreachable (${err.code})`);
    case 'ETIMEDOUT':
      return make('timeout', `connecting to ${label} timed out (${err.code})`);
    case 'ECONNRESET':
      return make('other', `${label} reset the connection during the SSH handshake (MaxStartups, a firewall or tcp wrappers?)`);
    default:
      break;
  }
  if (err.level === 'client-authentication') {
    const methods = methodsLeft && methodsLeft.length > 0 ? methodsLeft.join(',') : 'publickey';
    const tried = creds.labels.length > 0 ? creds.labels.join(', ') : 'nothing';
    let message = `permission denied (${methods}) for ${label}; tried: ${tried}`;
    if (notes.length > 0) message += ` (${notes.join('; ')})`;
    if (creds.skipped.length > 0) message += `; skipped ${creds.skipped.join(', ')}`;
    const encrypted = creds.encrypted[0];
    if (encrypted !== undefined) {
      message += `; ${encryptedKeyAdvice(tildify(encrypted, home))}`;
      return make('key', message);
    }
    return make('auth', message);
  }
  return make('other', `cannot connect to ${label}: ${err.message}`);
}

function encryptedKeyAdvice(file: string): string {
  return `the key ${file} is encrypted: load it into ssh-agent (ssh-add) or set ssh.identity to an unencrypted deploy key`;
}

async function loadCredentials(t: SshTarget, home: string, label: string): Promise<Credentials> {
  const creds: Credentials = { methods: [], labels: [], encrypted: [], skipped: [] };
  const username = t.user;
  if (t.explicitIdentity) {
    const file = t.identityFiles[0];
    if (file === undefined) throw new SshConnectError(t.name, 'key', `no identity file given for ${label}`);
    const shown = tildify(file, home);
    const key = await readPrivateKey(file);
    if (key.status === 'missing') {
      throw new SshConnectError(t.name, 'key', `the key ${shown} (ssh.identity) for ${label} does not exist`);
    }
    if (key.status === 'encrypted') throw new SshConnectError(t.name, 'key', encryptedKeyAdvice(shown));
    if (key.status === 'invalid') {
      throw new SshConnectError(t.name, 'key', `the key ${shown} (ssh.identity) cannot be read: ${key.message}`);
    }
    creds.methods.push({ type: 'publickey', username, key: key.key });
    creds.labels.push(shown);
    return creds;
  }
  if (t.agent) {
    creds.methods.push({ type: 'agent', username, agent: t.agent });
    creds.labels.push('agent');
  }
  for (const file of t.identityFiles) {
    const key = await readPrivateKey(file);
    if (key.status === 'encrypted') creds.encrypted.push(file);
    if (key.status === 'invalid') creds.skipped.push(`${tildify(file, home)} (${key.message})`);
    if (key.status !== 'ok') continue;
    creds.methods.push({ type: 'publickey', username, key: key.key });
    creds.labels.push(tildify(file, home));
  }
  if (creds.methods.length === 0) {
    const encrypted = creds.encrypted[0];
    if (encrypted !== undefined) {
      throw new SshConnectError(t.name, 'key', `cannot authenticate to ${label}: ${encryptedKeyAdvice(tildify(encrypted, home))}`);
    }
    const skipped = creds.skipped.length > 0 ? `; skipped ${creds.skipped.join(', ')}` : '';
    throw new SshConnectError(
      t.name,
      'auth',
      `no SSH credentials for ${label}: no ssh-agent (SSH_AUTH_SOCK is not set) and no usable key file (~/.ssh/id_ed25519, ~/.ssh/id_rsa)${skipped}; set ssh.identity`,
    );
  }
  return creds;
}

type KeyFile =
  | { status: 'ok'; key: ParsedKey }
  | { status: 'missing' }
  | { status: 'encrypted' }
  | { status: 'invalid'; message: string };

/** A key file is read and parsed once per run, however many hosts use it. */
const readPrivateKey = fileCache(readPrivateKeyNow);

async function readPrivateKeyNow(file: string): Promise<KeyFile> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return { status: 'missing' };
    return { status: 'invalid', message: errorMessage(err) };
  }
  const parsed: ParsedKey | ParsedKey[] | Error = ssh2.utils.parseKey(data);
  if (parsed instanceof Error) {
    if (/encrypted/i.test(parsed.message) && /passphrase/i.test(parsed.message)) return { status: 'encrypted' };
    return { status: 'invalid', message: parsed.message };
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) return { status: 'invalid', message: 'not a private key' };
  return { status: 'ok', key };
}

function forwardOut(client: Client, host: string, port: number, timeoutMs: number): Promise<Duplex> {
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new Error(`no answer within ${formatMs(timeoutMs)}`));
    }, timeoutMs);
    try {
      client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        clearTimeout(timer);
        if (settled) {
          stream?.destroy();
          return;
        }
        settled = true;
        if (err) reject(err);
        else resolve(stream);
      });
    } catch (err) {
      clearTimeout(timer);
      settled = true;
      reject(err as Error);
    }
  });
}

function endClient(client: Client): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      client.destroy();
      resolve();
    }, 1000);
    client.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    client.on('error', () => undefined);
    try {
      client.end();
    } catch {
      clearTimeout(timer);
      client.destroy();
      resolve();
    }
  });
}

// --- small helpers ---------------------------------------------------------------------------

/**
 * Stops what runs on a command channel. The signal request reaches the remote process group
 * on servers that honour it (sshd killpg()s the session). ssh2 sends a signal request only
 * while our side of the channel is open: the shell session's channel always is (its stdin
 * carries the next script); an upload's is until all its input has gone. Closing the channel
 * is what remains for a server that ignores signal requests and for an upload already sent.
 */
function stopChannel(channel: ClientChannel): void {
  try {
    channel.signal(STOP_SIGNAL);
  } catch {
    // the connection is already gone: closing the channel is what remains
  }
  channel.close();
}

function lostResult(stdout: string, stderr: string, label: string, reason: string): ExecResult {
  const sep = stderr === '' || stderr.endsWith('\n') ? '' : '\n';
  return { exitCode: 255, stdout, stderr: `${stderr}${sep}[ship] connection to ${label} lost: ${reason}\n` };
}

/** `administratively prohibited` (SSH_OPEN_ADMINISTRATIVELY_PROHIBITED = 1). */
function isForwardingProhibited(err: unknown): boolean {
  const e = err as { reason?: unknown; message?: unknown };
  return e?.reason === 1 || /administratively prohibited/i.test(String(e?.message ?? ''));
}

function forwardFailure(err: unknown): string {
  return errorMessage(err).replace(/^\(SSH\) Channel open failure: /, '');
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isErrno(err: unknown, code: string): boolean {
  return (err as { code?: unknown })?.code === code;
}

function tail(text: string, lines = 5): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function tildify(p: string, home: string): string {
  return home !== '' && p.startsWith(`${home}/`) ? `~/${p.slice(home.length + 1)}` : p;
}

// Exported for unit tests of the pure helpers.
export const internals = { signalNumber, isForwardingProhibited, lostResult, tildify };
