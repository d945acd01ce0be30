/**
 * The load balancer in front of the hosts, as the publish step uses it: for each host behind
 * it, a drain step (out of rotation, proven, open sessions waited for) before its swap and an
 * enable step (back in rotation, proven) once it is healthy. The steps run where the balancer
 * is driven from: this machine, or the first host with the balancer's role.
 */
import type { HostConfig, LoadBalancerSettings, StageConfig } from '../config/types.js';
import { runOn, type Member, type RunEnv } from '../engine/index.js';
import { DeployError, UsageError } from '../errors.js';
import { raw, type Command } from '../shell/command.js';
import { render } from '../shell/render.js';
import { lines, sh } from '../shell/sh.js';
import { STEP_TIMEOUT_MS, type Step } from '../shell/script.js';
import { interpolateShell, interpolateText, TemplateError } from '../shell/template.js';
import type { Transport } from '../transport/types.js';
import { haproxyDrain, haproxyEnable, haproxyServers } from './haproxy.js';

/** The two steps around one host's swap. */
export interface Dance {
  server: string;
  drain: Step;
  enable: Step;
}

/**
 * A host that only drives the balancer (every role it has is the balancer's `on` role): it is
 * not deployed to, drained or checked like an app server.
 */
export const balancerOnly = (s: LoadBalancerSettings | undefined, host: HostConfig): boolean =>
  s !== undefined && s.on !== 'local' && host.roles.every((r) => r === s.on);

/** Whether the host is one of the balanced servers. */
export const isBalanced = (s: LoadBalancerSettings, host: HostConfig): boolean => !balancerOnly(s, host);

/** Where the balancer's steps run: a transport the run already holds, or a host it connects to when first needed. */
type Driver = { name: string; transport: Transport } | { name: string; host: HostConfig; connect: (h: HostConfig) => Transport };

/** The hosts that drive the balancer (`on: <role>`) are not app servers: the app's commands leave them out. */
export const appHosts = (stage: StageConfig, hosts: HostConfig[]): HostConfig[] => hosts.filter((h) => !balancerOnly(stage.loadBalancer, h));

/** The host's name in the balancer: `server` filled with the host's values. */
export const serverName = (s: LoadBalancerSettings, values: Record<string, string>): string => fill(() => interpolateText(s.server, values), 'server');

export class Balancer {
  private own: Promise<Transport> | undefined;

  constructor(
    readonly settings: LoadBalancerSettings,
    private readonly driver: Driver,
  ) {}

  /** The transport its steps run on, connected (once) when the driver is not one of the run's hosts. */
  private transport(): Promise<Transport> {
    const d = this.driver;
    if ('transport' in d) return Promise.resolve(d.transport);
    this.own ??= (async () => {
      const t = d.connect(d.host);
      try {
        await t.connect();
      } catch (e) {
        await t.close().catch(() => {});
        throw e;
      }
      return t;
    })();
    return this.own;
  }

  /** Closes the connection it opened itself, if any. */
  async close(): Promise<void> {
    const t = await this.own?.catch(() => undefined);
    await t?.close().catch(() => {});
  }

  /** The drain and enable steps for one host, or undefined when the balancer does not serve it. */
  danceFor(host: HostConfig, values: Record<string, string>): Dance | undefined {
    if (!isBalanced(this.settings, host)) return undefined;
    const s = this.settings;
    const server = serverName(s, values);
    const withServer = { ...values, server, backend: s.backend ?? '' };
    if (s.kind === 'haproxy') {
      return {
        server,
        drain: { label: 'lb drain', command: haproxyDrain(s.socket!, s.backend!, server, s.drainTimeoutMs), timeoutMs: drainStepMs(s) },
        enable: { label: 'lb enable', command: haproxyEnable(s.socket!, s.backend!, server) },
      };
    }
    const command = (key: 'drain' | 'enable' | 'sessions') => (s[key] ? fill(() => interpolateShell(s[key]!, withServer), key) : undefined);
    return {
      server,
      drain: {
        label: 'lb drain',
        command: commandsDrain(command('drain')!, command('sessions'), server, s.drainTimeoutMs),
        display: s.drain!,
        timeoutMs: drainStepMs(s),
      },
      enable: { label: 'lb enable', command: sh`${raw(command('enable')!)}`, display: s.enable! },
    };
  }

