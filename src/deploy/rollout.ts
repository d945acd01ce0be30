import type { RolloutSettings } from '../config/types.js';

/**
 * Publish order: all at once by default; `batch: N` N hosts at a time;
 * `canary: N` N hosts first, then the rest (in batches when `batch` is also set). Returns host
 * indexes per wave. Pure.
 */
export function planWaves(count: number, rollout: RolloutSettings): number[][] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (count === 0) return [];
  const waves: number[][] = [];
  let rest = all;
  if (rollout.canary && rollout.canary < count) {
    waves.push(rest.slice(0, rollout.canary));
    rest = rest.slice(rollout.canary);
  }
  const size = rollout.batch && rollout.batch > 0 ? rollout.batch : rest.length;
  for (let i = 0; i < rest.length; i += size) waves.push(rest.slice(i, i + size));
  return waves;
}
