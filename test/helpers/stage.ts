import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostConfig, StageConfig, TaskDef } from '../../src/config/types.js';
import type { Clock, RunEnv } from '../../src/engine/index.js';
import type { GitOps } from '../../src/deploy/deploy.js';
import { archiveToFile, resolveRevision } from '../../src/git/git.js';
import { LocalTransport } from '../../src/transport/local.js';
import type { ExecOptions, Transport } from '../../src/transport/types.js';
import type { ShipEvent } from '../../src/ui/events.js';
import { makeRedactor } from '../../src/ui/redact.js';

export const task = (name: string, run: string | string[], extra: Partial<TaskDef> = {}): TaskDef => ({
  name,
  run: Array.isArray(run) ? run : [run],
  once: false,
  local: false,
  source: 'config',
  ...extra,
});

/** A stage of N "hosts" on this machine, each with its own deploy_to in a temp dir. */
export function localStage(repo: string, n: number, over: Partial<StageConfig> = {}, hostOver: Partial<HostConfig>[] = []): StageConfig {
  const base = mkdtempSync(join(tmpdir(), 'ship-flow-'));
  const hosts: HostConfig[] = Array.from({ length: n }, (_, i) => ({
    name: `h${i + 1}`,
    local: true,
    roles: ['web', 'app'],
    primary: false,
    deployTo: join(base, `h${i + 1}`),
    ssh: { knownHosts: 'strict', connectTimeoutMs: 5000, keepaliveMs: 15000 },
    env: {},
    vars: {},
    ...(hostOver[i] ?? {}),
  }));
  return {
    configPath: join(base, 'deploy.yaml'),
    configDir: base,
    app: 'demo',
    stage: 'test',
    repo,
    recipe: 'base',
    keepReleases: 5,
    strategy: 'upload',
    shared: { dirs: ['log'], files: [] },
    env: {},
    secrets: [],
    secretValues: [],
    concurrency: 20,
    check: { urls: [] },
    rollout: {},
    tasks: {},
    hooks: {},
    vars: {},
    hosts,
    ...over,
    healthChecks: over.healthChecks ?? (over.health ? [over.health] : []),
  };
}

/** A clock whose seconds advance only when told, and whose sleeps return at once. */
export function fakeClock(start = '2026-11-22T02:15:00Z'): Clock & { advance(ms: number): void } {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    sleep: async (ms) => {
      t += ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

export interface Recorded {
  events: ShipEvent[];
  scripts: { host: string; script: string }[];
  env: RunEnv;
}

/**
 * A run environment whose transports really run on this machine and record every script;
 * `fault(host, script)` may return an exit code to fail a script before it runs.
 */
export function recordingEnv(
  stage: StageConfig,
  opts: { clock?: Clock; secrets?: string[]; fault?: (host: string, script: string) => number | undefined; signal?: AbortSignal } = {},
): Recorded {
  const events: ShipEvent[] = [];
  const scripts: { host: string; script: string }[] = [];
  const transportFor = (h: HostConfig): Transport => {
    const inner = new LocalTransport(h.name, stage.configDir);
    return {
      host: h.name,
      address: inner.address,
      connect: () => inner.connect(),
      runScript: async (script: string, o?: ExecOptions) => {
        scripts.push({ host: h.name, script });
        const code = opts.fault?.(h.name, script);
        if (code !== undefined) return { exitCode: code, stdout: '', stderr: `injected fault on ${h.name}` };
        return inner.runScript(script, o);
      },
      runWithInput: (c, i, o) => inner.runWithInput(c, i, o),
      httpGet: (u, o) => inner.httpGet(u, o),
      tcpProbe: (a, p, o) => inner.tcpProbe(a, p, o),
      close: () => inner.close(),
    };
  };
  const env: RunEnv = {
    clock: opts.clock ?? fakeClock(),
    emit: (e) => events.push(e),
    redact: makeRedactor(opts.secrets ?? stage.secretValues),
    transportFor,
    localTransport: new LocalTransport('local', stage.configDir),
    operator: { user: 'tester', machine: 'ci-box', pid: 4242 },
    concurrency: 4,
    ...(opts.signal ? { signal: opts.signal } : {}),
  };
  return { events, scripts, env };
}

export const realGit: GitOps = {
  resolveRevision,
  archiveToFile,
  tempFile: async (name) => {
    const dir = mkdtempSync(join(tmpdir(), 'ship-archive-'));
    return { path: join(dir, name), remove: async () => {} };
  },
};

/** (host, task) pairs in the order tasks started, per host. */
export function taskTrail(events: ShipEvent[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) {
    if (e.event !== 'task:start') continue;
    out[e.host] ??= [];
    out[e.host]!.push(e.task);
  }
  return out;
}
