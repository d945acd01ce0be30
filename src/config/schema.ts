/**
 * deploy.yaml, described once. The validator, the JSON Schema in
 * templates/deploy.schema.json and the types of validated data all come from here.
 */
import { bool, duration, enumOf, int, list, map, obj, oneOf, req, scalar, size, str, type Infer } from './dsl.js';
import { insideTreeProblem } from './paths.js';

/** Hosts worked on at once, at most: past this a value is a typo (each host costs sockets and memory). */
export const MAX_CONCURRENCY = 1000;

/** Defaults applied when a stage is resolved; also shown in the JSON Schema. */
export const DEFAULTS = {
  recipe: 'base',
  keepReleases: 5,
  strategy: 'remote',
  knownHosts: 'strict',
  connectTimeoutMs: 10_000,
  keepaliveMs: 15_000,
  concurrency: 20,
  healthStatus: 200,
  healthTimeoutMs: 60_000,
  healthIntervalMs: 1_000,
  drainTimeoutMs: 30_000,
  hostRoles: ['web', 'app'],
} as const;

/** {{name}} template names filled by ship itself; `vars:` may not redefine them. */
export const TEMPLATE_NAMES = [
  'app',
  'stage',
  'host',
  'release',
  'release_path',
  'current_path',
  'shared_path',
  'deploy_to',
  'revision',
  'branch',
  'previous_release',
  'backup_path', // <shared>/backups: where backup tasks write, pruned to backup_keep
  'address', // the address ship connects to: ssh_config's HostName, else the host's name
] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const NAME_HINT = '(letters, digits, ".", "_" and "-")';
const TASK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const TASK_NAME_HINT = 'a task name (letters, digits, ".", "_", ":" and "-")';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const IDENTIFIER_HINT = '(letters, digits and "_", not starting with a digit)';
const HOOK_KEY = /^(before|after):[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const HOST = /^[^\s@/]+$/;
const HOST_HINT = 'a host name or IP address (set the login user with user:, not user@)';
const URL = /^https?:\/\/\S+$/;

function insideRelease(what: string): (value: string) => string | undefined {
  return (value) => (insideTreeProblem(value) ? `expected a path inside ${what} (relative, without ".."), got ${JSON.stringify(value)}` : undefined);
}

const role = str({ pattern: NAME, patternHint: `a role name ${NAME_HINT}` });

/** An OpenSSH algorithm list: names (with * and ?) separated by commas, after an optional +, - or ^. */
function algorithmList(description: string) {
  return str({
    pattern: /^[+\-^]?[A-Za-z0-9@.*?_-]+(,[A-Za-z0-9@.*?_-]+)*$/,
    patternHint: 'algorithm names separated by commas, optionally after "+", "-" or "^" (e.g. "+diffie-hellman-group14-sha1")',
    description,
  });
}

const ssh = obj(
  {
    user: str({ minLength: 1, description: 'Login user. Default: as OpenSSH would choose (~/.ssh/config, else your user name).' }),
    port: int({ min: 1, max: 65535, description: 'SSH port. Default: 22, or as in ~/.ssh/config.' }),
    identity: str({
      minLength: 1,
      description:
        'Private key file ("~" = your home, relative = next to deploy.yaml); only this key is tried. ' +
        'Default: ssh-agent (SSH_AUTH_SOCK), then ~/.ssh/id_ed25519, ~/.ssh/id_rsa. An encrypted key without an agent is reported with what to do.',
    }),
    known_hosts: enumOf(['strict', 'accept-new', 'off'], {
      default: DEFAULTS.knownHosts,
      description:
        'Host key policy. strict: the key must be in ~/.ssh/known_hosts or SHIP_KNOWN_HOSTS (hashed entries, [host]:port entries and wildcards are understood); ' +
        'accept-new: unknown hosts are added, changed keys refused; off: no check. A refusal names the host, the key type and its SHA256 fingerprint, and how to trust it.',
    }),
    jump: str({ minLength: 1, description: 'A bastion to connect through: [user@]host[:port].' }),
    algorithms: obj(
      {
        kex: algorithmList('Key exchange algorithms (as KexAlgorithms in ~/.ssh/config).'),
        host_key: algorithmList('Host key algorithms (as HostKeyAlgorithms in ~/.ssh/config).'),
        ciphers: algorithmList('Ciphers (as Ciphers in ~/.ssh/config).'),
        macs: algorithmList('MACs (as MACs in ~/.ssh/config).'),
      },
      {
        description:
          'Algorithms to offer, in OpenSSH syntax: "+a,b" adds to the defaults, "-a" removes, "^a" puts first, ' +
          'a plain list replaces them. Wins over ~/.ssh/config; applies to the jump host too. ' +
          'Example: kex: "+diffie-hellman-group14-sha1" for a server that offers only SHA-1 key exchange.',
      },
    ),
    connect_timeout: duration({
      default: DEFAULTS.connectTimeoutMs,
      description: 'How long to wait for a connection and its handshake.',
    }),
    keepalive: duration({
      default: DEFAULTS.keepaliveMs,
      description: 'Interval of SSH keepalive messages; a host that misses several is dropped.',
    }),
  },
  {
    id: 'ssh',
    description: 'How hosts are reached over SSH. Merged field by field: host over stage over top level.',
  },
);

const env = map(scalar(), {
  id: 'env',
  keys: { pattern: IDENTIFIER, hint: `an environment variable name ${IDENTIFIER_HINT}` },
  description:
    'Environment variables exported to every task. ${NAME} (or ${NAME:-default}) is read from the ' +
    'environment of the machine running ship (a missing one is an error naming it and where, checked only for the stage being deployed); write $${ for a literal "${". ' +
    'Merged by name: host over stage over top level.',
});

const vars = map(scalar(), {
  id: 'vars',
  keys: { pattern: IDENTIFIER, hint: `a template name ${IDENTIFIER_HINT}` },
  description: "Extra values for {{name}} in commands and URLs (a recipe's vars are defaults). Merged by name: host over stage over top level.",
});

const command = str({ description: 'A shell command, run in the release directory.' });
const commands = list(str(), { description: 'Shell commands, run in order. [] turns a recipe task off.' });

const taskObject = obj(
  {
    run: req(oneOf([command, commands], { description: 'The command or commands to run.' })),
    roles: list(role, { minItems: 1, description: 'Run only on hosts with one of these roles. Default: every host.' }),
    once: bool({
      default: false,
      description: 'Run on one host only: the primary host of its roles. Always so for backup and migrate unless they say once: false.',
    }),
    local: bool({ default: false, description: 'Run once on the machine running ship, not on the hosts.' }),
    desc: str({ description: 'What the task does, shown by `ship tasks`.' }),
    when_changed: oneOf([str({ check: insideRelease('the release') }), list(str({ check: insideRelease('the release') }), { minItems: 1 })], {
      description: 'Skip the task when these paths are identical in the new release and the current one (e.g. migrate: { when_changed: db/migrations }).',
    }),
    timeout: duration({
      description:
        'Longest the task may run on a host (e.g. 10m). On expiry it is stopped there (its processes signalled) and the run fails at that point, ' +
        'going back as after any failure. Default: no limit.',
    }),
  },
  { id: 'taskObject', description: 'A task with options.' },
);

const task = oneOf([command, commands, taskObject], {
  id: 'task',
  description: 'A task: a command, a list of commands, or a map with run and options.',
});

const hookEntry = oneOf([str({ minLength: 1, description: 'The name of a task (of the recipe or of tasks:).' }), taskObject], {
  id: 'hookEntry',
  description: 'A task name, or an inline task.',
});

const shared = obj(
  {
    dirs: list(str({ check: insideRelease('the release') }), {
      description: 'Directories kept in <deploy_to>/shared and linked into every release; missing ones are created.',
    }),
    files: list(str({ check: insideRelease('the release') }), {
      description:
        'Files kept in <deploy_to>/shared and linked into every release. A missing one fails the deploy (it would start the app misconfigured); `ship setup` creates it empty.',
    }),
  },
  { id: 'shared', description: 'What survives from release to release. Merged field by field.' },
);

const check = obj(
  {
    urls: list(str({ pattern: URL, patternHint: 'an http:// or https:// URL' }), {
      description: 'URLs whose TLS certificates `ship check` verifies, from this machine.',
    }),
    disk_min: size({ description: 'Least free space `ship check` accepts under deploy_to, e.g. "1GB". Default: 1GB.' }),
  },
  { id: 'check', description: 'Extra inputs for `ship check`. Merged field by field.' },
);

const healthCheck = obj(
  {
    http: str({
      pattern: URL,
      patternHint: 'an http:// or https:// URL',
      description:
        'URL fetched from the host itself through the SSH connection (no port needs to be open to you; on a local host, directly), e.g. http://127.0.0.1:3000/health.',
    }),
    tcp: str({ minLength: 1, description: '"host:port" that must accept a TCP connection, from the host itself.' }),
    command: str({ minLength: 1, description: 'A command run on the host in the new release; exit code 0 means healthy.' }),
    expect: obj(
      {
        status: int({ min: 100, max: 599, default: DEFAULTS.healthStatus, description: 'The HTTP status required.' }),
        body: str({
          description:
            'A substring the HTTP response body must contain. {{release}}, {{revision}} and the other placeholders are filled per host, ' +
            'so "{{release}}" proves the new release answers, not an old process still holding the port.',
        }),
        header: map(str(), {
          keys: { pattern: /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, hint: 'an HTTP header name' },
          minEntries: 1,
          description:
            'Headers the HTTP answer must carry, by name (any case): each value must contain the given text, placeholders filled per host ' +
            '(e.g. x-release: "{{release}}").',
        }),
      },
      { description: 'What a healthy HTTP answer looks like.' },
    ),
    timeout: duration({ default: DEFAULTS.healthTimeoutMs, description: 'How long a host may take to become healthy.' }),
    interval: duration({ default: DEFAULTS.healthIntervalMs, description: 'Time between two attempts (every attempt is reported).' }),
    roles: list(role, { minItems: 1, description: 'Check only hosts with one of these roles. Default: every host.' }),
  },
  {
    id: 'healthCheck',
    atLeastOne: ['http', 'tcp', 'command'],
    description: 'A check hosts must pass after publish.',
  },
);

const health = oneOf([healthCheck, list(healthCheck, { minItems: 1 })], {
  id: 'health',
  description:
    "The check each host must pass after publish, or a list of checks each limited to some roles (web: http, worker: command). A stage's health replaces the top-level one.",
});

const rollout = obj(
  {
    batch: int({ min: 1, description: 'Publish this many hosts at a time.' }),
    canary: int({ min: 1, description: 'Publish this many hosts first; the rest follow once they are healthy.' }),
  },
  {
    id: 'rollout',
    exclusive: [['batch', 'canary']],
    description: "Publish order. Default: every host at once. A stage's rollout replaces the top-level one.",
  },
);

const loadBalancer = obj(
  {
    kind: req(
      enumOf(['haproxy', 'commands'], {
        description: 'haproxy: its runtime API over the admin socket; commands: your own drain and enable commands (nginx, a cloud CLI).',
      }),
    ),
    on: str({
      pattern: /^(local|[a-z][a-z0-9_-]*)$/,
      patternHint: '"local" or a role name',
      default: 'local',
      description: 'Where the balancer is driven from: local (this machine), or a role: the first selected host with that role.',
    }),
    socket: str({
      minLength: 1,
      description: 'haproxy: the admin socket ("stats socket ... level admin"): a path, or host:port for a TCP socket.',
    }),
    backend: str({ minLength: 1, description: "haproxy: the backend that holds the app's servers." }),
    server: str({
      minLength: 1,
      default: '{{host}}',
      description: 'How each host is named in the balancer; placeholders as in tasks ({{host}}, {{address}}, vars).',
    }),
    drain: str({ minLength: 1, description: 'commands: takes {{server}} out of rotation (new requests go elsewhere).' }),
    enable: str({ minLength: 1, description: 'commands: puts {{server}} back in rotation.' }),
    sessions: str({
      minLength: 1,
      description: 'commands: prints the number of requests or connections {{server}} still has; waited for until 0. Without it ship waits drain_timeout.',
    }),
    drain_timeout: duration({
      default: DEFAULTS.drainTimeoutMs,
      description: 'Longest wait for a drained server to finish its open sessions before its swap.',
    }),
    drain_all: bool({
      default: false,
      description: 'Allow a rollout wave to drain every server of the backend at once (an outage). Off: such a deploy is refused.',
    }),
  },
  {
    id: 'loadBalancer',
    description:
      'The load balancer in front of the hosts. Each host of a wave is drained, waited for, swapped, restarted, health-checked and enabled again, on the way back too.',
  },
);

const sshShortcut = (field: string) => `Shortcut for ssh.${field} on this host.`;

const hostObject = obj(
  {
    host: req(
      str({
        pattern: HOST,
        patternHint: HOST_HINT,
        description: 'Host name or IP address. An alias of ~/.ssh/config works: its HostName, User, Port, IdentityFile and ProxyJump are honoured.',
      }),
    ),
    roles: list(role, { minItems: 1, description: 'Roles of this host. Default: [web, app].' }),
    primary: bool({
      default: false,
      description: 'Runs once-only work (migrations) for its roles. Default: the first db host, else the first host.',
    }),
    local: bool({ default: false, description: 'This machine: commands run here, without SSH.' }),
    deploy_to: str({ minLength: 1, description: 'Overrides deploy_to; may be relative (to deploy.yaml) for a local host.' }),
    user: { ...ssh.fields.user, description: sshShortcut('user') },
    port: { ...ssh.fields.port, description: sshShortcut('port') },
    identity: { ...ssh.fields.identity, description: sshShortcut('identity') },
    jump: { ...ssh.fields.jump, description: sshShortcut('jump') },
    ssh,
    env,
    vars,
  },
  { id: 'hostObject', description: 'A host with options.' },
);

const host = oneOf([str({ pattern: HOST, patternHint: HOST_HINT, description: 'A host name; its roles are [web, app].' }), hostObject], {
  id: 'host',
  description: 'A host of the stage.',
});

/** Keys allowed both at the top level and in a stage (where they override the top level). */
const common = {
  app: str({ pattern: NAME, patternHint: `an app name ${NAME_HINT}`, description: 'Name of the application.' }),
  repo: str({
    minLength: 1,
    description: 'Git repository: a URL, a file:// URL, or a local path (relative to deploy.yaml).',
  }),
  repo_tree: str({
    check: insideRelease('the repository'),
    description: 'Subdirectory of the repository that holds the app; only it is deployed.',
  }),
  recipe: str({
    minLength: 1,
    default: DEFAULTS.recipe,
    description: 'A built-in recipe (base, node, static, rails) or the path of a recipe file (relative to deploy.yaml).',
  }),
  deploy_to: str({
    minLength: 1,
    description: 'Absolute path of the app on the hosts. Required: here, in each stage, or on each host.',
  }),
  keep_releases: int({ min: 1, default: DEFAULTS.keepReleases, description: 'How many releases to keep on each host.' }),
  strategy: enumOf(['remote', 'upload', 'artifact'], {
    default: DEFAULTS.strategy,
    description:
      'remote: each host keeps a bare mirror in <deploy_to>/repo and fetches only when it lacks the sha (the hosts need access to the repository); upload: one `git archive` made here is streamed to every host; artifact: the release is built once here (install, build, package) in a clean tree of the sha, packed and streamed to every host, which builds nothing.',
  }),
  branch: str({ minLength: 1, description: "Branch (or tag) deployed. Default: the repository's HEAD." }),
  shared,
  env,
  secrets: list(str({ pattern: IDENTIFIER, patternHint: `an environment variable name ${IDENTIFIER_HINT}` }), {
    description:
      'Names of env entries whose values are never printed: they (and any ${VAR} they came from) are replaced by [REDACTED] in all output, JSON events, errors and history. A stage adds to the top-level list.',
  }),
  vars,
  ssh,
  concurrency: int({ min: 1, max: MAX_CONCURRENCY, default: DEFAULTS.concurrency, description: 'How many hosts are worked on at once.' }),
  confirm: bool({
    default: false,
    description:
      'Ask "deploy demo to production (3 hosts)? [y/N]" before a deploy or rollback of this stage on a terminal; declining changes nothing (exit 1). Without a terminal (CI, a pipe, --json) the run refuses (exit 2) unless --yes is given. For production.',
  }),
  check,
  health,
  rollout,
  load_balancer: loadBalancer,
  notify: obj(
    {
      webhook: str({
        pattern: /^(https?:\/\/\S+|\$\{[A-Za-z_][A-Za-z0-9_]*\})$/,
        patternHint: 'an http(s) URL, or ${NAME} to read it from the environment',
        description:
          'URL that receives a JSON summary (with a Slack-compatible "text" field) after every deploy and rollback, success or failure. Treated as a secret; ${NAME} reads it from the environment.',
      }),
    },
    { id: 'notify', description: 'Who hears about deploys. A webhook that fails never fails the deploy.' },
  ),
  tasks: map(task, {
    id: 'tasks',
    keys: { pattern: TASK_NAME, hint: TASK_NAME_HINT },
    description: "Tasks added, or overriding a recipe's tasks by name. A stage's tasks override these by name.",
  }),
  hooks: map(list(hookEntry), {
    id: 'hooks',
    keys: { pattern: HOOK_KEY, hint: '"before:<task>" or "after:<task>"' },
    description: "Tasks run around a task or a deploy step, e.g. after:publish: [notify]. A stage's hooks override these by name.",
  }),
};

const stage = obj(
  {
    ...common,
    hosts: req(list(host, { minItems: 1, description: 'The hosts of this stage.' })),
  },
  {
    id: 'stage',
    description: 'A target environment. Any top-level key may be overridden here.',
    misplaced: { stages: 'stages cannot be nested' },
  },
);

const hostsHint = 'hosts are listed per stage, under stages.<name>.hosts';

export const configSchema = obj(
  {
    app: req(common.app),
    repo: req(common.repo),
    ...(({ app: _a, repo: _r, ...rest }) => rest)(common),
    stages: req(
      map(stage, {
        minEntries: 1,
        keys: { pattern: NAME, hint: `a stage name ${NAME_HINT}` },
        description: 'The target environments, e.g. production, staging, local.',
      }),
    ),
  },
  {
    description: 'ship deployment configuration (deploy.yaml). Keys starting with x- are ignored: use them for YAML anchors.',
    extensionKeys: /^x-/,
    misplaced: { hosts: hostsHint, servers: hostsHint },
  },
);

export type RawConfig = Infer<typeof configSchema>;
export type RawStage = Infer<typeof stage>;
export type RawHost = Infer<typeof host>;
export type RawHostObject = Infer<typeof hostObject>;
export type RawSsh = Infer<typeof ssh>;
export type RawTask = Infer<typeof task>;
export type RawTaskObject = Infer<typeof taskObject>;
export type RawHookEntry = Infer<typeof hookEntry>;
export type RawHealth = Infer<typeof healthCheck>;
export type RawHealthField = Infer<typeof health>;
export type RawLoadBalancer = Infer<typeof loadBalancer>;
