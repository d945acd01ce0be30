import { backupHost, backupName, backupSettings } from '../backup/database.js';
import { backupScriptEnv, takeBackupStep } from '../backup/steps.js';
import { describeFailures, hookTasks, runOnEach, slotSteps, slotTasks, stepsFor, taskEnv, templateValues, type Member } from '../engine/index.js';
import { InterruptedError } from '../errors.js';
import { formatReleaseId } from '../release/id.js';
import { and, cmd, privately } from '../shell/command.js';
import type { Step } from '../shell/script.js';
import { pruneBackups } from './deploy-steps.js';
import { runHooks, runTasks } from './hooks.js';
import { stopOn } from './prepare.js';
import type { DeployRun } from './run.js';

/**
 * Phase 3b, migrations: once, on the primary, after a backup where one is defined; before any
 * swap. Then the before:publish hooks. Any failure throws (nothing was switched yet).
 */
export async function migrate(run: DeployRun): Promise<void> {
  const { stage, env } = run;
  const local = [...slotTasks(stage, 'backup'), ...slotTasks(stage, 'migrate')].filter((t) => t.local);
  stopOn(
    run,
    await runTasks(
      local,
      run.hooks((m) => run.inRelease(m)),
      'migrate (local)',
    ),
  );
  const once = await runOnEach(
    run.members,
    env,
    (m) => onceSteps(run, m),
    (m) => ({ ...taskEnv(stage, m.host, run.factsOf(m)), ...builtinBackupEnv(run, m) }),
  );
  // a migration skipped as unchanged (when_changed) did not run
  run.migrated = once.some((o) => o.steps.some((s) => s.kind === 'migrate' && s.exitCode === 0 && !s.skipped));
  stopOn(run, describeFailures(run.members, once));
  if (env.signal?.aborted) throw new InterruptedError('interrupted before publishing: nothing was changed, the new release was removed');
  stopOn(
    run,
    await runHooks(
      'before:publish',
      run.hooks((m) => run.inRelease(m)),
    ),
  );
}

/** The backup (with its directory and pruning) and migrate steps of one host: empty unless it is the primary. */
function onceSteps(run: DeployRun, m: Member): Step[] {
  const { stage } = run;
  const cwd = run.inRelease(m);
  const values = templateValues(stage, m.host, run.factsOf(m));
  const backup = builtinBackupSteps(run, m, values, cwd) ?? slotSteps('backup', stage, m.host, run.selected, values, cwd);
  const migrate = slotSteps('migrate', stage, m.host, run.selected, values, cwd);
  if (!backup.length) return migrate;
  const prune = pruneBackups(stage, m);
  // backups hold the database: made private (0700 directory, 0600 files), whatever the task does
  return [
    { label: 'backups dir', command: and(cmd('mkdir', '-p', '--', m.paths.shared), privately(cmd('mkdir', '-p', '--', run.factsOf(m).backup_path))) },
    ...backup.map((s) => ({ ...s, command: privately(s.command) })),
    ...(prune ? [{ label: 'prune backups', command: prune }] : []),
    ...migrate,
  ];
}

/**
 * The built-in database backup (vars.database) of this host, with the backup's hooks around
 * it: only on the backup host of the selected hosts, and only when deploy.yaml has no backup
 * task of its own. The file is named for the release being deployed.
 */
function builtinBackupSteps(run: DeployRun, m: Member, values: Record<string, string>, cwd: string): Step[] | undefined {
  const settings = builtinBackup(run, m);
  if (!settings) return undefined;
  const { stage } = run;
  const name = backupName(settings.database.kind, formatReleaseId(run.env.clock.now()), run.release, 'deploy');
  const hooks = (key: string) => stepsFor(hookTasks(stage, key), m.host, run.selected, values, cwd);
  return [...hooks('before:backup'), takeBackupStep(stage, m.host, settings, name), ...hooks('after:backup')];
}

function builtinBackup(run: DeployRun, m: Member) {
  if (run.stage.tasks.backup || backupHost(run.selected) !== m.host) return undefined;
  return backupSettings(run.stage, m.host, m.paths);
}

function builtinBackupEnv(run: DeployRun, m: Member): Record<string, string> {
  const settings = builtinBackup(run, m);
  return settings ? backupScriptEnv(run.stage, m.host, settings) : {};
}
