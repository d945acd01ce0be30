import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileCache } from './file-cache.js';
import {
  checkHostKey,
  formatKnownHostsLine,
  knownKeyTypes,
  mismatchedHostKeyMessage,
  parseKnownHosts,
  revokedHostKeyMessage,
  unknownHostKeyMessage,
  type HostKeyContext,
  type KnownHostEntry,
} from './known-hosts.js';
import type { SshTarget } from '../types.js';
import { SshConnectError } from './errors.js';
import { errorMessage, tildify } from './messages.js';

/**
 * The known_hosts policy of one connection (ssh.known_hosts: strict | accept-new | off),
 * as a small state machine the SSH handshake calls into. No ssh2 here: it sees raw key blobs.
 */
export interface HostKeyGate {
  /** ssh2's hostVerifier: true to go on with the handshake. */
  verify(key: Buffer): boolean;
  /** Why the key was refused, when it was. */
  readonly refusal: string | undefined;
  /** The known_hosts line accept-new should write once the connection is up. */
  readonly toRecord: string | undefined;
  /** Host key algorithms to ask for first: the types known for this host, as ssh does. */
  readonly preferredAlgorithms: string[];
}

export function createHostKeyGate(
  t: Pick<SshTarget, 'name' | 'hostname' | 'port' | 'knownHosts'>,
  entries: readonly KnownHostEntry[],
  knownHostsFile: string, // as shown to the user in advice
): HostKeyGate {
  const ctx: HostKeyContext = { hostname: t.hostname, port: t.port, name: t.name, knownHostsFile };
  let refusal: string | undefined;
  let toRecord: string | undefined;
  let accepted: Buffer | undefined;
  const preferredAlgorithms =
    t.knownHosts === 'off'
      ? []
      : knownKeyTypes(entries, t.hostname, t.port).flatMap((type) => (type === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [type]));

  const verify = (key: Buffer): boolean => {
    if (accepted) {
      // Re-keying: the host must present the key it was accepted with.
      if (accepted.equals(key)) return true;
      refusal = mismatchedHostKeyMessage(ctx, [], key);
      return false;
    }
    if (t.knownHosts !== 'off') {
      const verdict = checkHostKey(entries, t.hostname, t.port, key);
      if (verdict.status === 'revoked') refusal = revokedHostKeyMessage(ctx, verdict.entry);
      else if (verdict.status === 'mismatch') refusal = mismatchedHostKeyMessage(ctx, verdict.known, key);
      else if (verdict.status === 'unknown' && t.knownHosts === 'strict') refusal = unknownHostKeyMessage(ctx, key);
      else if (verdict.status === 'unknown') toRecord = formatKnownHostsLine(t.hostname, t.port, key);
      if (refusal !== undefined) return false;
    }
    accepted = Buffer.from(key);
    return true;
  };

  return {
    verify,
    get refusal() {
      return refusal;
    },
    get toRecord() {
      return toRecord;
    },
    preferredAlgorithms,
  };
}

/** The gate of one connection, over the known_hosts files its policy reads. */
export async function openHostKeyGate(t: SshTarget, home: string): Promise<HostKeyGate> {
  const entries = t.knownHosts === 'off' ? [] : await loadKnownHosts(t.knownHostsFiles, (f) => tildify(f, home));
  return createHostKeyGate(t, entries, tildify(t.knownHostsFiles[0] ?? '~/.ssh/known_hosts', home));
}

/**
 * accept-new, once the connection is up: appends the key the gate accepted to the first
 * known_hosts file and tells `learned`. Throws an SshConnectError naming the file when it cannot.
 */
export async function recordAcceptedKey(
  t: SshTarget,
  gate: HostKeyGate,
  home: string,
  label: string,
  learned?: (host: string, line: string) => void,
): Promise<void> {
  const line = gate.toRecord;
  const file = t.knownHostsFiles[0];
  if (line === undefined || file === undefined) return;
  try {
    await recordHostKey(file, line);
    learned?.(t.name, line);
  } catch (err) {
    const message = `cannot record the host key of ${label} in ${tildify(file, home)}: ${errorMessage(err)}`;
    throw new SshConnectError(t.name, 'hostkey', message, { cause: err });
  }
}

/** Reads and parses every known_hosts file; missing ones are empty. */
async function loadKnownHosts(files: readonly string[], display: (file: string) => string): Promise<KnownHostEntry[]> {
  const entries: KnownHostEntry[] = [];
  for (const file of files) {
    try {
      entries.push(...(await readKnownHostsFile(file)).map((e) => ({ ...e, file: display(file) })));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
    }
  }
  return entries;
}

/** One known_hosts file, read and parsed once per run (again when it changes). */
const readKnownHostsFile = fileCache(async (file: string) => parseKnownHosts(await readFile(file, 'utf8'), file));

/** Appends one line, creating the directory (0700) and file (0600) as ssh would. */
async function recordHostKey(file: string, line: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    if ((await stat(file)).size > 0) {
      const existing = await readFile(file);
      if (existing[existing.length - 1] !== 0x0a) prefix = '\n';
    }
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
  }
  await appendFile(file, `${prefix}${line}\n`, { mode: 0o600 });
}
