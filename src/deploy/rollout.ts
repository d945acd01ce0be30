import type { HostConfig, RolloutSettings, StageConfig } from '../config/types.js';
import { isBalanced } from '../balancer/balancer.js';
import { UsageError } from '../errors.js';

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

/**
 * Checked before anything runs, on the app hosts selected (the balancer's own hosts left out):
 * some are left, and capacity is kept: no rollout wave takes every balanced host of the stage
 * out of rotation at once, unless `drain_all` allows it.
 */
export function planBalancer(stage: StageConfig, selected: HostConfig[]): void {
  const s = stage.loadBalancer;
  if (!s) return;
  if (selected.length === 0) throw new UsageError(`only hosts that drive the load balancer (role ${s.on}) are selected: there is nothing to deploy`);
  if (s.drainAll) return;
  const balanced = (h: HostConfig) => isBalanced(s, h);
  const all = stage.hosts.filter(balanced).length;
  const moving = selected.filter(balanced);
  const widest = Math.max(0, ...planWaves(moving.length, stage.rollout).map((w) => w.length));
  if (all > 0 && widest >= all) {
    throw new UsageError(
      `load_balancer: this rollout drains all ${all} balanced host(s) at once, an outage`,
      [],
      `publish in waves (rollout: { batch: ${Math.max(1, Math.floor(all / 2))} }) or allow it with load_balancer.drain_all: true`,
    );
  }
}
