/**
 * `ship check` items about the stage as a whole rather than one host: whether a restart drops
 * requests, and whether the load balancer answers and knows every host.
 */
import { Balancer, isBalanced, serverName } from '../../balancer/balancer.js';
import type { HostConfig, StageConfig } from '../../config/types.js';
import { hostFacts, templateValues, type RunEnv } from '../../engine/index.js';
import { serverPaths } from '../../release/paths.js';
import { type CheckItem, checkItem, type Judged } from './judge.js';

const STAGE = 'stage';

/** How the app is restarted, and whether that loses requests on its own. */
export function judgeRestart(stage: StageConfig): Judged {
  if (stage.loadBalancer)
    return {
      status: 'pass',
      detail: `zero downtime: each host leaves the load balancer (${stage.loadBalancer.kind}) before its restart and comes back once healthy`,
    };
  const method = stage.vars.restart_with;
  const fork = method === 'pm2' && stage.vars.pm2_exec_mode === 'fork';
  if (method === 'pm2' && !fork)
    return { status: 'pass', detail: 'zero downtime on each host: pm2 reload replaces the workers of a cluster-mode app one by one' };
  const how = fork ? 'restart_with: pm2 with pm2_exec_mode: fork' : method ? `restart_with: ${method}` : 'the restart task';
  return {
    status: 'warn',
    detail: `restarts drop requests: ${how} stops the app before the new one listens; add a load_balancer (or run the app under pm2 in cluster mode)`,
  };
}

/** The balancer answers, and lists every selected balanced host under its server name. */
export async function judgeBalancer(stage: StageConfig, selected: HostConfig[], env: RunEnv): Promise<Judged> {
  const s = stage.loadBalancer!;
  if (s.kind !== 'haproxy') return { status: 'pass', detail: 'commands: ship runs your drain and enable commands; it cannot ask the balancer what it knows' };
  const driver = s.on === 'local' ? undefined : stage.hosts.find((h) => h.roles.includes(s.on));
  const transport = driver ? env.transportFor(driver) : env.localTransport;
  if (!transport) return { status: 'fail', detail: 'no way to reach the balancer from this run' };
  try {
    await transport.connect();
    const known = new Set(await new Balancer(s, { transport, name: driver?.name ?? 'this machine' }).servers(env));
    const names = selected.filter((h) => isBalanced(s, h)).map((h) => [h.name, serverOf(stage, h)] as const);
    const missing = names.filter(([, server]) => !known.has(server));
    if (missing.length) {
      return {
        status: 'fail',
        detail: `backend ${s.backend} has no server ${missing.map(([h, server]) => `${server} (${h})`).join(', ')}; it has ${[...known].join(', ') || 'none'}`,
      };
    }
    return { status: 'pass', detail: `admin socket ${s.socket} answers; backend ${s.backend} has every host (${names.length})` };
  } catch (e) {
    return { status: 'fail', detail: env.redact(String((e as Error)?.message ?? e)) };
  } finally {
    if (driver) await transport.close().catch(() => {});
  }
}

function serverOf(stage: StageConfig, host: HostConfig): string {
  const facts = hostFacts(stage, host, serverPaths(host.deployTo), '', { revision: '', previous: undefined });
  return serverName(stage.loadBalancer!, templateValues(stage, host, facts));
}

export async function checkStage(stage: StageConfig, selected: HostConfig[], env: RunEnv): Promise<CheckItem[]> {
  const items: CheckItem[] = [checkItem(STAGE, 'restart', judgeRestart(stage))];
  if (stage.loadBalancer) items.push(checkItem(STAGE, 'load balancer', await judgeBalancer(stage, selected, env)));
  return items;
}
