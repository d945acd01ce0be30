/**
 * One stage of a validated deploy.yaml → the plain StageConfig everything downstream uses.
 * Precedence: host over stage over top level. env, vars, ssh, shared and check merge key by
 * key; every other key is replaced whole.
 */
import os from 'node:os';
import type { LoadedConfig } from './loaded.js';
import { localPath, recipeLocation, remotePath, repoLocation, subPath } from './paths.js';
import { displayPath, positionOf, type Path } from './positions.js';
import { markPrimaries } from './primary.js';
import { sortProblems } from './problem.js';
import { expandEnvMap, envValues, MIN_SECRET_LENGTH, secretValuesOf, shortSecrets, type EnvValue, type MissingVariable } from './resolve-env.js';
import { mergeHooks, mergeTasks } from './resolve-tasks.js';
import { DEFAULTS, type RawConfig, type RawHealth, type RawHostObject, type RawLoadBalancer, type RawSsh, type RawStage } from './schema.js';
import { knownAndClosest } from './suggest.js';
import type { ConfigProblem, HealthSettings, HookEntry, HostConfig, LoadBalancerSettings, SshSettings, StageConfig, TaskDef } from './types.js';

export interface ResolveOptions {
  /** For `~` in paths; default os.homedir(). */
  homedir?: string;
  /** The environment ${NAME} is read from; default the one given to loadConfig. */
  env?: Readonly<Record<string, string | undefined>>;
  /** The recipe's tasks; deploy.yaml's tasks override them by name. */
  recipeTasks?: Readonly<Record<string, TaskDef>>;
  /** The recipe's hooks; deploy.yaml's entries run after them. */
  recipeHooks?: Readonly<Record<string, HookEntry[]>>;
  /**
   * For a dry run: the value an unset ${NAME} stands as, instead of being a problem. Such a
   * value is no secret (it is shown): the plan says what is missing.
   */
  unsetAs?: (name: string) => string;
}

/** unset: the variables that stand as `unsetAs` placeholders. */
export type ResolvedStage = { ok: true; stage: StageConfig; unset?: string[] } | { ok: false; problems: ConfigProblem[] };

export function resolveStage(loaded: LoadedConfig, stageName: string, opts: ResolveOptions = {}): ResolvedStage {
  const top = loaded.raw;
  const stage = Object.hasOwn(top.stages, stageName) ? top.stages[stageName] : undefined;
  const problem = (path: Path, message: string, part: 'key' | 'value' = 'value'): ConfigProblem => {
    const pos = positionOf(loaded.positions, path, part);
    return { file: loaded.file, line: pos.line, col: pos.col, path: displayPath(path), message };
  };
  if (!stage) {
    return {
      ok: false,
      problems: [problem(['stages'], `unknown stage ${JSON.stringify(stageName)}${knownAndClosest(stageName, loaded.stages, 'known stages')}`, 'key')],
    };
  }

  const homedir = opts.homedir ?? os.homedir();
  const env = opts.env ?? loaded.env;
  const stagePath = ['stages', stageName];
  const missing: MissingVariable[] = [];

  // Top-level entries the stage overrides are never used here, so never expanded.
  const topEnv = Object.fromEntries(Object.entries(top.env ?? {}).filter(([key]) => !Object.hasOwn(stage.env ?? {}, key)));
  const stageEnv: Record<string, EnvValue> = {
    ...expandEnvMap(topEnv, ['env'], env, missing),
    ...expandEnvMap(stage.env, [...stagePath, 'env'], env, missing),
  };
  const stageVars = { ...top.vars, ...stage.vars };

  const ctx: HostContext = { top, stage, stagePath, stageEnv, stageVars, env, missing, homedir, configDir: loaded.configDir };
  const drafts = stage.hosts.map((raw, index) => hostDraft(ctx, typeof raw === 'string' ? { host: raw } : raw, index));
  const primaries = markPrimaries(drafts);
  const hosts = drafts.map(
    ({ declaredPrimary: _, envValues: __, name, local, roles, ...rest }, index): HostConfig => ({
      name,
      local,
      roles,
      primary: primaries[index] ?? false,
      ...rest,
    }),
  );

  const notifyRaw = stage.notify ?? top.notify;
  const notifyPath = stage.notify ? [...stagePath, 'notify'] : ['notify'];
  const webhook = notifyRaw?.webhook !== undefined ? expandEnvMap({ webhook: notifyRaw.webhook }, notifyPath, env, missing).webhook?.value : undefined;

  if (missing.length > 0 && opts.unsetAs) return withPlaceholders(loaded, stageName, opts, env, missing);
  if (missing.length > 0) {
    return {
      ok: false,
      problems: sortProblems(missing.map((m) => problem(m.path, `environment variable ${JSON.stringify(m.name)} is not set`))),
    };
  }

  const secrets = [...new Set([...(top.secrets ?? []), ...(stage.secrets ?? [])])];
  const short = shortSecrets([stageEnv, ...drafts.map((d) => d.envValues)], secrets, MIN_SECRET_LENGTH);
  if (short.length > 0) {
    return {
      ok: false,
      problems: sortProblems(
        short.map((s) =>
          problem(
            s.path,
            `secret ${JSON.stringify(s.key)} is shorter than ${MIN_SECRET_LENGTH} characters: it cannot be redacted without mangling every line that holds those characters (use a real secret, or leave it out of secrets)`,
          ),
        ),
      ),
    };
  }

  const config = stageConfig(loaded, stageName, ctx, { hosts, drafts, webhook }, opts);
  return { ok: true, stage: config };
}

