import { posix as path } from 'node:path';
import type { SshTarget } from '../types.js';
import { wildcardMatch } from './known-hosts.js';
import { ALGORITHM_KINDS, type AlgorithmKind, type AlgorithmSpecs } from './algorithms.js';

/**
 * The part of ~/.ssh/config (ssh_config(5)) that decides where, as whom and how ship
 * connects: HostName, User, Port, IdentityFile, ProxyJump, and the algorithm lists
 * KexAlgorithms, HostKeyAlgorithms, Ciphers, MACs. Pure: the caller reads the files.
 *
 * Semantics follow OpenSSH: lines before the first Host apply to every host; a Host line
 * applies when one of its patterns matches the alias and none of its `!patterns` does; the
 * first value obtained for a keyword wins, except IdentityFile, which accumulates.
 * `Include` reads the files it names (relative to ~/.ssh, globs allowed), where it stands:
 * inside a Host or Match block only when that block applies. `Match` understands `all`,
 * `host`, `originalhost`, `user` and `localuser` (each may be negated with `!`); a Match
 * block with `exec` or anything else is skipped.
 */

export interface ResolvedSshConfig {
  hostname?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  proxyJump?: string; // first hop only; absent for `none`
  algorithms?: AlgorithmSpecs;
}

export interface SshConfigOptions {
  homedir: string;
  /** The local user name (%u, Match localuser). */
  localUser?: string;
  /** The login user when deploy.yaml sets one (Match user). */
  user?: string;
  /** The files an Include names, already glob-expanded and sorted: absolute path and text. */
  readInclude?(pattern: string): { path: string; text: string }[];
}

const ALGORITHM_KEYWORDS: Record<string, AlgorithmKind> = {
  kexalgorithms: 'kex',
  hostkeyalgorithms: 'hostKey',
  ciphers: 'cipher',
  macs: 'mac',
};

const MAX_INCLUDE_DEPTH = 16; // as OpenSSH's READCONF_MAX_DEPTH

export function resolveSshConfig(text: string, alias: string, opts: SshConfigOptions): ResolvedSshConfig {
  const host = alias.toLowerCase();
  let hostname: string | undefined;
  let user: string | undefined;
  let port: number | undefined;
  let proxyJump: string | undefined; // 'none' kept until the end so it still blocks later values
  const identityFiles: string[] = [];
  const algorithms: AlgorithmSpecs = {};

  const matchApplies = (args: string[]): boolean => {
    const criteria: { negated: boolean; name: string; value: string }[] = [];
    for (let i = 0; i < args.length; i++) {
      const raw = (args[i] ?? '').toLowerCase();
      const negated = raw.startsWith('!');
      const name = negated ? raw.slice(1) : raw;
      if (name === 'all' || name === 'canonical' || name === 'final') {
        criteria.push({ negated, name, value: '' });
        continue;
      }
      criteria.push({ negated, name, value: args[++i] ?? '' });
    }
    return criteria.every(({ negated, name, value }) => {
      let result: boolean;
      switch (name) {
        case 'all':
        case 'final': // ship resolves once, as ssh's final pass
          result = true;
          break;
        case 'canonical':
          result = false; // ship does no host name canonicalisation
          break;
        case 'host':
          result = listMatches((hostname === undefined ? alias : expandTokens(hostname, { h: alias })).toLowerCase(), value);
          break;
        case 'originalhost':
          result = listMatches(host, value);
          break;
        case 'user':
          result = listMatches(opts.user ?? user ?? opts.localUser ?? '', value);
          break;
        case 'localuser':
          result = listMatches(opts.localUser ?? '', value);
          break;
        default:
          return false; // exec, tagged, localnetwork...: not evaluated, the block is skipped
      }
      return negated ? !result : result;
    });
  };

  const walk = (configText: string, depth: number): void => {
    let active = true;
    for (const raw of configText.split(/\r?\n/)) {
      const parsed = parseLine(raw);
      if (!parsed) continue;
      const { keyword, args } = parsed;
      if (keyword === 'host') {
        active = hostPatternsMatch(host, args);
        continue;
      }
      if (keyword === 'match') {
        active = matchApplies(args);
        continue;
      }
      if (!active) continue;
      if (keyword === 'include') {
        if (depth >= MAX_INCLUDE_DEPTH || !opts.readInclude) continue;
        for (const pattern of args) {
          const expanded = expandHome(pattern, opts.homedir);
          const full = expanded.startsWith('/') ? expanded : path.join(opts.homedir, '.ssh', expanded);
          for (const file of opts.readInclude(full)) walk(file.text, depth + 1);
        }
        continue;
      }
      const value = args[0];
      if (value === undefined) continue;
      const kind = ALGORITHM_KEYWORDS[keyword];
      if (kind !== undefined) {
        algorithms[kind] ??= value;
        continue;
      }
      switch (keyword) {
        case 'hostname':
          hostname ??= value;
          break;
        case 'user':
          user ??= value;
          break;
        case 'port':
          if (port === undefined && /^\d+$/.test(value)) {
            const n = Number(value);
            if (n >= 1 && n <= 65535) port = n;
          }
          break;
        case 'identityfile':
          if (value.toLowerCase() !== 'none') identityFiles.push(value);
          break;
        case 'proxyjump':
          proxyJump ??= value.split(',')[0]?.trim() ?? 'none';
          break;
        default:
          break; // everything else: not ours
      }
    }
  };
  walk(text, 0);

  const finalHost = hostname === undefined ? alias : expandTokens(hostname, { h: alias });
  const tokens: Record<string, string> = {
    h: finalHost,
    n: alias,
    d: opts.homedir,
    p: String(port ?? 22),
    ...(opts.localUser !== undefined ? { u: opts.localUser } : {}),
    ...((opts.user ?? user) !== undefined ? { r: (opts.user ?? user) as string } : {}),
  };
  const result: ResolvedSshConfig = {
    identityFiles: identityFiles.map((f) => expandHome(expandTokens(f, tokens), opts.homedir)),
  };
  if (hostname !== undefined) result.hostname = finalHost;
  if (user !== undefined) result.user = expandTokens(user, tokens);
  if (port !== undefined) result.port = port;
  if (proxyJump !== undefined && proxyJump.toLowerCase() !== 'none' && proxyJump !== '') result.proxyJump = expandTokens(proxyJump, tokens);
  if (Object.keys(algorithms).length > 0) result.algorithms = algorithms;
  return result;
}

