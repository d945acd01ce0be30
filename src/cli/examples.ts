/**
 * The examples `ship help <command>` shows, run as an app runs its own copy of ship
 * (`npx --no ship`: on the npm registry, `ship` is another package).
 */
export const OVERVIEW_EXAMPLES = [
  ['npx --no ship init', 'write deploy.yaml for this project'],
  ['npx --no ship setup production', 'directories, shared files, logrotate on every host'],
  ['npx --no ship check production', 'can it be deployed, and is it ready to be live?'],
  ['npx --no ship deploy production --dry-run', 'every command, per host; nothing is contacted'],
  ['npx --no ship deploy production', 'every host moves to the new release, or none does'],
  ['npx --no ship rollback production', 'every host back to the previous good release'],
  ['npx --no ship help <command>', "a command's options and examples"],
] as const;

export const COMMAND_EXAMPLES: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  deploy: [
    ['npx --no ship deploy production', 'the branch in deploy.yaml'],
    ['npx --no ship deploy production --revision v1.4.2', 'a tag, a branch or a full sha'],
    ['npx --no ship deploy production --dry-run', 'print the plan; contact nothing'],
    ['npx --no ship deploy staging --roles web --json', 'only web hosts, NDJSON events for CI'],
    ['npx --no ship deploy production --lock-wait 5m --yes', 'from CI: queue behind a running deploy'],
  ],
  rollback: [
    ['npx --no ship rollback production', 'the previous good release, on every host'],
    ['npx --no ship rollback production --to 20261122021500', 'a given release (see ship releases)'],
    ['npx --no ship rollback production --dry-run', 'print the plan; contact nothing'],
  ],
  releases: [
    ['npx --no ship releases production', 'per host: releases, revisions, current, failed'],
    ['npx --no ship releases production --json', 'one releases event per host'],
  ],
  history: [
    ['npx --no ship history production', 'the newest 20 entries per host'],
    ['npx --no ship history production -n 5 --roles web', 'five entries, web hosts only'],
  ],
  lock: [['npx --no ship lock production --reason "db upgrade until 14:00"', 'deploys are refused (exit 4) until unlocked']],
  unlock: [
    ['npx --no ship unlock production', 'remove a stale lock; says whose it was'],
    ['npx --no ship unlock production --force', 'also a lock whose run may still be going (one you know is gone)'],
  ],
  exec: [
    ['npx --no ship exec production -- uptime', 'on every host, in the current release'],
    ["npx --no ship exec production --roles web -- 'df -h . | tail -1'", 'a shell line, web hosts only'],
  ],
  ssh: [
    ['npx --no ship ssh production', 'a shell on the first host, in the current release'],
    ['npx --no ship ssh production web2.example.com', 'on a given host'],
  ],
  run: [
    ['npx --no ship run production migrate', 'one task (see ship tasks), with its hooks, under the lock'],
    ['npx --no ship run production warm --hosts web1.example.com', 'on one host'],
  ],
  init: [
    ['npx --no ship init', 'deploy.yaml for this project: asks for the hosts, ssh user and restart method'],
    ['npx --no ship init --yes', 'the detected defaults without asking (pm2, health on 127.0.0.1)'],
    ['npx --no ship init --recipe static --force', 'a given recipe; overwrite deploy.yaml'],
  ],
  setup: [
    ['npx --no ship setup production', 'directories, shared files, logrotate, the service unit'],
    ['npx --no ship setup production --verbose', 'also list what was already in place'],
  ],
  check: [
    ['npx --no ship check production', 'every check, every host; exit 1 when one fails'],
    ['npx --no ship check production --json', 'one check event per item'],
    ['npx --no ship check production --notify', 'from cron: post to notify.webhook when checks start failing or recover'],
  ],
  logs: [
    ['npx --no ship logs production', 'the last 100 lines of every log, every host, each line with its host'],
    ['npx --no ship logs production -f --roles web', 'follow the web hosts until Ctrl-C'],
    ["npx --no ship logs production -n 1000 --grep 'ERROR|WARN'", 'matching lines only (grep -E on the hosts)'],
  ],
  backup: [
    ['npx --no ship backup production', 'back up the database now (vars.database)'],
    ['npx --no ship backup list production', 'the backups in shared/backups'],
    ['npx --no ship backup verify production', 'the restore drill: restore the newest into a scratch database and query it'],
  ],
  restore: [
    ['npx --no ship restore production --from latest', 'confirmed; a fresh backup is taken first'],
    ['npx --no ship restore production --from 20261122021500-20261122021455-deploy --yes', 'a given backup, confirmed in advance'],
  ],
  tasks: [
    ['npx --no ship tasks', 'the tasks and hooks of the first stage'],
    ['npx --no ship tasks production', 'of a given stage'],
  ],
};

/** The "Examples:" block of a help text, commands aligned. */
export function examplesText(examples: readonly (readonly [string, string])[]): string {
  const width = Math.max(...examples.map(([command]) => command.length));
  return `\nExamples:\n${examples.map(([command, what]) => `  ${command.padEnd(width)}  # ${what}`).join('\n')}\n`;
}
