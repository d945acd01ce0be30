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
