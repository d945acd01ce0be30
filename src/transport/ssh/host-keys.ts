import { appendFile, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { dirname } from 'node:path';
import { fileCache } from './file-cache.js';
import {
  checkHostKey,
  entryMatchesHost,
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
    if (await recordHostKey(file, line)) learned?.(t.name, line);
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

/**
 * Appends one line unless the file already holds that key for that host (another connection
 * of this run, or another ship at the same moment, recorded it first), creating the directory
 * (0700) and file (0600) as ssh would. The read and the append happen under a lock file, so
 * two writers never both append. True when the line was written.
 */
export async function recordHostKey(file: string, line: string): Promise<boolean> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  return withLockFile(`${file}.lock`, async () => {
    const existing = await readFile(file).catch((err: { code?: unknown }) => {
      if (err.code === 'ENOENT') return Buffer.alloc(0);
      throw err;
    });
    if (holdsLine(existing.toString('utf8'), line)) return false;
    const prefix = existing.length > 0 && existing[existing.length - 1] !== 0x0a ? '\n' : '';
    await appendFile(file, `${prefix}${line}\n`, { mode: 0o600 });
    return true;
  });
}

/** Does known_hosts `text` already give the host of `line` the key of `line`? */
function holdsLine(text: string, line: string): boolean {
  const wanted = parseKnownHosts(line)[0];
  const name = wanted?.hosts.kind === 'patterns' ? wanted.hosts.patterns[0] : undefined;
  if (!wanted || name === undefined) return false;
  return parseKnownHosts(text).some((e) => e.marker === undefined && e.key.equals(wanted.key) && entryMatchesHost(e, name));
}

const LOCK_WAIT_MS = 5000;
const LOCK_STALE_MS = 10_000;

/** Runs `work` holding `lock` (created exclusively, removed after); a lock older than 10 s is a crashed writer's. */
async function withLockFile<T>(lock: string, work: () => Promise<T>): Promise<T> {
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(lock, 'wx', 0o600)).close();
      break;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > LOCK_STALE_MS) await unlink(lock).catch(() => undefined);
      else if (Date.now() > until) throw new Error(`${lock} is held by another writer (remove it if no ship or ssh is running)`);
      else await sleep(15);
    }
  }
  try {
    return await work();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}
