import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkHostKey,
  entryMatchesHost,
  fingerprint,
  formatKnownHostsLine,
  hashHostName,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
  mismatchedHostKeyMessage,
  parseKnownHosts,
  unknownHostKeyMessage,
  wildcardMatch,
} from '../../src/transport/ssh/known-hosts.js';
import { createHostKeyGate } from '../../src/transport/ssh/host-keys.js';

/** A syntactically valid key blob: length-prefixed type, then some bytes. */
function blob(type: string, seed = randomBytes(32)): Buffer {
  const t = Buffer.from(type);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(t.length);
  const klen = Buffer.alloc(4);
  klen.writeUInt32BE(seed.length);
  return Buffer.concat([len, t, klen, seed]);
}

const ed = blob('ssh-ed25519');
const ed2 = blob('ssh-ed25519');
const rsa = blob('ssh-rsa');
const line = (hosts: string, key: Buffer) => `${hosts} ${keyTypeOf(key)} ${key.toString('base64')}`;

const tmp = mkdtempSync(join(tmpdir(), 'ship-kh-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('known_hosts parsing and lookup', () => {
  it('matches a plain entry on port 22 and only there', () => {
    const entries = parseKnownHosts(line('web1.example.com', ed));
    expect(checkHostKey(entries, 'web1.example.com', 22, ed).status).toBe('match');
    expect(checkHostKey(entries, 'WEB1.example.com', 22, ed).status).toBe('match');
    expect(checkHostKey(entries, 'web1.example.com', 2222, ed).status).toBe('unknown');
    expect(checkHostKey(entries, 'web2.example.com', 22, ed).status).toBe('unknown');
  });

  it('uses [host]:port for other ports', () => {
    const entries = parseKnownHosts(line('[127.0.0.1]:2222', ed));
    expect(checkHostKey(entries, '127.0.0.1', 2222, ed).status).toBe('match');
    expect(checkHostKey(entries, '127.0.0.1', 22, ed).status).toBe('unknown');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
    expect(knownHostsName('Web1', 22)).toBe('web1');
  });

  it('reads comma lists, comments, blank and malformed lines', () => {
    const text = [
      '# comment',
      '',
      line('a.example.com,b.example.com,10.0.0.1', ed),
      'garbage-line-without-key',
      'host ssh-ed25519 !!!notbase64',
      `${line('c.example.com', rsa)} a trailing comment`,
    ].join('\n');
    const entries = parseKnownHosts(text, '~/.ssh/known_hosts');
    expect(entries).toHaveLength(2);
    expect(entries[1]?.line).toBe(6);
    expect(checkHostKey(entries, 'b.example.com', 22, ed).status).toBe('match');
    expect(checkHostKey(entries, '10.0.0.1', 22, ed).status).toBe('match');
    expect(checkHostKey(entries, 'c.example.com', 22, rsa).status).toBe('match');
  });

  it('matches hashed entries made with HMAC-SHA1', () => {
    const hashed = hashHostName('web1.example.com', randomBytes(20));
    const hashedPort = hashHostName('[web1.example.com]:2222', randomBytes(20));
    const entries = parseKnownHosts([line(hashed, ed), line(hashedPort, rsa)].join('\n'));
    expect(checkHostKey(entries, 'web1.example.com', 22, ed).status).toBe('match');
    expect(checkHostKey(entries, 'web1.example.com', 2222, rsa).status).toBe('match');
    expect(checkHostKey(entries, 'web2.example.com', 22, ed).status).toBe('unknown');
  });

  it('matches entries hashed by ssh-keygen -H', () => {
    const file = join(tmp, 'known_hosts');
    writeFileSync(file, `${[line('web1.example.com', ed), line('[127.0.1.2]:2200', ed2)].join('\n')}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('web1.example.com');
    const entries = parseKnownHosts(text);
    expect(entries.every((e) => e.hosts.kind === 'hashed')).toBe(true);
    expect(checkHostKey(entries, 'web1.example.com', 22, ed).status).toBe('match');
    expect(checkHostKey(entries, '127.0.1.2', 2200, ed2).status).toBe('match');
    expect(checkHostKey(entries, '127.0.1.2', 22, ed2).status).toBe('unknown');
  });

  it('supports wildcards and negation', () => {
    const entries = parseKnownHosts(line('*.example.com,!secret.example.com,db?.internal', ed));
    expect(checkHostKey(entries, 'web1.example.com', 22, ed).status).toBe('match');
    expect(checkHostKey(entries, 'secret.example.com', 22, ed).status).toBe('unknown');
    expect(checkHostKey(entries, 'db1.internal', 22, ed).status).toBe('match');
    expect(checkHostKey(entries, 'db12.internal', 22, ed).status).toBe('unknown');
    // like ssh: a plain wildcard does not cover [host]:port names
    expect(checkHostKey(entries, 'web1.example.com', 2222, ed).status).toBe('unknown');
    expect(entryMatchesHost({ hosts: { kind: 'patterns', patterns: ['[*.example.com]:2222'] } }, '[web1.example.com]:2222')).toBe(true);
  });

  it('wildcardMatch follows match_pattern', () => {
    expect(wildcardMatch('abc', 'a*c')).toBe(true);
    expect(wildcardMatch('ac', 'a*c')).toBe(true);
    expect(wildcardMatch('abcd', 'a*c')).toBe(false);
    expect(wildcardMatch('abc', '???')).toBe(true);
    expect(wildcardMatch('abc', '*')).toBe(true);
    expect(wildcardMatch('a.b', 'a?b')).toBe(true);
    expect(wildcardMatch('axxbyyc', 'a*b*c')).toBe(true);
  });

  it('refuses a revoked key even when a plain line lists it', () => {
    const entries = parseKnownHosts([line('web1', ed), `@revoked ${line('*', ed)}`].join('\n'));
    const verdict = checkHostKey(entries, 'web1', 22, ed);
    expect(verdict.status).toBe('revoked');
    expect(checkHostKey(entries, 'web1', 22, ed2).status).toBe('mismatch');
  });

  it('ignores @cert-authority lines and unknown markers', () => {
    const entries = parseKnownHosts([`@cert-authority ${line('*.example.com', ed)}`, `@bogus ${line('web1.example.com', ed)}`].join('\n'));
    expect(entries).toHaveLength(1);
    expect(checkHostKey(entries, 'web1.example.com', 22, ed).status).toBe('unknown');
  });

  it('reports a mismatch with the known key types', () => {
    const entries = parseKnownHosts([line('web1', ed), line('web1', rsa)].join('\n'), '~/.ssh/known_hosts');
    const verdict = checkHostKey(entries, 'web1', 22, ed2);
    expect(verdict.status).toBe('mismatch');
    if (verdict.status !== 'mismatch') return;
    expect(verdict.known.map((k) => k.keyType)).toEqual(['ssh-ed25519', 'ssh-rsa']);
    expect(knownKeyTypes(entries, 'web1', 22)).toEqual(['ssh-ed25519', 'ssh-rsa']);
    const msg = mismatchedHostKeyMessage({ hostname: 'web1', port: 22, name: 'web1', knownHostsFile: '~/.ssh/known_hosts' }, verdict.known, ed2);
    expect(msg).toContain('HOST KEY MISMATCH for web1:22');
    expect(msg).toContain(`expected one of ssh-ed25519 ${fingerprint(ed)} (~/.ssh/known_hosts:1)`);
    expect(msg).toContain(`got ssh-ed25519 ${fingerprint(ed2)}`);
    expect(msg).toContain('someone may be intercepting, or the host was reinstalled');
  });
});

describe('fingerprints and new lines', () => {
  it('computes the same SHA256 fingerprint as ssh-keygen -l', () => {
    const keyFile = join(tmp, 'id_test');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    const pub = readFileSync(`${keyFile}.pub`, 'utf8').trim().split(' ');
    const keyBlob = Buffer.from(pub[1] ?? '', 'base64');
    const expected = execFileSync('ssh-keygen', ['-l', '-f', `${keyFile}.pub`], { encoding: 'utf8' }).split(' ')[1];
    expect(fingerprint(keyBlob)).toBe(expected);
    expect(fingerprint(keyBlob)).not.toContain('=');
    expect(keyTypeOf(keyBlob)).toBe('ssh-ed25519');
  });

  it('formats accept-new lines plain, with [host]:port off port 22', () => {
    expect(formatKnownHostsLine('Web1.Example.com', 22, ed)).toBe(`web1.example.com ssh-ed25519 ${ed.toString('base64')}`);
    expect(formatKnownHostsLine('127.0.1.2', 2222, ed)).toBe(`[127.0.1.2]:2222 ssh-ed25519 ${ed.toString('base64')}`);
    const reparsed = parseKnownHosts(formatKnownHostsLine('127.0.1.2', 2222, ed));
    expect(checkHostKey(reparsed, '127.0.1.2', 2222, ed).status).toBe('match');
  });

  it('explains an unknown key with the fingerprint and the fix', () => {
    const msg = unknownHostKeyMessage({ hostname: '127.0.1.2', port: 22, name: 'host2', knownHostsFile: '~/.ssh/known_hosts' }, ed);
    expect(msg).toBe(
      `host key for 127.0.1.2:22 (host2) is not known: ssh-ed25519 ${fingerprint(ed)}` +
        ' — to trust it, run: ssh-keyscan -p 22 127.0.1.2 >> ~/.ssh/known_hosts (after checking the fingerprint),' +
        ' or set ssh.known_hosts: accept-new',
    );
  });

  it('keyTypeOf survives garbage', () => {
    expect(keyTypeOf(Buffer.alloc(2))).toBe('unknown');
    expect(keyTypeOf(Buffer.from([0, 0, 0, 200, 1, 2]))).toBe('unknown');
  });
});

describe('host key gate (the policy the handshake asks)', () => {
  const target = (knownHosts: 'strict' | 'accept-new' | 'off') => ({ name: 'web1', hostname: '10.0.0.1', port: 22, knownHosts });
  const entries = parseKnownHosts([line('10.0.0.1', ed), line('10.0.0.1', rsa)].join('\n'), '~/.ssh/known_hosts');

  it('strict: accepts a known key, refuses unknown hosts and changed keys', () => {
    expect(createHostKeyGate(target('strict'), entries, '~/.ssh/known_hosts').verify(ed)).toBe(true);
    const unknown = createHostKeyGate(target('strict'), [], '~/.ssh/known_hosts');
    expect(unknown.verify(ed)).toBe(false);
    expect(unknown.refusal).toContain('is not known');
    expect(unknown.toRecord).toBeUndefined();
    const changed = createHostKeyGate(target('strict'), entries, '~/.ssh/known_hosts');
    expect(changed.verify(ed2)).toBe(false);
    expect(changed.refusal).toContain('HOST KEY MISMATCH');
  });

  it('accept-new: records unknown hosts, still refuses changed keys', () => {
    const fresh = createHostKeyGate(target('accept-new'), [], 'x');
    expect(fresh.verify(ed)).toBe(true);
    expect(fresh.toRecord).toBe(formatKnownHostsLine('10.0.0.1', 22, ed));
    const changed = createHostKeyGate(target('accept-new'), entries, 'x');
    expect(changed.verify(ed2)).toBe(false);
    expect(changed.toRecord).toBeUndefined();
  });

  it('off: accepts anything; a re-key must present the same key', () => {
    const gate = createHostKeyGate(target('off'), entries, 'x');
    expect(gate.verify(ed2)).toBe(true);
    expect(gate.verify(ed2)).toBe(true);
    expect(gate.verify(ed)).toBe(false);
    expect(gate.preferredAlgorithms).toEqual([]);
  });

  it('asks first for the key types already known', () => {
    expect(createHostKeyGate(target('strict'), entries, 'x').preferredAlgorithms).toEqual(['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
  });
});
