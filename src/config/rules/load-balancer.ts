/** Rules about load_balancer: each kind has what it needs, and `on` names a role some host has. */
import type { Loose } from '../dsl.js';
import type { Path } from '../positions.js';
import type { RawLoadBalancer } from '../schema.js';
import { knownAndClosest } from '../suggest.js';
import { hostsOf, stagesOf, type Rule, type RuleContext } from './context.js';

const NEEDS: Record<RawLoadBalancer['kind'], readonly (keyof RawLoadBalancer)[]> = {
  haproxy: ['socket', 'backend'],
  commands: ['drain', 'enable'],
};
const ONLY: Record<RawLoadBalancer['kind'], readonly (keyof RawLoadBalancer)[]> = {
  haproxy: ['drain', 'enable', 'sessions'],
  commands: ['socket', 'backend'],
};

export const loadBalancerComplete: Rule = (ctx) => {
  const holders: [Path, Loose<RawLoadBalancer> | undefined, string[]][] = [];
  const stages = stagesOf(ctx.raw);
  const allRoles = stages.flatMap(([name, stage]) => hostsOf(name, stage).flatMap((h) => h.roles));
  holders.push([['load_balancer'], ctx.raw.load_balancer, allRoles]);
  for (const [name, stage] of stages) {
    holders.push([['stages', name, 'load_balancer'], stage.load_balancer, hostsOf(name, stage).flatMap((h) => h.roles)]);
  }
  for (const [path, lb, roles] of holders) if (lb) checkOne(ctx, path, lb, roles);
};

function checkOne(ctx: RuleContext, path: Path, lb: Loose<RawLoadBalancer>, roles: string[]): void {
  const kind = lb.kind;
  if (kind === undefined) return; // reported by the walk
  for (const key of NEEDS[kind]) {
    if (lb[key] === undefined) ctx.report(path, `load_balancer of kind ${kind} needs ${key}`);
  }
  for (const key of ONLY[kind]) {
    if (lb[key] !== undefined)
      ctx.report([...path, key], `${key} is not used by kind ${kind} (it belongs to kind ${kind === 'haproxy' ? 'commands' : 'haproxy'})`, 'key');
  }
  const on = lb.on;
  if (on !== undefined && on !== 'local' && !roles.includes(on)) {
    ctx.report(
      [...path, 'on'],
      `no host has role ${JSON.stringify(on)}${knownAndClosest(on, [...new Set(roles)], 'roles in use')}; use "local" to drive the balancer from this machine`,
    );
  }
}