export interface SshTargetInput {
  name: string; // display name, as in deploy.yaml
  hostname: string; // as written in deploy.yaml: may be an ~/.ssh/config alias
  user?: string;
  port?: number;
  identity?: string;
  jump?: string; // [user@]host[:port]
  algorithms?: AlgorithmSpecs; // deploy.yaml's ssh.algorithms: win over ~/.ssh/config's
  knownHosts: SshTarget['knownHosts'];
  connectTimeoutMs: number;
  keepaliveMs: number;
}

export interface SshTargetEnv {
  homedir: string;
  username: string; // the local user: the default remote user, as with ssh
  sshConfigText?: string;
  /** The files an ~/.ssh/config Include names (absolute pattern, globs expanded), sorted. */
  readInclude?(pattern: string): { path: string; text: string }[];
  SSH_AUTH_SOCK?: string;
  SHIP_KNOWN_HOSTS?: string; // colon-separated paths, read first; the first one is written
  fileExists(p: string): boolean;
}

const DEFAULT_IDENTITIES = ['.ssh/id_ed25519', '.ssh/id_rsa'];

/**
 * Resolves how to reach one host: deploy.yaml values win over ~/.ssh/config, which wins
 * over the defaults (the local user name, port 22, ~/.ssh/id_ed25519 then ~/.ssh/id_rsa).
 * The jump host is resolved the same way (its own jump is not followed); it may use the
 * deploy.yaml identity too, after the agent.
 */
export function buildSshTarget(input: SshTargetInput, env: SshTargetEnv): SshTarget {
  const target = resolveOne(input, env);
  const jumpSpec = input.jump ?? resolveSshConfig(env.sshConfigText ?? '', input.hostname, configOptions(input, env)).proxyJump;
  if (jumpSpec !== undefined && jumpSpec.toLowerCase() !== 'none') {
    const hop = parseJumpSpec(jumpSpec);
    const jump = resolveOne(
      {
        name: hop.host,
        hostname: hop.host,
        ...(hop.user !== undefined ? { user: hop.user } : {}),
        ...(hop.port !== undefined ? { port: hop.port } : {}),
        ...(input.algorithms !== undefined ? { algorithms: input.algorithms } : {}),
        knownHosts: input.knownHosts,
        connectTimeoutMs: input.connectTimeoutMs,
        keepaliveMs: input.keepaliveMs,
      },
      env,
    );
    if (input.identity !== undefined) {
      const identity = expandHome(input.identity, env.homedir);
      jump.identityFiles = [identity, ...jump.identityFiles.filter((f) => f !== identity)];
    }
    target.jump = jump;
  }
  return target;
}

