import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * OpenSSH known_hosts files, read the way `ssh` reads them (sshd(8) "SSH_KNOWN_HOSTS FILE
 * FORMAT"): plain and hashed host names, `[host]:port`, wildcards, negation and markers.
 * Pure: callers read the files and decide what to do with the verdict.
 */

export type KnownHostMarker = 'revoked' | 'cert-authority';

export type HostMatcher = { kind: 'patterns'; patterns: string[] } | { kind: 'hashed'; salt: Buffer; hash: Buffer };

export interface KnownHostEntry {
  marker?: KnownHostMarker;
  hosts: HostMatcher;
  keyType: string;
  key: Buffer; // the raw public key blob
  file: string; // as the user should see it
  line: number; // 1-based
}

export interface KnownKey {
  keyType: string;
  fingerprint: string;
  file: string;
  line: number;
}

export type HostKeyVerdict =
  | { status: 'match'; entry: KnownKey }
  | { status: 'mismatch'; known: KnownKey[] }
  | { status: 'revoked'; entry: KnownKey }
  | { status: 'unknown' };

/** Parses known_hosts text; malformed lines are skipped, as ssh does. */
export function parseKnownHosts(text: string, file = 'known_hosts'): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostMarker | undefined;
    if (fields[0]?.startsWith('@')) {
      const name = fields.shift();
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else return; // unknown marker: ssh ignores the line
    }
    const [hostField, keyType, keyBase64] = fields;
    if (hostField === undefined || keyType === undefined || keyBase64 === undefined) return;
    const key = decodeBase64Strict(keyBase64);
    if (key === undefined || key.length === 0) return;
    const hosts = parseHostField(hostField);
    if (hosts === undefined) return;
    entries.push({ ...(marker ? { marker } : {}), hosts, keyType, key, file, line: index + 1 });
  });
  return entries;
}

/** The name a host has in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(hostname: string, port: number): string {
  const host = hostname.toLowerCase();
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Does this entry's host field cover `name` (as made by knownHostsName)? */
export function entryMatchesHost(entry: Pick<KnownHostEntry, 'hosts'>, name: string): boolean {
  const hosts = entry.hosts;
  if (hosts.kind === 'hashed') {
    const digest = createHmac('sha1', hosts.salt).update(name).digest();
    return digest.length === hosts.hash.length && timingSafeEqual(digest, hosts.hash);
  }
  let matched = false;
  for (const pattern of hosts.patterns) {
    const negated = pattern.startsWith('!');
    const body = (negated ? pattern.slice(1) : pattern).toLowerCase();
    if (!wildcardMatch(name, body)) continue;
    if (negated) return false; // a negated match vetoes the whole entry
    matched = true;
  }
  return matched;
}

/** Checks the key a host presented against every entry for it. */
export function checkHostKey(entries: readonly KnownHostEntry[], hostname: string, port: number, key: Buffer): HostKeyVerdict {
  const name = knownHostsName(hostname, port);
  const relevant = entries.filter((e) => e.marker !== 'cert-authority' && entryMatchesHost(e, name));
  const revoked = relevant.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: knownKey(revoked) };
  const plain = relevant.filter((e) => e.marker === undefined);
  const match = plain.find((e) => e.key.equals(key));
  if (match) return { status: 'match', entry: knownKey(match) };
  if (plain.length > 0) return { status: 'mismatch', known: plain.map(knownKey) };
  return { status: 'unknown' };
}

/** Key types recorded for a host, in file order, without duplicates. */
export function knownKeyTypes(entries: readonly KnownHostEntry[], hostname: string, port: number): string[] {
  const name = knownHostsName(hostname, port);
  const types: string[] = [];
  for (const e of entries) {
    if (e.marker !== undefined || !entryMatchesHost(e, name)) continue;
    if (!types.includes(e.keyType)) types.push(e.keyType);
  }
  return types;
}

/** The key type named at the start of a raw SSH public key blob (a length-prefixed string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return 'unknown';
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The line accept-new appends for a host (plain, not hashed, like `ssh-keyscan`). */
export function formatKnownHostsLine(hostname: string, port: number, blob: Buffer): string {
  return `${knownHostsName(hostname, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}`;
}

/** A hashed host field (`|1|salt|hash`), as `ssh-keygen -H` writes it. */
export function hashHostName(name: string, salt: Buffer): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

// --- messages -------------------------------------------------------------------------

export interface HostKeyContext {
  hostname: string;
  port: number;
  name: string; // display name (deploy.yaml)
  knownHostsFile: string; // where the user should record keys, as they should see it
}

function hostLabel(ctx: HostKeyContext): string {
  const base = `${ctx.hostname}:${ctx.port}`;
  return ctx.name === ctx.hostname ? base : `${base} (${ctx.name})`;
}

export function unknownHostKeyMessage(ctx: HostKeyContext, blob: Buffer): string {
  return (
    `host key for ${hostLabel(ctx)} is not known: ${keyTypeOf(blob)} ${fingerprint(blob)}` +
    ` — to trust it, run: ssh-keyscan -p ${ctx.port} ${ctx.hostname} >> ${ctx.knownHostsFile}` +
    ' (after checking the fingerprint), or set ssh.known_hosts: accept-new'
  );
}

export function mismatchedHostKeyMessage(ctx: HostKeyContext, known: readonly KnownKey[], blob: Buffer): string {
  const expected = known.map((k) => `${k.keyType} ${k.fingerprint} (${k.file}:${k.line})`).join(', ');
  return (
    `HOST KEY MISMATCH for ${hostLabel(ctx)}: expected one of ${expected}, got ${keyTypeOf(blob)} ${fingerprint(blob)}` +
    ' — someone may be intercepting, or the host was reinstalled. If you know it was reinstalled,' +
    ` remove the old key (ssh-keygen -R '${knownHostsName(ctx.hostname, ctx.port)}' -f ${ctx.knownHostsFile}) and check the new fingerprint`
  );
}

export function revokedHostKeyMessage(ctx: HostKeyContext, entry: KnownKey): string {
  return (
    `host key for ${hostLabel(ctx)} is REVOKED (@revoked in ${entry.file}:${entry.line}):` + ` ${entry.keyType} ${entry.fingerprint} — refusing to connect`
  );
}

// --- internals ------------------------------------------------------------------------

function knownKey(e: KnownHostEntry): KnownKey {
  return { keyType: e.keyType, fingerprint: fingerprint(e.key), file: e.file, line: e.line };
}

function parseHostField(field: string): HostMatcher | undefined {
  if (field.startsWith('|')) {
    const parts = field.split('|'); // ['', '1', salt, hash]
    if (parts.length !== 4 || parts[1] !== '1') return undefined;
    const salt = decodeBase64Strict(parts[2] ?? '');
    const hash = decodeBase64Strict(parts[3] ?? '');
    if (!salt || !hash || hash.length !== 20) return undefined;
    return { kind: 'hashed', salt, hash };
  }
  const patterns = field.split(',').filter((p) => p !== '' && p !== '!');
  return patterns.length > 0 ? { kind: 'patterns', patterns } : undefined;
}

function decodeBase64Strict(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

/** OpenSSH match_pattern: `*` any run of characters, `?` exactly one; the rest literal. */
export function wildcardMatch(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    const pc = pattern[p];
    if (pc === '*') {
      starP = p++;
      starT = t;
    } else if (pc !== undefined && (pc === '?' || pc === text[t])) {
      p++;
      t++;
    } else if (starP !== -1) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}