  /** Runs one balancer step for `host`; never throws. */
  async run(env: RunEnv, host: string, step: Step): Promise<{ ok: boolean; detail?: string }> {
    const where = this.driver.name;
    try {
      const transport = await this.transport();
      const r = await runOn(env, { host, transport, steps: [step], ...(env.signal ? { signal: env.signal } : {}) });
      if (r.ok) return { ok: true };
      return { ok: false, detail: `${step.label} (on ${where}): ${r.error?.message ?? `exit ${r.exitCode}`}` };
    } catch (e) {
      return { ok: false, detail: `${step.label} (on ${where}): ${env.redact((e as Error).message)}` };
    }
  }

  /** haproxy: the server names of the backend, as the balancer lists them (for `ship check`). */
  async servers(env: RunEnv): Promise<string[]> {
    const s = this.settings;
    if (s.kind !== 'haproxy') return [];
    const r = await (await this.transport()).runScript(`${render(haproxyServers(s.socket!, s.backend!))}\n`);
    if (r.exitCode !== 0) throw new DeployError(`load balancer: ${env.redact(r.stderr.trim() || `exit ${r.exitCode}`)}`);
    return r.stdout.split('\n').filter(Boolean);
  }
}

/** A drain step waits up to drain_timeout for open sessions: its own limit is that plus the protocol's. */
const drainStepMs = (s: LoadBalancerSettings): number => s.drainTimeoutMs + STEP_TIMEOUT_MS;

function fill(f: () => string, key: string): string {
  try {
    return f();
  } catch (e) {
    if (e instanceof TemplateError) throw new UsageError(`load_balancer.${key}: ${e.message}`);
    throw e;
  }
}

/** The user's drain command, then the wait: until `sessions` prints 0, or drain_timeout without it. */
function commandsDrain(drain: string, sessions: string | undefined, server: string, timeoutMs: number): Command {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  // the user's command may span lines: it is closed on a line of its own, and its failure is the step's
  const run = sh`{ ${raw(drain)}
} || { echo ${`load_balancer.drain failed for ${server}`} >&2; exit 1; }`;
  if (!sessions) return lines(run, sh`sleep ${seconds}`);
  return lines(
    run,
    sh`end=$(( $(date +%s) + ${seconds} ))`,
    sh`while :; do`,
    sh`  n=$(${raw(sessions)}) || { echo ${`load_balancer.sessions failed for ${server}`} >&2; exit 1; }`,
    sh`  [ "\${n:-0}" -eq 0 ] && break`,
    sh`  if [ "$(date +%s)" -ge "$end" ]; then echo ${`warning: ${server} still has open sessions after ${seconds}s; going on`} >&2; break; fi`,
    sh`  sleep 0.1`,
    sh`done`,
  );
}

/**
 * The balancer of a stage, driven from this machine or from the first member with its role.
 * Undefined when the stage has none.
 */
export function balancerFor(stage: StageConfig, members: Member[], env: RunEnv): Balancer | undefined {
  const s = stage.loadBalancer;
  if (!s) return undefined;
  if (s.on === 'local') {
    if (!env.localTransport) throw new DeployError('load_balancer.on: local needs this machine, and this run has no local transport');
    return new Balancer(s, { transport: env.localTransport, name: 'this machine' });
  }
  const m = members.find((x) => x.host.roles.includes(s.on));
  if (m) return new Balancer(s, { transport: m.transport, name: m.host.name });
  const host = stage.hosts.find((h) => h.roles.includes(s.on));
  if (!host) throw new DeployError(`load_balancer.on: ${s.on}: no host of stage ${stage.stage} has role ${s.on}`);
  return new Balancer(s, { host, name: host.name, connect: env.transportFor });
}
