/**
 * The command line's shape: every command, its arguments, options, help text and examples.
 * Each command's module is imported when that command runs, so `ship --version` and
 * `ship --help` start fast.
 */
import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { MAX_CONCURRENCY } from '../config/schema.js';
import { COMMAND_EXAMPLES, examplesText, OVERVIEW_EXAMPLES } from './examples.js';
import { parseCountFlag, parseDurationFlag } from './flags.js';
import { withHostSelection } from './host-selection.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** `setExitCode`: for a command that ends with its own exit code (ship ssh). */
export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('ship')
    .description('One-click deploys over SSH: releases, atomic symlink swaps, health checks, fleet-wide rollback.')
    .version(pkg.version, '-V, --version')
    .option('-c, --config <file>', 'config file (default: $SHIP_CONFIG, then deploy.yaml here or in the nearest directory above)')
    .option('--json', 'NDJSON events on stdout, logs on stderr')
    .option('-v, --verbose', 'show every command and its output')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .addOption(
      new Option('--concurrency <n>', `hosts worked on at once, 1 to ${MAX_CONCURRENCY} (default: config concurrency, 20)`).argParser((v) =>
        parseCountFlag('--concurrency', v, MAX_CONCURRENCY),
      ),
    )
    .addOption(
      new Option('--lock-wait <duration>', 'wait this long for a held lock instead of failing (e.g. 5m; at most 576h)').argParser((v) =>
        parseDurationFlag('--lock-wait', v),
      ),
    )
    .showHelpAfterError('(run ship help, or ship help <command>, for usage)')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride();

  withHostSelection(
    program
      .command('deploy')
      .description('deploy a stage: every host moves to the new release, or none does')
      .argument('<stage>', 'stage from deploy.yaml')
      .option('-r, --revision <ref>', 'branch, tag or sha to deploy (default: the stage branch, else the repo HEAD)'),
  )
    .option('--dry-run', 'connect nowhere; print, per host, every command that would run')
    .option('-y, --yes', 'confirm in advance a stage with confirm: true (required without a terminal)')
    .action(async (stage: string, opts, cmd: Command) => {
      const { deployCommand } = await import('./commands/deploy.js');
      return deployCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
    });

  withHostSelection(
    program
      .command('rollback')
      .description('move every host back to the previous good release (or --to ID)')
      .argument('<stage>', 'stage from deploy.yaml')
      .option('--to <id>', 'release id to go to (see ship releases)'),
  )
    .option('--dry-run', 'connect nowhere; print, per host, every command that would run')
    .option('-y, --yes', 'confirm in advance a stage with confirm: true (required without a terminal)')
    .action(async (stage: string, opts, cmd: Command) => {
      const { rollbackCommand } = await import('./commands/rollback.js');
      return rollbackCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
    });

  withHostSelection(
    program
      .command('releases')
      .description('per host: release ids, revisions, which is current, which failed, any lock')
      .argument('<stage>', 'stage from deploy.yaml'),
  ).action(async (stage: string, opts, cmd: Command) => {
    const { releasesCommand } = await import('./commands/releases.js');
    return releasesCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
  });

  withHostSelection(
    program
      .command('history')
      .description('who deployed what, when, and how it ended')
      .argument('<stage>', 'stage from deploy.yaml')
      .option('-n, --limit <n>', 'entries per host', '20'),
  ).action(async (stage: string, opts, cmd: Command) => {
    const { historyCommand } = await import('./commands/history.js');
    return historyCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
  });

  program
    .command('lock')
    .description('lock a stage on every host so nobody deploys (a maintenance window)')
    .argument('<stage>', 'stage from deploy.yaml')
    .option('--reason <text>', 'shown to whoever is refused')
    .action(async (stage: string, opts, cmd: Command) => {
      const { lockCommand } = await import('./commands/lock.js');
      return lockCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
    });

  program
    .command('unlock')
    .description('remove the lock on every host (a dead run, a finished window); a run that may still be going needs --force')
    .argument('<stage>', 'stage from deploy.yaml')
    .option('--force', 'remove locks whose run may still be going (its process alive here, or started elsewhere under 15 minutes ago)')
    .action(async (stage: string, opts, cmd: Command) => {
      const { unlockCommand } = await import('./commands/unlock.js');
      return unlockCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
    });

  withHostSelection(
    program
      .command('exec')
      .description('run a command in the current release of the selected hosts, output per host')
      .argument('<stage>', 'stage from deploy.yaml')
      .argument('<command...>', 'the command (after --)'),
  ).action(async (stage: string, command: string[], opts, cmd: Command) => {
    const { execCommand } = await import('./commands/exec.js');
    return execCommand(stage, command, { ...cmd.optsWithGlobals(), ...opts });
  });

  program
    .command('ssh')
    .description('an interactive shell in the current release of a host (the first by default)')
    .argument('<stage>', 'stage from deploy.yaml')
    .argument('[host]', 'host name as in deploy.yaml')
    .action(async (stage: string, host: string | undefined, opts, cmd: Command) => {
      const { sshCommand } = await import('./commands/ssh.js');
      // the shell's exit code becomes ship's
      setExitCode(await sshCommand(stage, host, { ...cmd.optsWithGlobals(), ...opts }));
    });

  withHostSelection(
    program
      .command('run')
      .description('run one task of the recipe alone, on its hosts')
      .argument('<stage>', 'stage from deploy.yaml')
      .argument('<task>', 'task name (see ship tasks)'),
  ).action(async (stage: string, task: string, opts, cmd: Command) => {
    const { runCommand } = await import('./commands/run.js');
    return runCommand(stage, task, { ...cmd.optsWithGlobals(), ...opts });
  });

  program
    .command('init')
    .description('write a deploy.yaml for this project (recipe, scripts, port detected; asks for hosts, ssh user, restart method)')
    .option('--recipe <name>', 'node, static, rails... (default: detected)')
    .option('--force', 'overwrite an existing deploy.yaml')
    .option('-y, --yes', 'write the detected defaults without asking (also without a terminal, or in CI)')
    .action(async (opts, cmd: Command) => {
      const { initCommand } = await import('./commands/init.js');
      return initCommand({ ...cmd.optsWithGlobals(), ...opts });
    });

  withHostSelection(
    program
      .command('setup')
      .description("prepare the hosts: directories, shared files, logrotate rule, the restart method's unit or advice")
      .argument('<stage>', 'stage from deploy.yaml'),
  ).action(async (stage: string, opts, cmd: Command) => {
    const { setupCommand } = await import('./commands/setup.js');
    return setupCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
  });

  withHostSelection(
    program.command('check').description('preflight: can this stage be deployed, and is it ready to be live').argument('<stage>', 'stage from deploy.yaml'),
  )
    .option('--notify', 'post to notify.webhook when checks start failing and when they recover (state kept in .ship/monitor/)')
    .action(async (stage: string, opts, cmd: Command) => {
      const { checkCommand } = await import('./commands/check.js');
      return checkCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
    });

  withHostSelection(
    program
      .command('logs')
      .description("the app's logs from every selected host, each line with its host; -f follows them until Ctrl-C")
      .argument('<stage>', 'stage from deploy.yaml'),
  )
    .option('-f, --follow', 'keep printing new lines from every host until Ctrl-C')
    .option('-n, --lines <n>', 'lines per log file to start with', '100')
    .option('--grep <regex>', 'only lines matching this extended regular expression (grep -E, on the hosts)')
    .action(async (stage: string, opts, cmd: Command) => {
      const { logsCommand } = await import('./commands/logs.js');
      return logsCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
    });

  program
    .command('backup')
    .description('back up the database now (vars.database), on the primary db host; list: the backups; verify: the restore drill')
    .argument('<stage|action>', 'stage from deploy.yaml, or list / verify')
    .argument('[stage]', 'the stage, after list or verify')
    .action(async (first: string, second: string | undefined, opts, cmd: Command) => {
      const { backupCommand } = await import('./commands/backup.js');
      return backupCommand(first, second, { ...cmd.optsWithGlobals(), ...opts });
    });

  program
    .command('restore')
    .description('restore the database from a backup (a fresh backup is taken first); always confirmed')
    .argument('<stage>', 'stage from deploy.yaml')
    .option('--from <backup>', 'latest, or a backup name from ship backup list')
    .option('-y, --yes', 'confirm in advance (required without a terminal)')
    .action(async (stage: string, opts, cmd: Command) => {
      const { restoreCommand } = await import('./commands/backup.js');
      return restoreCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
    });

  program
    .command('tasks')
    .description('every task of the recipe and deploy.yaml, with its slot, roles and origin')
    .argument('[stage]', 'stage whose tasks to list (default: the first)')
    .action(async (stage: string | undefined, opts, cmd: Command) => {
      const { tasksCommand } = await import('./commands/tasks.js');
      return tasksCommand(stage, { ...cmd.optsWithGlobals(), ...opts });
    });

  program.addHelpText(
    'after',
    `${examplesText(OVERVIEW_EXAMPLES)}\nIn an app, ship is a dev dependency: run it as npx --no ship (npx --no -- ship --version).\nDocs: node_modules/ship-deploy/README.md, and docs/ in ship's repository.\n`,
  );
  for (const command of program.commands) {
    const examples = COMMAND_EXAMPLES[command.name()];
    if (examples) command.addHelpText('after', examplesText(examples));
  }
  return program;
}