/** The stage resolved again with each unset variable set to its placeholder, which is then no secret. */
function withPlaceholders(
  loaded: LoadedConfig,
  stageName: string,
  { unsetAs, ...opts }: ResolveOptions,
  env: Readonly<Record<string, string | undefined>>,
  missing: MissingVariable[],
): ResolvedStage {
  const unset = [...new Set(missing.map((m) => m.name))].sort();
  const placeholders = Object.fromEntries(unset.map((name) => [name, unsetAs!(name)]));
  const result = resolveStage(loaded, stageName, { ...opts, env: { ...env, ...placeholders } });
  if (!result.ok) return result;
  const shown = new Set(Object.values(placeholders));
  return { ok: true, stage: { ...result.stage, secretValues: result.stage.secretValues.filter((v) => !shown.has(v)) }, unset };
}

/** The stage's settings, each taken from the stage, else the top level, else the default. */
function stageConfig(
  loaded: LoadedConfig,
  stageName: string,
  ctx: HostContext,
  parts: { hosts: HostConfig[]; drafts: { envValues: Record<string, EnvValue> }[]; webhook: string | undefined },
  opts: ResolveOptions,
): StageConfig {
  const { top, stage, stageEnv, stageVars, homedir } = ctx;
  const { hosts, drafts, webhook } = parts;
  const secrets = [...new Set([...(top.secrets ?? []), ...(stage.secrets ?? [])])];
  const repoTree = subPath(stage.repo_tree ?? top.repo_tree ?? '.');
  const branch = stage.branch ?? top.branch;
  const healthRaw = stage.health ?? top.health;
  const healthChecks = (Array.isArray(healthRaw) ? healthRaw : healthRaw ? [healthRaw] : []).map(healthSettings);
  const health = healthChecks[0];
  const diskMin = stage.check?.disk_min ?? top.check?.disk_min;
  return {
    configPath: loaded.configPath,
    configDir: loaded.configDir,
    app: stage.app ?? top.app,
    stage: stageName,
    repo: repoLocation(stage.repo ?? top.repo, loaded.configDir, homedir),
    ...(repoTree !== undefined ? { repoTree } : {}),
    ...(branch !== undefined ? { branch } : {}),
    recipe: recipeLocation(stage.recipe ?? top.recipe ?? DEFAULTS.recipe, loaded.configDir, homedir),
    keepReleases: stage.keep_releases ?? top.keep_releases ?? DEFAULTS.keepReleases,
    strategy: stage.strategy ?? top.strategy ?? DEFAULTS.strategy,
    shared: {
      dirs: (stage.shared?.dirs ?? top.shared?.dirs ?? []).flatMap((p) => subPath(p) ?? []),
      files: (stage.shared?.files ?? top.shared?.files ?? []).flatMap((p) => subPath(p) ?? []),
    },
    env: envValues(stageEnv),
    secrets,
    // a webhook URL is a credential (Slack's carry their token): redacted like a secret
    secretValues: [...new Set([...secretValuesOf([stageEnv, ...drafts.map((d) => d.envValues)], secrets), ...(webhook ? [webhook] : [])])].sort(
      (a, b) => b.length - a.length,
    ),
    ...(webhook ? { notify: { webhook } } : {}),
    concurrency: stage.concurrency ?? top.concurrency ?? DEFAULTS.concurrency,
    confirm: stage.confirm ?? top.confirm ?? false,
    ...(health ? { health } : {}),
    healthChecks,
    check: {
      urls: [...(stage.check?.urls ?? top.check?.urls ?? [])],
      ...(diskMin !== undefined ? { diskMinBytes: diskMin } : {}),
    },
    rollout: { ...(stage.rollout ?? top.rollout ?? {}) },
    ...loadBalancerSettings(stage.load_balancer ?? top.load_balancer),
    tasks: mergeTasks(opts.recipeTasks ?? {}, top.tasks, stage.tasks),
    hooks: mergeHooks(opts.recipeHooks ?? {}, top.hooks, stage.hooks),
    vars: stageVars,
    hosts,
  };
}

