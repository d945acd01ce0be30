/** Flag values checked where the command line is read: a bad one is a usage error (exit 2). */
import { parseDuration } from '../config/units.js';
import { UsageError } from '../errors.js';

/** A whole-number flag (`--concurrency`, `-n`): digits only, from 1 to `max`. */
export function parseCountFlag(flag: string, value: string, max: number): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new UsageError(`${flag}: expected a whole number from 1 to ${max}, got ${JSON.stringify(value)}`);
  return n;
}

export function parseDurationFlag(flag: string, value: string): number {
  const r = parseDuration(value);
  if (!r.ok) throw new UsageError(`${flag} ${value}: ${r.error}`);
  return r.value;
}
