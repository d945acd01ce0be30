/**
 * Which key exchange, host key, cipher and MAC algorithms a connection offers: ssh2's
 * defaults, changed the way OpenSSH changes its own (ssh_config(5) KexAlgorithms,
 * HostKeyAlgorithms, Ciphers, MACs). Pure: the caller passes the library's lists.
 *
 * A spec is a comma-separated list. `+list` appends to the default, `-list` removes from
 * it, `^list` puts in front of it; a plain list replaces it. Names may hold `*` and `?`,
 * which match against every algorithm the library supports.
 */

import { wildcardMatch } from './known-hosts.js';

export const ALGORITHM_KINDS = ['kex', 'hostKey', 'cipher', 'mac'] as const;
export type AlgorithmKind = (typeof ALGORITHM_KINDS)[number];

/** One spec per kind, in OpenSSH syntax ("+diffie-hellman-group14-sha1"). */
export type AlgorithmSpecs = Partial<Record<AlgorithmKind, string>>;

/** Where a kind's spec came from, for messages: deploy.yaml's key or ~/.ssh/config's keyword. */
export const ALGORITHM_NAMES: Record<AlgorithmKind, { yaml: string; sshConfig: string; what: string }> = {
  kex: { yaml: 'ssh.algorithms.kex', sshConfig: 'KexAlgorithms', what: 'key exchange' },
  hostKey: { yaml: 'ssh.algorithms.host_key', sshConfig: 'HostKeyAlgorithms', what: 'host key' },
  cipher: { yaml: 'ssh.algorithms.ciphers', sshConfig: 'Ciphers', what: 'cipher' },
  mac: { yaml: 'ssh.algorithms.macs', sshConfig: 'MACs', what: 'MAC' },
};

export interface AlgorithmLists {
  defaults: readonly string[];
  supported: readonly string[];
}

export type AlgorithmResult = { ok: true; list: string[] } | { ok: false; problem: string };

/**
 * Applies `spec` to `lists.defaults`. With `strict`, a name the library does not support is
 * a problem; without it (a spec from ~/.ssh/config, which OpenSSH reads too) such names are
 * skipped. A list that ends up empty is always a problem.
 */
export function applyAlgorithmSpec(spec: string, lists: AlgorithmLists, strict: boolean): AlgorithmResult {
  const trimmed = spec.trim();
  const op = /^[+\-^]/.test(trimmed) ? (trimmed[0] as '+' | '-' | '^') : '=';
  const names = (op === '=' ? trimmed : trimmed.slice(1))
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  if (names.length === 0) return { ok: false, problem: `no algorithm named in ${JSON.stringify(spec)}` };
  const universe = op === '-' ? lists.defaults : lists.supported;
  const picked: string[] = [];
  for (const name of names) {
    const matches = universe.filter((a) => wildcardMatch(a, name));
    if (matches.length === 0 && strict && !(op === '-' && lists.supported.some((a) => wildcardMatch(a, name)))) {
      return { ok: false, problem: `${JSON.stringify(name)} is not an algorithm ship's SSH library supports (it supports: ${lists.supported.join(', ')})` };
    }
    for (const m of matches) if (!picked.includes(m)) picked.push(m);
  }
  let list: string[];
  switch (op) {
    case '+':
      list = [...lists.defaults, ...picked.filter((a) => !lists.defaults.includes(a))];
      break;
    case '^':
      list = [...picked, ...lists.defaults.filter((a) => !picked.includes(a))];
      break;
    case '-':
      list = lists.defaults.filter((a) => !picked.includes(a));
      break;
    default:
      list = picked;
  }
  if (list.length === 0) return { ok: false, problem: `${JSON.stringify(spec)} leaves no algorithm ship's SSH library supports` };
  return { ok: true, list };
}
