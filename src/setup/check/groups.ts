/**
 * The headings `ship check` reads under, in the order of a go-live review: can it be deployed,
 * is it locked down, has it room, does it answer, are its logs kept, are its backups good, are
 * its certificates valid. Each check belongs to one heading; plain output and --json share them.
 */
export const CHECK_GROUPS = ['deploy', 'security', 'capacity', 'health', 'logs', 'backups', 'certificates'] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

export const GROUP_OF = {
  ssh: 'deploy',
  deploy_to: 'deploy',
  programs: 'deploy',
  lock: 'deploy',
  git: 'deploy',
  'host key': 'security',
  'password login': 'security',
  'security updates': 'security',
  dependencies: 'security',
  disk: 'capacity',
  health: 'health',
  restart: 'health',
  'load balancer': 'health',
  logrotate: 'logs',
  'rotated logs': 'logs',
  backups: 'backups',
  'restore drill': 'backups',
  tls: 'certificates',
} as const satisfies Record<string, CheckGroup>;

export type CheckName = keyof typeof GROUP_OF;

/** What each heading answers, printed under it. */
export const GROUP_TITLES: Record<CheckGroup, string> = {
  deploy: 'deploy: can ship reach, write to and lock every host',
  security: 'security: host keys, key-only login, patches, dependencies',
  capacity: 'capacity: free disk',
  health: 'health: does the app answer, and keep answering through a deploy',
  logs: 'logs: rotated and kept',
  backups: 'backups: recent, and restored in a drill',
  certificates: 'certificates: TLS, read from this machine',
};
