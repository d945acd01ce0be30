/**
 * Durations and sizes as written in deploy.yaml. The one place they are parsed, so every
 * key that takes one accepts exactly the same spellings and reports the same errors.
 */

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const DURATION_UNITS = new Map<string, number>([
  ['ms', 1],
  ['s', 1000],
  ['m', 60_000],
  ['h', 3_600_000],
  ['d', 86_400_000],
]);
const DURATION_PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const DURATION_WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;

/** JSON Schema pattern for a duration string (kept next to the parser it mirrors). */
export const DURATION_PATTERN = DURATION_WHOLE.source;

/**
 * The longest duration anything accepts: 24 days, just under what a timer can wait (a longer
 * one would fire at once). Beyond it a value is a typo, never a wish.
 */
export const MAX_DURATION_MS = 24 * 86_400_000;

/** "500ms", "10s", "2m", "1h", "7d", "1m30s", "1.5s" → milliseconds. A bare number must be 0. */
export function parseDuration(input: string | number): Parsed<number> {
  if (typeof input === 'number') {
    if (input === 0) return { ok: true, value: 0 };
    return {
      ok: false,
      error: `a duration needs a unit (ms, s, m, h or d), got ${input}: write "${input}s" or "${input}ms"`,
    };
  }
  const text = input.trim();
  if (text === '0') return { ok: true, value: 0 };
  if (/^\d+(?:\.\d+)?$/.test(text)) {
    return {
      ok: false,
      error: `a duration needs a unit (ms, s, m, h or d), got "${text}": write "${text}s" or "${text}ms"`,
    };
  }
  if (!DURATION_WHOLE.test(text)) {
    return {
      ok: false,
      error: `expected a duration such as "500ms", "10s", "2m" or "1h", got ${JSON.stringify(input)}`,
    };
  }
  let ms = 0;
  for (const match of text.matchAll(DURATION_PART)) {
    ms += Number(match[1]) * (DURATION_UNITS.get(match[2] ?? '') ?? 0);
  }
  if (!(ms <= MAX_DURATION_MS)) {
    return { ok: false, error: `expected a duration of at most ${formatDuration(MAX_DURATION_MS)} (24 days), got ${JSON.stringify(input)}` };
  }
  return { ok: true, value: Math.round(ms) };
}

/** The shortest exact spelling of a duration: 10000 → "10s", 90000 → "90s", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms !== 0 && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

const SIZE_UNITS = new Map<string, number>(
  Object.entries({
    '': 1,
    b: 1,
    k: 1024,
    kb: 1024,
    kib: 1024,
    m: 1024 ** 2,
    mb: 1024 ** 2,
    mib: 1024 ** 2,
    g: 1024 ** 3,
    gb: 1024 ** 3,
    gib: 1024 ** 3,
    t: 1024 ** 4,
    tb: 1024 ** 4,
    tib: 1024 ** 4,
  }),
);
const SIZE = /^(\d+(?:\.\d+)?) ?([a-z]*)$/i;

/** JSON Schema pattern for a size string. */
export const SIZE_PATTERN = '^\\d+(\\.\\d+)? ?([bB]|[kKmMgGtT]([iI]?[bB])?)?$';

/** "1GB" (1024³ bytes), "500MB", "10KB", "1TB", "123" or 123 (bytes) → bytes. Case-insensitive. */
export function parseSize(input: string | number): Parsed<number> {
  if (typeof input === 'number') {
    if (Number.isInteger(input) && input >= 0) return { ok: true, value: input };
    return { ok: false, error: `expected a size such as "500MB" or "1GB", got ${input}` };
  }
  const match = SIZE.exec(input.trim());
  const factor = match ? SIZE_UNITS.get((match[2] ?? '').toLowerCase()) : undefined;
  if (!match || factor === undefined) {
    return {
      ok: false,
      error: `expected a size such as "500MB" or "1GB" (units B, KB, MB, GB, TB), got ${JSON.stringify(input)}`,
    };
  }
  return { ok: true, value: Math.floor(Number(match[1]) * factor) };
}

/** The shortest exact spelling of a size: 1073741824 → "1GB". */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['TB', 1024 ** 4],
    ['GB', 1024 ** 3],
    ['MB', 1024 ** 2],
    ['KB', 1024],
  ] as const) {
    if (bytes !== 0 && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}`;
}
