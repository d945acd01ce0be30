import { createRequire } from 'node:module';
import { connect as netConnect } from 'node:net';
import { homedir as osHomedir } from 'node:os';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { Algorithms, AuthHandlerMiddleware, ConnectConfig } from 'ssh2';
import { ALGORITHM_KINDS, ALGORITHM_NAMES, applyAlgorithmSpec, type AlgorithmKind, type AlgorithmLists } from './algorithms.js';
import type { SshTarget } from '../types.js';
import { authFailure, credentialOffer, loadCredentials } from './auth.js';
import { endClient, type Client, type Clients } from './connection.js';
import { JumpHosts, type JumpLease } from './jumps.js';
import { SshConnectError } from './errors.js';
import { deadline, forwardFailure, forwardOut } from './forward.js';
import { openHostKeyGate, recordAcceptedKey, type HostKeyGate } from './host-keys.js';
import { formatDuration } from '../../config/units.js';
import { errorMessage, targetLabel } from './messages.js';

export interface SshTransportDeps {
  /** The run's shared jump-host connections (one per distinct jump host); without it each target opens its own. */
  jumps?: JumpHosts;
  /** Called after accept-new recorded a host key (the line was appended to knownHostsFiles[0]). */
  onHostKeyLearned?(host: string, line: string): void;
  /** One-off remarks worth showing the operator (e.g. a fallback was used). */
  notice?(message: string): void;
  /** Home directory, used only to show paths as `~/...` in messages. */
  homedir?: string;
}

/**
 * Connects to a target, through its jump host when it has one (the jump's client carries a
 * direct-tcpip channel to the target, and the target's SSH runs over that channel; targets
 * behind the same jump host share its connection through `deps.jumps`). Every failure
 * becomes an SshConnectError that names the host and says what to do.
 */
export async function connectTarget(t: SshTarget, deps: SshTransportDeps): Promise<Clients> {
  if (!t.jump) return { client: await openClient(t, deps) };
  const { jump, sock } = await reachThroughJump(t, t.jump, deps);
  try {
    return { client: await openClient(t, deps, sock), releaseJump: jump.release };
  } catch (err) {
    await jump.release();
    throw err;
  }
}

async function reachThroughJump(t: SshTarget, jumpTarget: SshTarget, deps: SshTransportDeps): Promise<{ jump: JumpLease; sock: Duplex }> {
  const label = targetLabel(t);
  let jump: JumpLease;
  try {
    jump = await (deps.jumps ?? new JumpHosts()).lease(jumpTarget, () => openClient(jumpTarget, deps));
  } catch (err) {
    if (err instanceof SshConnectError) {
      throw new SshConnectError(t.name, err.kind, `jump host for ${label}: ${err.message}`, { cause: err });
    }
    throw err;
  }
  const limit = deadline(t.connectTimeoutMs, () => new Error(`no answer within ${formatDuration(t.connectTimeoutMs)}`));
  try {
    return { jump, sock: await forwardOut(jump.client, t.hostname, t.port, limit.signal) };
  } catch (err) {
    await jump.release();
    const kind = /refused/i.test(errorMessage(err)) ? 'refused' : 'other';
    const message = `cannot reach ${label} through jump host ${targetLabel(jumpTarget)}: ${forwardFailure(err)}`;
    throw new SshConnectError(t.name, kind, message, { cause: err });
  } finally {
    limit.clear();
  }
}

/** ssh2's own default and supported algorithm lists (not part of its typed API). */
const SSH2_ALGORITHMS = ((): Record<AlgorithmKind, AlgorithmLists> => {
  const c = createRequire(import.meta.url)('ssh2/lib/protocol/constants.js') as Record<string, string[]>;
  const lists = (name: string): AlgorithmLists => ({ defaults: c[`DEFAULT_${name}`] ?? [], supported: c[`SUPPORTED_${name}`] ?? [] });
  return { kex: lists('KEX'), hostKey: lists('SERVER_HOST_KEY'), cipher: lists('CIPHER'), mac: lists('MAC') };
})();

const SSH2_OPTION: Record<AlgorithmKind, keyof Algorithms> = { kex: 'kex', hostKey: 'serverHostKey', cipher: 'cipher', mac: 'hmac' };

/**
 * The algorithm lists to offer: ssh2's defaults changed by deploy.yaml's ssh.algorithms or
 * ~/.ssh/config's KexAlgorithms & co.; the host key types known for the host go first, as
 * ssh does. A spec ship cannot honour is an SshConnectError naming where it was set.
 */
export function connectAlgorithms(t: SshTarget, preferredHostKeys: readonly string[]): Algorithms {
  const out: Record<string, string[]> = {};
  for (const kind of ALGORITHM_KINDS) {
    const choice = t.algorithms?.[kind];
    if (choice === undefined) continue;
    const strict = choice.from === 'deploy.yaml';
    const r = applyAlgorithmSpec(choice.spec, SSH2_ALGORITHMS[kind], strict);
    if (!r.ok) {
      const where = strict ? `${ALGORITHM_NAMES[kind].yaml} in deploy.yaml` : `${ALGORITHM_NAMES[kind].sshConfig} in ~/.ssh/config`;
      throw new SshConnectError(t.name, 'other', `cannot connect to ${targetLabel(t)}: ${where}: ${r.problem}`);
    }
    out[SSH2_OPTION[kind]] = r.list;
  }
  const hostKeys = out.serverHostKey ?? [...SSH2_ALGORITHMS.hostKey.defaults];
  const first = preferredHostKeys.filter((a) => hostKeys.includes(a));
  if (first.length > 0 || out.serverHostKey) out.serverHostKey = [...first, ...hostKeys.filter((a) => !first.includes(a))];
  return out as Algorithms;
}

