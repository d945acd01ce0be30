/**
 * Public shapes of ship's configuration after it has been parsed, validated and resolved
 * for one stage. Everything downstream of src/config works on these plain values only.
 */

/** A problem found in a config or recipe file, with where it is. */
export interface ConfigProblem {
  file: string; // path as the user should see it (relative to cwd where possible)
  line: number; // 1-based; 0 when the problem has no position (e.g. a missing file)
  col: number; // 1-based
  path: string; // dotted key path, e.g. "stages.production.hosts.1.port"
  message: string; // what is wrong, and what would be right ("did you mean ...?")
}

export type KnownHostsPolicy = 'strict' | 'accept-new' | 'off';
export type Strategy = 'remote' | 'upload' | 'artifact';

export interface SshSettings {
  user?: string;
  port?: number;
  identity?: string; // path, `~` already expanded
  knownHosts: KnownHostsPolicy;
  jump?: string; // [user@]host[:port]
  /** ssh.algorithms, in OpenSSH syntax ("+diffie-hellman-group14-sha1"), per kind. */
  algorithms?: { kex?: string; hostKey?: string; cipher?: string; mac?: string };
  connectTimeoutMs: number;
  keepaliveMs: number;
}

export interface HealthExpect {
  status: number;
  body?: string; // substring; {{placeholders}} not yet filled
  header?: Record<string, string>; // header name (any case) -> substring; {{placeholders}} not yet filled
}

export interface HealthSettings {
  http?: string; // URL template ({{host}} etc. not yet filled)
  tcp?: string; // "host:port" template
  command?: string; // shell command run on the host; exit 0 = healthy
  expect: HealthExpect;
  timeoutMs: number;
  intervalMs: number;
  roles?: string[]; // only hosts with one of these roles; undefined = every host
}

export interface CheckSettings {
  urls: string[];
  diskMinBytes?: number;
}

export interface RolloutSettings {
  batch?: number;
  canary?: number;
}

/**
 * The load balancer in front of the hosts. haproxy: `socket` and `backend` are set; commands:
 * `drain` and `enable` (and maybe `sessions`) are set. Templates are not yet filled.
 */
export interface LoadBalancerSettings {
  kind: 'haproxy' | 'commands';
  on: string; // 'local' or a role
  socket?: string;
  backend?: string;
  server: string; // template: the host's name in the balancer
  drain?: string;
  enable?: string;
  sessions?: string;
  drainTimeoutMs: number;
  drainAll: boolean;
}

/** A task: shell commands written by the user or a recipe, run in the release directory. */
export interface TaskDef {
  name: string;
  run: string[]; // each entry is a shell fragment; {{vars}} filled and quoted at render time
  roles?: string[]; // undefined = every host
  once: boolean; // run on the primary host of its roles only
  local: boolean; // run on the deploying machine, once
  desc?: string;
  whenChanged?: string[]; // skip when these paths are identical in the new and the current release
  timeoutMs?: number; // stopped on the host after this long; undefined = no limit
  source: string; // "config" or "recipe:<name>"
}

/** One hook entry: the name of a task, or an inline task. */
export type HookEntry = { task: string } | { inline: TaskDef };

export interface HostConfig {
  /** The name as written in deploy.yaml; unique within the stage. */
  name: string;
  local: boolean;
  roles: string[];
  primary: boolean; // computed: declared, else the first db host, else the first host
  deployTo: string; // absolute for remote hosts; absolute (resolved against the config dir) for local
  ssh: SshSettings;
  env: Record<string, string>;
  vars: Record<string, string>;
}

export interface StageConfig {
  configPath: string; // absolute path of deploy.yaml
  configDir: string;
  app: string;
  stage: string;
  repo: string; // URL, file:// URL, or absolute local path
  repoTree?: string; // subdirectory of the repo that is the app
  branch?: string; // undefined = the repo's HEAD
  recipe: string;
  keepReleases: number;
  strategy: Strategy;
  shared: { dirs: string[]; files: string[] };
  env: Record<string, string>; // ${VAR} already expanded
  secrets: string[]; // names of env entries whose values are secret
  secretValues: string[]; // the values to redact everywhere (non-empty strings only)
  concurrency: number;
  confirm?: boolean; // ask before deploy/rollback; --yes answers in advance
  health?: HealthSettings; // the first of healthChecks (kept for callers that need one)
  healthChecks: HealthSettings[]; // every check; a host passes those whose roles it has
  check: CheckSettings;
  rollout: RolloutSettings;
  loadBalancer?: LoadBalancerSettings;
  notify?: { webhook?: string }; // ${VAR} expanded; the URL is also in secretValues
  tasks: Record<string, TaskDef>; // recipe tasks merged with config tasks
  hooks: Record<string, HookEntry[]>; // "before:build" -> entries
  vars: Record<string, string>;
  hosts: HostConfig[]; // all hosts of the stage, in file order
}
