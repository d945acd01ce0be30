import { describe, expect, it } from 'vitest';
import { buildSshTarget, parseJumpSpec, resolveSshConfig, type SshTargetEnv } from '../../src/transport/ssh/config.js';

const home = '/home/alice';

const CONFIG = `
# global defaults come first in many files
Host web1 web1.example.com
  HostName 10.0.0.11
  User deploy
  Port 2222
  IdentityFile ~/.ssh/deploy_key

Host web*  !web9
    user=ops
    IdentityFile "~/.ssh/with space"
    ProxyJump bastion@jump.example.com:2200,second.example.com

Match host web1 exec "false"
  User matchuser
  HostName 6.6.6.6

Include ~/.ssh/config.d/*

HOST db?
  HOSTNAME %h.internal.example.com
  PORT = 2200
  IdentityFile %d/.ssh/db_%h

Host nojump
  ProxyJump none

Host *
  User fallback
  ProxyJump everyone@bastion.example.com
  IdentityFile ~/.ssh/id_all   # trailing comment
`;

describe('resolveSshConfig', () => {
  it('takes the first value per keyword across matching blocks', () => {
    const r = resolveSshConfig(CONFIG, 'web1', { homedir: home });
    expect(r.hostname).toBe('10.0.0.11');
    expect(r.user).toBe('deploy'); // not ops (second block), not matchuser (Match skipped)
    expect(r.port).toBe(2222);
    expect(r.proxyJump).toBe('bastion@jump.example.com:2200'); // first hop only
  });

  it('accumulates IdentityFile in order and expands ~ and tokens', () => {
    const r = resolveSshConfig(CONFIG, 'web1', { homedir: home });
    expect(r.identityFiles).toEqual(['/home/alice/.ssh/deploy_key', '/home/alice/.ssh/with space', '/home/alice/.ssh/id_all']);
  });

  it('honours wildcards and negation in Host lines', () => {
    const web2 = resolveSshConfig(CONFIG, 'web2', { homedir: home });
    expect(web2.user).toBe('ops');
    expect(web2.hostname).toBeUndefined();
    const web9 = resolveSshConfig(CONFIG, 'web9', { homedir: home });
    expect(web9.user).toBe('fallback');
    expect(web9.proxyJump).toBe('everyone@bastion.example.com');
  });

  it('expands %h and %d; keywords are case-insensitive; = separators work', () => {
    const r = resolveSshConfig(CONFIG, 'db1', { homedir: home });
    expect(r.hostname).toBe('db1.internal.example.com');
    expect(r.port).toBe(2200);
    expect(r.identityFiles[0]).toBe('/home/alice/.ssh/db_db1.internal.example.com');
  });

  it('ProxyJump none blocks later values', () => {
    const r = resolveSshConfig(CONFIG, 'nojump', { homedir: home });
    expect(r.proxyJump).toBeUndefined();
    expect(r.user).toBe('fallback');
  });

  it('returns nothing for an unknown host and an empty file', () => {
    expect(resolveSshConfig('', 'x', { homedir: home })).toEqual({ identityFiles: [] });
  });

  it('applies lines before the first Host to every host, and Match all', () => {
    const text = 'User early\nMatch all\n  Port 2201\nHost x\n  User late\n';
    expect(resolveSshConfig(text, 'x', { homedir: home })).toEqual({ user: 'early', port: 2201, identityFiles: [] });
  });
});

describe('parseJumpSpec', () => {
  it('reads [user@]host[:port] forms', () => {
    expect(parseJumpSpec('bastion.example.com')).toEqual({ host: 'bastion.example.com' });
    expect(parseJumpSpec('ops@bastion:2200')).toEqual({ user: 'ops', host: 'bastion', port: 2200 });
    expect(parseJumpSpec('ssh://ops@bastion:2200')).toEqual({ user: 'ops', host: 'bastion', port: 2200 });
    expect(parseJumpSpec('[::1]:2200')).toEqual({ host: '::1', port: 2200 });
  });
});