interface HostContext {
  top: RawConfig;
  stage: RawStage;
  stagePath: Path;
  stageEnv: Record<string, EnvValue>;
  stageVars: Record<string, string>;
  env: Readonly<Record<string, string | undefined>>;
  missing: MissingVariable[];
  homedir: string;
  configDir: string;
}

type HostDraft = Omit<HostConfig, 'primary'> & { declaredPrimary: boolean; envValues: Record<string, EnvValue> };

function hostDraft(ctx: HostContext, raw: RawHostObject, index: number): HostDraft {
  const local = raw.local ?? false;
  // Validation guarantees a deploy_to for every host.
  const deployTo = raw.deploy_to ?? ctx.stage.deploy_to ?? ctx.top.deploy_to ?? '';
  const hostEnv = { ...ctx.stageEnv, ...expandEnvMap(raw.env, [...ctx.stagePath, 'hosts', index, 'env'], ctx.env, ctx.missing) };
  const shortcuts: RawSsh = {
    ...(raw.user !== undefined ? { user: raw.user } : {}),
    ...(raw.port !== undefined ? { port: raw.port } : {}),
    ...(raw.identity !== undefined ? { identity: raw.identity } : {}),
    ...(raw.jump !== undefined ? { jump: raw.jump } : {}),
  };
  return {
    name: raw.host,
    local,
    roles: [...(raw.roles ?? DEFAULTS.hostRoles)],
    declaredPrimary: raw.primary ?? false,
    deployTo: local ? localPath(deployTo, ctx.configDir, ctx.homedir) : remotePath(deployTo),
    ssh: sshSettings([ctx.top.ssh, ctx.stage.ssh, raw.ssh, shortcuts], ctx.configDir, ctx.homedir),
    env: envValues(hostEnv),
    envValues: hostEnv,
    vars: { ...ctx.stageVars, ...raw.vars },
  };
}

function sshSettings(layers: (RawSsh | undefined)[], configDir: string, homedir: string): SshSettings {
  const ssh: RawSsh = Object.assign({}, ...layers);
  return {
    ...(ssh.user !== undefined ? { user: ssh.user } : {}),
    ...(ssh.port !== undefined ? { port: ssh.port } : {}),
    ...(ssh.identity !== undefined ? { identity: localPath(ssh.identity, configDir, homedir) } : {}),
    knownHosts: ssh.known_hosts ?? DEFAULTS.knownHosts,
    ...(ssh.jump !== undefined ? { jump: ssh.jump } : {}),
    ...(ssh.algorithms !== undefined ? { algorithms: algorithmSpecs(ssh.algorithms) } : {}),
    connectTimeoutMs: ssh.connect_timeout ?? DEFAULTS.connectTimeoutMs,
    keepaliveMs: ssh.keepalive ?? DEFAULTS.keepaliveMs,
  };
}

function algorithmSpecs(raw: NonNullable<RawSsh['algorithms']>): NonNullable<SshSettings['algorithms']> {
  return {
    ...(raw.kex !== undefined ? { kex: raw.kex } : {}),
    ...(raw.host_key !== undefined ? { hostKey: raw.host_key } : {}),
    ...(raw.ciphers !== undefined ? { cipher: raw.ciphers } : {}),
    ...(raw.macs !== undefined ? { mac: raw.macs } : {}),
  };
}

function loadBalancerSettings(raw: RawLoadBalancer | undefined): { loadBalancer?: LoadBalancerSettings } {
  if (!raw) return {};
  const { kind, on, socket, backend, server, drain, enable, sessions, drain_timeout, drain_all } = raw;
  return {
    loadBalancer: {
      kind,
      on: on ?? 'local',
      ...(socket !== undefined ? { socket } : {}),
      ...(backend !== undefined ? { backend } : {}),
      server: server ?? '{{host}}',
      ...(drain !== undefined ? { drain } : {}),
      ...(enable !== undefined ? { enable } : {}),
      ...(sessions !== undefined ? { sessions } : {}),
      drainTimeoutMs: drain_timeout ?? DEFAULTS.drainTimeoutMs,
      drainAll: drain_all ?? false,
    },
  };
}

function healthSettings(raw: RawHealth): HealthSettings {
  return {
    ...(raw.roles !== undefined ? { roles: [...raw.roles] } : {}),
    ...(raw.http !== undefined ? { http: raw.http } : {}),
    ...(raw.tcp !== undefined ? { tcp: raw.tcp } : {}),
    ...(raw.command !== undefined ? { command: raw.command } : {}),
    expect: {
      status: raw.expect?.status ?? DEFAULTS.healthStatus,
      ...(raw.expect?.body !== undefined ? { body: raw.expect.body } : {}),
      ...(raw.expect?.header !== undefined ? { header: { ...raw.expect.header } } : {}),
    },
    timeoutMs: raw.timeout ?? DEFAULTS.healthTimeoutMs,
    intervalMs: raw.interval ?? DEFAULTS.healthIntervalMs,
  };
}
