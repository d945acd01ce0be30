import { printable } from '../release/host-text.js';

/** How ship writes for people, in every reporter: one way to colour text, one way to say a duration. */

/** `text` in an ANSI colour or style (`'31'` red, `'32'` green, `'33'` yellow, `'36'` cyan, `'1'` bold, `'2'` dim); as it is when `on` is false. */
export const paint = (on: boolean, code: string, text: string): string => (on ? `\u001b[${code}m${text}\u001b[0m` : text);

/** A duration as people read it: `840ms`, `12.3s`, `2m05s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** A copy of an event (or any value) whose every string is printable. */
export function printableValues<T>(value: T): T {
  if (typeof value === 'string') return printable(value) as T;
  if (Array.isArray(value)) return value.map(printableValues) as T;
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, printableValues(v)])) as T;
  return value;
}

/** At most this many host names are written out in one line; more are counted. */
const NAMES_IN_A_LINE = 3;

const hostsPhrase = (hosts: readonly string[]): string => (hosts.length > NAMES_IN_A_LINE ? `${hosts.length} hosts` : hosts.join(', '));

/**
 * Where each host's `current` points, as the tail of a closing line that stays short at any
 * fleet size: the hosts grouped by release, the largest group first, a few names written out
 * and more counted. " on 3 hosts: a, b, c" when all agree on `release`, else
 * "; current: R1 on 197 hosts; R2 on web8"; nothing without hosts.
 */
export function whereHostsStand(current: Readonly<Record<string, string | null>>, release?: string): string {
  const groups = new Map<string, string[]>();
  for (const [host, at] of Object.entries(current)) groups.set(at ?? 'none', [...(groups.get(at ?? 'none') ?? []), host]);
  const hosts = Object.keys(current);
  if (hosts.length === 0) return '';
  if (groups.size === 1 && release !== undefined && groups.has(release)) {
    const n = ` on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`;
    return hosts.length > NAMES_IN_A_LINE ? n : `${n}: ${hosts.join(', ')}`;
  }
  const sorted = [...groups].sort((a, b) => b[1].length - a[1].length);
  return `; current: ${sorted.map(([at, on]) => `${at} on ${hostsPhrase(on)}`).join('; ')}`;
}

/** Hosts named in a heading or a table cell: all of a few, else a count and the first ones. */
export function namedHosts(hosts: readonly string[]): string {
  if (hosts.length <= NAMES_IN_A_LINE) return hosts.join(', ');
  return `${hosts.length} hosts (${hosts.slice(0, NAMES_IN_A_LINE).join(', ')} and ${hosts.length - NAMES_IN_A_LINE} more)`;
}

/** Items grouped by a key, in order of first appearance; the largest group first. */
export function groupsOf<T>(items: readonly T[], key: (item: T) => string): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return [...groups.values()].sort((a, b) => b.length - a.length);
}
