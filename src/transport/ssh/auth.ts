import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthHandlerMiddleware, ParsedKey } from 'ssh2';
import type { SshTarget } from '../types.js';
import { SshConnectError } from './errors.js';
import { fileCache } from './file-cache.js';
import { errorMessage, tildify } from './messages.js';

/**
 * Who we are to a server: the ssh.identity key alone when deploy.yaml names one, else the
 * agent, then the default key files, tried in that order.
 */

export interface Credentials {
  methods: AnyAuthMethod[];
  labels: string[]; // parallel to methods, for messages
  encrypted: string[]; // key files skipped because they need a passphrase
  skipped: string[]; // other key files that could not be used, with why
}

export async function loadCredentials(t: SshTarget, home: string, label: string): Promise<Credentials> {
  if (t.explicitIdentity) return explicitIdentity(t, home, label);
  const creds: Credentials = { methods: [], labels: [], encrypted: [], skipped: [] };
  const username = t.user;
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

/** ssh.identity from deploy.yaml: that key and nothing else, or a clear refusal. */
async function explicitIdentity(t: SshTarget, home: string, label: string): Promise<Credentials> {
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
  return { methods: [{ type: 'publickey', username: t.user, key: key.key }], labels: [shown], encrypted: [], skipped: [] };
}

/**
 * ssh2's authHandler over the credentials: each method once, in order, skipping those the
 * server no longer accepts. It remembers the methods the server named, for the error message.
 */
export function credentialOffer(creds: Credentials): { handler: AuthHandlerMiddleware; methodsLeft(): string[] | null } {
  let methodsLeft: string[] | null = null;
  let next = 0;
  const handler: AuthHandlerMiddleware = (left, _partial, cb) => {
    if (left) methodsLeft = left;
    while (next < creds.methods.length) {
      const method = creds.methods[next++] as AnyAuthMethod;
      const kind = method.type === 'agent' ? 'publickey' : method.type;
      if (left && !left.includes(kind)) continue;
      return cb(method);
    }
    return cb(false as never);
  };
  return { handler, methodsLeft: () => methodsLeft };
}

/** Why the server refused every credential, and what to do about it. */
export function authFailure(
  label: string,
  creds: Credentials,
  methodsLeft: string[] | null,
  notes: readonly string[],
  home: string,
): { kind: 'key' | 'auth'; message: string } {
  const methods = methodsLeft && methodsLeft.length > 0 ? methodsLeft.join(',') : 'publickey';
  const tried = creds.labels.length > 0 ? creds.labels.join(', ') : 'nothing';
  let message = `permission denied (${methods}) for ${label}; tried: ${tried}`;
  if (notes.length > 0) message += ` (${notes.join('; ')})`;
  if (creds.skipped.length > 0) message += `; skipped ${creds.skipped.join(', ')}`;
  const encrypted = creds.encrypted[0];
  if (encrypted === undefined) return { kind: 'auth', message };
  return { kind: 'key', message: `${message}; ${encryptedKeyAdvice(tildify(encrypted, home))}` };
}

function encryptedKeyAdvice(file: string): string {
  return `the key ${file} is encrypted: load it into ssh-agent (ssh-add) or set ssh.identity to an unencrypted deploy key`;
}

type KeyFile = { status: 'ok'; key: ParsedKey } | { status: 'missing' } | { status: 'encrypted' } | { status: 'invalid'; message: string };

/** A key file is read and parsed once per run, however many hosts use it. */
const readPrivateKey = fileCache(readPrivateKeyNow);

async function readPrivateKeyNow(file: string): Promise<KeyFile> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    if ((err as { code?: unknown })?.code === 'ENOENT') return { status: 'missing' };
    return { status: 'invalid', message: errorMessage(err) };
  }
  const parsed: ParsedKey | ParsedKey[] | Error = ssh2.utils.parseKey(data);
  if (parsed instanceof Error) {
    if (/encrypted/i.test(parsed.message) && /passphrase/i.test(parsed.message)) return { status: 'encrypted' };
    return { status: 'invalid', message: parsed.message };
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key?.isPrivateKey()) return { status: 'invalid', message: 'not a private key' };
  return { status: 'ok', key };
}
