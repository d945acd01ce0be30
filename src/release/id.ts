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

/**
 * The id for a new release: now, unless a release with that id or a later one exists on any
 * host (clock skew, two deploys in one second); then the second after the newest existing id.
 * Ids stay unique and increasing across the fleet.
 */
export function nextReleaseId(now: Date, existing: Iterable<string>): string {
  let newest: string | undefined;
  for (const id of existing) if (isReleaseId(id) && (newest === undefined || id > newest)) newest = id;
  const candidate = formatReleaseId(now);
  if (newest === undefined || candidate > newest) return candidate;
  return formatReleaseId(new Date(parseReleaseId(newest).getTime() + 1000));
}
