/** "Did you mean ...?" for misspelt keys, stages, tasks and roles. */

/** Optimal string alignment distance: Levenshtein plus the swap of two neighbours. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate the user most likely meant: the nearest within 2 edits (1 for words of
 * 3 letters or fewer), else one that starts with the word or that the word starts with.
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const lower = word.toLowerCase();
  const limit = lower.length <= 3 ? 1 : 2;
  let best: { name: string; score: number } | undefined;
  for (const candidate of candidates) {
    const other = candidate.toLowerCase();
    if (other === lower && candidate !== word) return candidate;
    const distance = editDistance(lower, other);
    let score = distance <= limit ? distance : Infinity;
    const shorter = Math.min(lower.length, other.length);
    if (score === Infinity && shorter >= 3 && (other.startsWith(lower) || lower.startsWith(other))) {
      score = limit + 1;
    }
    if (score < (best?.score ?? Infinity)) best = { name: candidate, score };
  }
  return best?.name;
}

/** ` (did you mean "x"?)`, or '' when nothing is close. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : ` (did you mean "${match}"?)`;
}

/**
 * ` (known stages: local, production; did you mean "production"?)`: the names to choose from,
 * and the likely one. Long lists are not spelled out.
 */
export function knownAndClosest(word: string, candidates: readonly string[], label: string): string {
  const match = closest(word, candidates);
  const parts: string[] = [];
  if (candidates.length > 0 && candidates.length <= 12) parts.push(`${label}: ${[...candidates].sort().join(', ')}`);
  if (match !== undefined) parts.push(`did you mean "${match}"?`);
  return parts.length ? ` (${parts.join('; ')})` : '';
}