/** `[user@]host[:port]`, `[user@][v6addr]:port` or `ssh://[user@]host[:port]`. */
export function parseJumpSpec(spec: string): { user?: string; host: string; port?: number } {
  let rest = spec
    .trim()
    .replace(/^ssh:\/\//, '')
    .replace(/\/$/, '');
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let host = rest;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  const plain = /^([^:]+):(\d+)$/.exec(rest);
  if (bracketed) {
    host = bracketed[1] ?? rest;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (plain) {
    host = plain[1] ?? rest;
    port = Number(plain[2]);
  }
  return { ...(user ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

export function expandHome(p: string, homedir: string): string {
  if (p === '~') return homedir;
  if (p.startsWith('~/')) return path.join(homedir, p.slice(2));
  return p;
}

// --- internals ------------------------------------------------------------------------

function configOptions(input: SshTargetInput, env: SshTargetEnv): SshConfigOptions {
  return {
    homedir: env.homedir,
    localUser: env.username,
    ...(input.user !== undefined ? { user: input.user } : {}),
    ...(env.readInclude ? { readInclude: env.readInclude } : {}),
  };
}

/** Per algorithm kind: deploy.yaml's spec, else ~/.ssh/config's, with where it came from. */
function algorithmChoices(fromYaml: AlgorithmSpecs | undefined, fromSshConfig: AlgorithmSpecs | undefined): SshTarget['algorithms'] {
  const chosen: NonNullable<SshTarget['algorithms']> = {};
  for (const kind of ALGORITHM_KINDS) {
    const yaml = fromYaml?.[kind];
    const sshConfig = fromSshConfig?.[kind];
    if (yaml !== undefined) chosen[kind] = { spec: yaml, from: 'deploy.yaml' };
    else if (sshConfig !== undefined) chosen[kind] = { spec: sshConfig, from: '~/.ssh/config' };
  }
  return Object.keys(chosen).length > 0 ? chosen : undefined;
}

function resolveOne(input: SshTargetInput, env: SshTargetEnv): SshTarget {
  const cfg = resolveSshConfig(env.sshConfigText ?? '', input.hostname, configOptions(input, env));
  const explicitIdentity = input.identity !== undefined;
  let identityFiles: string[];
  if (input.identity !== undefined) {
    identityFiles = [expandHome(input.identity, env.homedir)];
  } else {
    const candidates = cfg.identityFiles.length > 0 ? cfg.identityFiles : DEFAULT_IDENTITIES.map((f) => path.join(env.homedir, f));
    identityFiles = [...new Set(candidates)].filter((f) => env.fileExists(f));
  }
  const target: SshTarget = {
    name: input.name,
    hostname: cfg.hostname ?? input.hostname,
    port: input.port ?? cfg.port ?? 22,
    user: input.user ?? cfg.user ?? env.username,
    identityFiles,
    explicitIdentity,
    knownHosts: input.knownHosts,
    knownHostsFiles: knownHostsFiles(env),
    connectTimeoutMs: input.connectTimeoutMs,
    keepaliveMs: input.keepaliveMs,
  };
  if (env.SSH_AUTH_SOCK) target.agent = env.SSH_AUTH_SOCK;
  const algorithms = algorithmChoices(input.algorithms, cfg.algorithms);
  if (algorithms) target.algorithms = algorithms;
  return target;
}

function knownHostsFiles(env: SshTargetEnv): string[] {
  const fromEnv = (env.SHIP_KNOWN_HOSTS ?? '')
    .split(':')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => expandHome(p, env.homedir));
  const files = [...fromEnv, path.join(env.homedir, '.ssh/known_hosts')];
  // The system-wide file is consulted like ssh does, but never written.
  if (env.fileExists('/etc/ssh/ssh_known_hosts')) files.push('/etc/ssh/ssh_known_hosts');
  return [...new Set(files)];
}

function hostPatternsMatch(host: string, patterns: readonly string[]): boolean {
  let matched = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).toLowerCase();
    if (!wildcardMatch(host, pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** A Match criterion's comma-separated pattern list (`!pattern` excludes). */
function listMatches(text: string, list: string): boolean {
  return hostPatternsMatch(text.toLowerCase(), list.split(','));
}

function expandTokens(value: string, tokens: Record<string, string>): string {
  return value.replace(/%(.)/g, (whole, ch: string) => (ch === '%' ? '%' : (tokens[ch] ?? whole)));
}

/** One config line → lowercased keyword and its arguments (quotes removed), or null. */
function parseLine(raw: string): { keyword: string; args: string[] } | null {
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) return null;
  const m = /^([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+|$)(.*)$/.exec(line);
  if (!m) return null;
  return { keyword: (m[1] ?? '').toLowerCase(), args: splitArgs(m[2] ?? '') };
}

function splitArgs(text: string): string[] {
  const args: string[] = [];
  let current = '';
  let inToken = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote) {
      if (ch === quote) quote = null;
      else current += ch;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      inToken = true;
    } else if (ch === '\\' && i + 1 < text.length && /["'\\\s]/.test(text[i + 1] as string)) {
      current += text[++i];
      inToken = true;
    } else if (/\s/.test(ch)) {
      if (inToken) args.push(current);
      current = '';
      inToken = false;
    } else if (ch === '#' && !inToken) {
      break; // a comment starts
    } else {
      current += ch;
      inToken = true;
    }
  }
  if (inToken) args.push(current);
  return args;
}
