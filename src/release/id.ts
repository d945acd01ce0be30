/** Release ids: UTC YYYYMMDDHHMMSS, made once per deploy on the deploying machine. */

const ID = /^\d{14}$/;

export const isReleaseId = (s: string): boolean => ID.test(s);

export function formatReleaseId(date: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    p(date.getUTCFullYear(), 4) + p(date.getUTCMonth() + 1) + p(date.getUTCDate()) + p(date.getUTCHours()) + p(date.getUTCMinutes()) + p(date.getUTCSeconds())
  );
}

export function parseReleaseId(id: string): Date {
  if (!isReleaseId(id)) throw new Error(`not a release id: ${JSON.stringify(id)}`);
  const n = (a: number, b: number) => Number(id.slice(a, b));
  return new Date(Date.UTC(n(0, 4), n(4, 6) - 1, n(6, 8), n(8, 10), n(10, 12), n(12, 14)));
}

/** How far ahead of this machine's clock a release id may be before it is taken for a stray. */
export const ID_FUTURE_LIMIT_MS = 24 * 3600_000;

/**
 * Why an id of a directory in releases/ is not one ship can reason about, or undefined when it
 * is: not a real date (month 13, 31 February), or more than ID_FUTURE_LIMIT_MS ahead of `now`
 * (a stray `99991231235959`, a host whose clock ran far ahead). Such directories are ignored:
 * never a rollback target, never pruned, never the base of a new id.
 */
export function releaseIdProblem(id: string, now: Date): string | undefined {
  if (!isReleaseId(id)) return 'not a release id (14 digits, UTC YYYYMMDDHHMMSS)';
  const date = parseReleaseId(id);
  if (Number.isNaN(date.getTime()) || formatReleaseId(date) !== id) return 'not a real date and time';
  if (date.getTime() - now.getTime() > ID_FUTURE_LIMIT_MS) return "more than a day ahead of this machine's clock";
  return undefined;
}

/**
 * The id for a new release: now, unless a release with that id or a later one exists on any
 * host (clock skew, two deploys in one second); then the second after the newest existing id.
 * Ids stay unique and increasing across the fleet. Ids that releaseIdProblem refuses are not
 * looked at, so the result is always a valid id no more than a day ahead.
 */
export function nextReleaseId(now: Date, existing: Iterable<string>): string {
  let newest: string | undefined;
  for (const id of existing) if (releaseIdProblem(id, now) === undefined && (newest === undefined || id > newest)) newest = id;
  const candidate = formatReleaseId(now);
  const id = newest === undefined || candidate > newest ? candidate : formatReleaseId(new Date(parseReleaseId(newest).getTime() + 1000));
  if (!isReleaseId(id)) throw new Error(`internal error: made release id ${JSON.stringify(id)} from the clock ${now.toISOString()}`);
  return id;
}
