import { describe, expect, it } from 'vitest';
import { applyAlgorithmSpec } from '../../src/transport/ssh/algorithms.js';
import { sessionRefused } from '../../src/transport/ssh/messages.js';

const lists = {
  defaults: ['curve25519-sha256', 'ecdh-sha2-nistp256', 'diffie-hellman-group14-sha256'],
  supported: ['curve25519-sha256', 'ecdh-sha2-nistp256', 'diffie-hellman-group14-sha256', 'diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1'],
};

describe('applyAlgorithmSpec (OpenSSH list syntax over the library defaults)', () => {
  it('+ appends, ^ puts first, - removes, a plain list replaces', () => {
    expect(applyAlgorithmSpec('+diffie-hellman-group14-sha1', lists, true)).toEqual({ ok: true, list: [...lists.defaults, 'diffie-hellman-group14-sha1'] });
    expect(applyAlgorithmSpec('^diffie-hellman-group14-sha1,curve25519-sha256', lists, true)).toEqual({
      ok: true,
      list: ['diffie-hellman-group14-sha1', 'curve25519-sha256', 'ecdh-sha2-nistp256', 'diffie-hellman-group14-sha256'],
    });
    expect(applyAlgorithmSpec('-ecdh-*', lists, true)).toEqual({ ok: true, list: ['curve25519-sha256', 'diffie-hellman-group14-sha256'] });
    expect(applyAlgorithmSpec('diffie-hellman-group1*-sha1', lists, true)).toEqual({
      ok: true,
      list: ['diffie-hellman-group14-sha1', 'diffie-hellman-group1-sha1'],
    });
  });

  it('a name the library lacks is an error from deploy.yaml, skipped from ~/.ssh/config', () => {
    const r = applyAlgorithmSpec('+sntrup761x25519-sha512@openssh.com', lists, true);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problem).toMatch(
      /"sntrup761x25519-sha512@openssh.com" is not an algorithm ship's SSH library supports \(it supports: curve25519-sha256, /,
    );
    expect(applyAlgorithmSpec('sntrup761x25519-sha512@openssh.com,curve25519-sha256', lists, false)).toEqual({ ok: true, list: ['curve25519-sha256'] });
  });

  it('a list left empty is an error either way', () => {
    expect(applyAlgorithmSpec('sntrup761x25519-sha512@openssh.com', lists, false)).toEqual({
      ok: false,
      problem: '"sntrup761x25519-sha512@openssh.com" leaves no algorithm ship\'s SSH library supports',
    });
    expect(applyAlgorithmSpec('-*', lists, true).ok).toBe(false);
  });
});

describe('sessionRefused', () => {
  it('names MaxSessions when the server refuses a channel', () => {
    expect(sessionRefused(new Error('(SSH) Channel open failure: open failed'))).toBe(
      '(SSH) Channel open failure: open failed (the server refused another session on this connection: MaxSessions in its sshd_config?)',
    );
    expect(sessionRefused(new Error('other'))).toBe('other');
  });
});