describe('buildSshTarget', () => {
  const existing = new Set(['/home/alice/.ssh/id_rsa', '/home/alice/.ssh/deploy_key', '/home/alice/.ssh/id_all']);
  const env = (over: Partial<SshTargetEnv> = {}): SshTargetEnv => ({
    homedir: home,
    username: 'alice',
    fileExists: (p) => existing.has(p),
    ...over,
  });
  const base = { knownHosts: 'strict' as const, connectTimeoutMs: 10_000, keepaliveMs: 15_000 };

  it('falls back to the defaults without any ssh config', () => {
    const t = buildSshTarget({ name: 'web1', hostname: 'web1.example.com', ...base }, env());
    expect(t).toEqual({
      name: 'web1',
      hostname: 'web1.example.com',
      port: 22,
      user: 'alice',
      identityFiles: ['/home/alice/.ssh/id_rsa'], // id_ed25519 does not exist
      explicitIdentity: false,
      knownHosts: 'strict',
      knownHostsFiles: ['/home/alice/.ssh/known_hosts'],
      connectTimeoutMs: 10_000,
      keepaliveMs: 15_000,
    });
  });

  it('uses ~/.ssh/config over the defaults', () => {
    const t = buildSshTarget({ name: 'web1', hostname: 'web1', ...base }, env({ sshConfigText: CONFIG, SSH_AUTH_SOCK: '/tmp/agent.sock' }));
    expect(t.hostname).toBe('10.0.0.11');
    expect(t.user).toBe('deploy');
    expect(t.port).toBe(2222);
    expect(t.identityFiles).toEqual(['/home/alice/.ssh/deploy_key', '/home/alice/.ssh/id_all']); // existing only
    expect(t.agent).toBe('/tmp/agent.sock');
    expect(t.jump).toMatchObject({ name: 'jump.example.com', hostname: 'jump.example.com', user: 'bastion', port: 2200 });
    expect(t.jump?.jump).toBeUndefined();
  });

  it('uses deploy.yaml values over ~/.ssh/config', () => {
    const t = buildSshTarget(
      { name: 'web1', hostname: 'web1', user: 'root', port: 22, identity: '~/.ssh/ci_key', jump: 'gw:2022', ...base },
      env({ sshConfigText: CONFIG }),
    );
    expect(t.hostname).toBe('10.0.0.11'); // the alias still maps to its HostName
    expect(t.user).toBe('root');
    expect(t.port).toBe(22);
    expect(t.identityFiles).toEqual(['/home/alice/.ssh/ci_key']);
    expect(t.explicitIdentity).toBe(true);
    // the jump is resolved through ~/.ssh/config too (Host * gives it a user) and may use the deploy key after the agent
    expect(t.jump).toMatchObject({ hostname: 'gw', port: 2022, user: 'fallback', explicitIdentity: false });
    expect(t.jump?.identityFiles).toEqual(['/home/alice/.ssh/ci_key', '/home/alice/.ssh/id_all']);
  });

  it('reads SHIP_KNOWN_HOSTS first so accept-new records there', () => {
    const t = buildSshTarget(
      { name: 'a', hostname: 'a', ...base },
      env({ SHIP_KNOWN_HOSTS: '/ci/known_hosts::~/more_hosts', fileExists: (p) => p === '/etc/ssh/ssh_known_hosts' }),
    );
    expect(t.knownHostsFiles).toEqual(['/ci/known_hosts', '/home/alice/more_hosts', '/home/alice/.ssh/known_hosts', '/etc/ssh/ssh_known_hosts']);
    expect(t.identityFiles).toEqual([]);
  });
});

describe('resolveSshConfig: Include, Match and algorithms', () => {
  const files: Record<string, string> = {
    '/home/alice/.ssh/config.d/10-old': 'Host legacy*\n  KexAlgorithms +diffie-hellman-group14-sha1\n  HostKeyAlgorithms +ssh-rsa\n',
    '/home/alice/.ssh/config.d/20-all': 'Host *\n  Ciphers -aes128-cbc\n  User fromdir\n',
    '/etc/ssh/extra': 'Port 2022\n',
  };
  const readInclude = (pattern: string): { path: string; text: string }[] =>
    Object.keys(files)
      .filter((p) => p === pattern || (pattern.endsWith('/*') && p.startsWith(pattern.slice(0, -1))))
      .sort()
      .map((p) => ({ path: p, text: files[p] as string }));
  const opts = { homedir: home, localUser: 'alice', readInclude };

  it('reads the files an Include names, relative to ~/.ssh, in order, where the Include stands', () => {
    const text = 'Include config.d/*\nHost legacy1\n  Include /etc/ssh/extra\nHost *\n  User late\n  KexAlgorithms curve25519-sha256\n';
    expect(resolveSshConfig(text, 'legacy1', opts)).toEqual({
      port: 2022,
      user: 'fromdir',
      identityFiles: [],
      algorithms: { kex: '+diffie-hellman-group14-sha1', hostKey: '+ssh-rsa', cipher: '-aes128-cbc' },
    });
    // the Include inside a Host block that does not apply is not read
    expect(resolveSshConfig(text, 'other', opts)).toEqual({
      user: 'fromdir',
      identityFiles: [],
      algorithms: { kex: 'curve25519-sha256', cipher: '-aes128-cbc' },
    });
  });

  it('evaluates Match host, originalhost, user, localuser and !negation; skips exec', () => {
    const text = [
      'Host short',
      '  HostName long.example.com',
      'Match host *.example.com !localuser bob',
      '  Port 2201',
      'Match originalhost short user deploy',
      '  IdentityFile ~/.ssh/deploy_%r_%u_%n',
      'Match exec "true"',
      '  User fromexec',
      'Match all',
      '  KexAlgorithms ^diffie-hellman-group14-sha1',
    ].join('\n');
    expect(resolveSshConfig(text, 'short', { ...opts, user: 'deploy' })).toEqual({
      hostname: 'long.example.com',
      port: 2201,
      identityFiles: ['/home/alice/.ssh/deploy_deploy_alice_short'],
      algorithms: { kex: '^diffie-hellman-group14-sha1' },
    });
    expect(resolveSshConfig(text, 'short', { ...opts, localUser: 'bob', user: 'ops' })).toEqual({
      hostname: 'long.example.com',
      identityFiles: [],
      algorithms: { kex: '^diffie-hellman-group14-sha1' },
    });
  });

  it('deploy.yaml algorithms win over ~/.ssh/config per kind, and reach the jump host', () => {
    const t = buildSshTarget(
      {
        name: 'legacy1',
        hostname: 'legacy1',
        jump: 'gw',
        algorithms: { kex: 'diffie-hellman-group1-sha1' },
        knownHosts: 'strict',
        connectTimeoutMs: 1000,
        keepaliveMs: 1000,
      },
      { homedir: home, username: 'alice', sshConfigText: 'Include config.d/*', readInclude, fileExists: () => false },
    );
    expect(t.algorithms).toEqual({
      kex: { spec: 'diffie-hellman-group1-sha1', from: 'deploy.yaml' },
      hostKey: { spec: '+ssh-rsa', from: '~/.ssh/config' },
      cipher: { spec: '-aes128-cbc', from: '~/.ssh/config' },
    });
    expect(t.jump?.algorithms).toEqual({
      kex: { spec: 'diffie-hellman-group1-sha1', from: 'deploy.yaml' },
      cipher: { spec: '-aes128-cbc', from: '~/.ssh/config' },
    });
  });
});