/** Connects and authenticates one client (over `sock` when given); every failure becomes an SshConnectError. */
async function openClient(t: SshTarget, deps: SshTransportDeps, sock?: Duplex): Promise<Client> {
  const home = deps.homedir ?? osHomedir();
  const label = targetLabel(t);
  const creds = await loadCredentials(t, home, label);
  const gate = await openHostKeyGate(t, home);
  const algorithms = connectAlgorithms(t, gate.preferredAlgorithms);
  const offer = credentialOffer(creds);
  const client = new ssh2.Client();
  await handshake(client, clientConfig(t, gate, algorithms, offer.handler, sock), {
    error: (err, notes) => describeConnectError(t, label, err, gate.refusal, () => authFailure(label, creds, offer.methodsLeft(), notes, home)),
    closed: () => {
      const refusal = gate.refusal;
      return new SshConnectError(t.name, refusal !== undefined ? 'hostkey' : 'other', refusal ?? `${label} closed the connection during the SSH handshake`);
    },
    threw: (err) => new SshConnectError(t.name, 'other', `cannot connect to ${label}: ${errorMessage(err)}`, { cause: err }),
  });
  try {
    await recordAcceptedKey(t, gate, home, label, (host, line) => deps.onHostKeyLearned?.(host, line));
  } catch (err) {
    await endClient(client);
    throw err;
  }
  return client;
}

function clientConfig(t: SshTarget, gate: HostKeyGate, algorithms: Algorithms, authHandler: AuthHandlerMiddleware, sock?: Duplex): ConnectConfig {
  return {
    username: t.user,
    readyTimeout: t.connectTimeoutMs,
    keepaliveInterval: t.keepaliveMs,
    keepaliveCountMax: 3,
    hostVerifier: (key: Buffer) => gate.verify(key),
    ...(Object.keys(algorithms).length > 0 ? { algorithms } : {}),
    authHandler,
    // Our own socket, with Nagle's algorithm off from the first byte: ssh2's default socket
    // waits for delayed ACKs on every small write, about 90 ms per round trip (measured).
    sock: sock ?? netConnect({ host: t.hostname, port: t.port, noDelay: true }),
  };
}

type ClientError = Error & { level?: string; code?: string };

/** What a failed handshake becomes: an ssh2 error, the server closing, connect() throwing. */
interface HandshakeFailures {
  error(err: ClientError, notes: readonly string[]): SshConnectError;
  closed(): SshConnectError;
  threw(err: unknown): SshConnectError;
}

/** Runs the SSH handshake and authentication; settles once, destroying the client on failure. */
function handshake(client: Client, config: ConnectConfig, failures: HandshakeFailures): Promise<void> {
  const notes: string[] = [];
  return new Promise<void>((resolve, reject) => {
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
    client.on('error', (err: ClientError) => {
      if (settled) return;
      // Not fatal: ssh2 reports them and moves on to the next method.
      if (err.level === 'agent' || /signing/i.test(err.message)) {
        notes.push(`${err.level === 'agent' ? 'agent' : 'key'}: ${err.message}`);
        return;
      }
      fail(failures.error(err, notes));
    });
    client.on('close', () => {
      if (!settled) fail(failures.closed());
    });
    try {
      client.connect(config);
    } catch (err) {
      fail(failures.threw(err));
    }
  });
}

function describeConnectError(
  t: SshTarget,
  label: string,
  err: ClientError,
  refusal: string | undefined,
  auth: () => { kind: 'key' | 'auth'; message: string },
): SshConnectError {
  const make = (kind: SshConnectError['kind'], message: string): SshConnectError => new SshConnectError(t.name, kind, message, { cause: err });
  if (refusal !== undefined) return make('hostkey', refusal);
  if (err.level === 'client-timeout') {
    return make(
      'timeout',
      `connecting to ${label} timed out after ${formatDuration(t.connectTimeoutMs)} (no SSH handshake: is the host up and the port right?)`,
    );
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
    const { kind, message } = auth();
    return make(kind, message);
  }
  if (/^Bad packet length/.test(err.message)) {
    // ssh2 takes a packet over 35000 bytes for a broken stream; before login that is the banner
    return make(
      'other',
      `cannot connect to ${label}: ${err.message}: the server's pre-authentication banner (Banner in sshd_config) is 35 KB or more, larger than ship's SSH library accepts; shorten it`,
    );
  }
  const noMatch = /no matching (key exchange|host key format|C->S cipher|S->C cipher|C->S MAC|S->C MAC)/i.exec(err.message);
  if (noMatch) {
    const what = (noMatch[1] ?? '').toLowerCase();
    const key = what.endsWith('cipher') ? 'ciphers' : what.endsWith('mac') ? 'macs' : what === 'host key format' ? 'host_key' : 'kex';
    return make(
      'other',
      `cannot connect to ${label}: ${err.message}: the server offers none of the algorithms ship offers; if you trust it, allow one of its own with ssh.algorithms.${key} in deploy.yaml (e.g. "+diffie-hellman-group14-sha1") or the matching keyword in ~/.ssh/config (docs/compatibility.md)`,
    );
  }
  return make('other', `cannot connect to ${label}: ${err.message}`);
}
