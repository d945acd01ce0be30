/**
 * `ship backup`, `ship backup list`, `ship restore` and `ship backup verify`: each connects to
 * the backup host alone (the primary of the db role) and runs its steps there in one script.
 * A backup only reads the database, so it takes no lock and may run during a deploy; a
 * restore holds the stage's lock on that host, so no deploy migrates under it.
 */
import { randomBytes } from 'node:crypto';
import type { StageConfig } from '../config/types.js';
import { closeFleet, type Member, openFleet, releaseFleet, type RunEnv, runOn, taskEnv } from '../engine/index.js';
import { DeployError, UsageError } from '../errors.js';
import { nextReleaseId } from '../release/id.js';
import type { Step } from '../shell/script.js';
import { currentFacts } from '../ops/exec.js';
import { type BackupReason, type BackupSettings, backupHost, backupName, backupSettings, newestBackup, parseBackupName } from './database.js';
import {
  backupScriptEnv,
  drillStep,
  judgeDrillResult,
  type ListedBackup,
  listBackupsStep,
  parseBackupList,
  recordDrillStep,
  restoreStep,
  takeBackupStep,
} from './steps.js';

export interface TakenBackup {
  host: string;
  name: string;
  bytes: number;
  release?: string;
}

interface BackupTarget {
  m: Member;
  settings: BackupSettings;
  run(steps: Step[]): ReturnType<typeof runOn>;
}

/** Opens the backup host (locked for `lock`), runs `work`, closes (and unlocks) whatever happens. */
async function onBackupHost<T>(stage: StageConfig, env: RunEnv, lock: string | undefined, work: (t: BackupTarget) => Promise<T>): Promise<T> {
  const host = backupHost(stage.hosts)!;
  const { members, token } = await openFleet(stage, [host], env, lock ? { lock: { command: lock } } : {});
  const m = members[0]!;
  try {
    const settings = backupSettings(stage, m.host, m.paths);
    if (!settings) throw notConfigured(stage);
    const facts = currentFacts(stage, m);
    const scriptEnv = { ...(facts ? taskEnv(stage, m.host, facts) : {}), ...backupScriptEnv(stage, m.host, settings) };
    const run = (steps: Step[]) =>
      runOn(env, { host: m.host.name, transport: m.transport, steps, env: scriptEnv, quiet: true, ...(env.signal ? { signal: env.signal } : {}) });
    return await work({ m, settings, run });
  } finally {
    if (lock) await releaseFleet(members, token, env);
    else await closeFleet(members);
  }
}

export function notConfigured(stage: StageConfig): UsageError {
  return new UsageError(
    `stage ${stage.stage} has no database to back up: set vars.database (postgres or sqlite)`,
    [],
    stage.tasks.backup ? `your own backup task runs with: ship run ${stage.stage} backup` : 'see docs/going-live.md, "Backups"',
  );
}

/** Fails the command with the step's error (host, step, redacted command, stderr tail). */
function orThrow(outcome: Awaited<ReturnType<typeof runOn>>, what: string): void {
  if (!outcome.ok) throw new DeployError(`${what} failed`, [outcome.error?.message ?? `exit ${outcome.exitCode}`]);
}

/**
 * Named for now, unless a backup already there was taken in this second or later (a restore's
 * `pre-restore` backup a moment ago, another `ship backup`): then the second after it, so no
 * backup overwrites another and `latest` is the one just taken.
 */
async function take(t: BackupTarget, stage: StageConfig, env: RunEnv, reason: BackupReason, listed?: ListedBackup[]): Promise<TakenBackup> {
  const release = t.m.state.current;
  const taken = (listed ?? (await list(t))).flatMap((b) => parseBackupName(b.name)?.takenAt ?? []);
  const name = backupName(t.settings.database.kind, nextReleaseId(env.clock.now(), taken), release, reason);
  const outcome = await t.run([takeBackupStep(stage, t.m.host, t.settings, name)]);
  orThrow(outcome, `backup on ${t.m.host.name}`);
  const bytes = Number(/^backup \S+ (\d+)$/m.exec(outcome.steps[0]?.stdout ?? '')?.[1] ?? 0);
  return { host: t.m.host.name, name, bytes, ...(release ? { release } : {}) };
}

/** `ship backup <stage>`: one backup now, on the backup host. */
export function takeBackup(stage: StageConfig, env: RunEnv): Promise<TakenBackup> {
  return onBackupHost(stage, env, undefined, (t) => take(t, stage, env, 'manual'));
}

async function list(t: BackupTarget): Promise<ListedBackup[]> {
  const outcome = await t.run([listBackupsStep(t.settings)]);
  orThrow(outcome, `listing backups on ${t.m.host.name}`);
  return parseBackupList(outcome.steps[0]?.stdout ?? '');
}

/** `ship backup list <stage>`: the files in shared/backups, oldest first. */
export function listBackups(stage: StageConfig, env: RunEnv): Promise<{ host: string; dir: string; backups: ListedBackup[] }> {
  return onBackupHost(stage, env, undefined, async (t) => ({
    host: t.m.host.name,
    dir: t.settings.dir,
    backups: (await list(t)).sort((a, b) => a.name.localeCompare(b.name)),
  }));
}

function choose(listed: ListedBackup[], from: string, t: BackupTarget): string {
  const names = listed.map((b) => b.name);
  const chosen = from === 'latest' ? newestBackup(names, t.settings.database.kind) : names.find((n) => n === from);
  if (!chosen) {
    const what = from === 'latest' ? `no ${t.settings.database.kind} backup` : `no backup named ${from}`;
    throw new DeployError(`${what} in ${t.settings.dir} on ${t.m.host.name}: nothing was restored`);
  }
  return chosen;
}

export interface Restored {
  host: string;
  restored: string;
  /** The backup taken just before, of the data the restore replaced. */
  saved: TakenBackup;
}

/** `ship restore <stage> --from NAME|latest`: a fresh backup first, then the restore, under the lock. */
export function restoreBackup(stage: StageConfig, env: RunEnv, from: string): Promise<Restored> {
  return onBackupHost(stage, env, 'restore', async (t) => {
    const listed = await list(t);
    const chosen = choose(listed, from, t);
    const saved = await take(t, stage, env, 'pre-restore', listed);
    orThrow(
      await t.run([restoreStep(stage, t.m.host, t.settings, chosen)]),
      `restore of ${chosen} on ${t.m.host.name} (the data before it is in ${saved.name})`,
    );
    return { host: t.m.host.name, restored: chosen, saved };
  });
}

export interface Drill {
  host: string;
  backup: string;
  ok: boolean;
  result?: string;
  detail: string;
}

/** `ship backup verify <stage>`: the newest backup restored into a scratch copy and queried; the outcome recorded on the host. */
export function verifyBackup(stage: StageConfig, env: RunEnv): Promise<Drill> {
  return onBackupHost(stage, env, undefined, async (t) => {
    const backup = choose(await list(t), 'latest', t);
    const scratch = `ship_verify_${randomBytes(6).toString('hex')}`;
    const outcome = await t.run([drillStep(stage, t.m.host, t.settings, backup, scratch)]);
    const judged = judgeDrillResult(outcome.steps[0]?.stdout ?? '');
    const ok = outcome.ok && judged.ok;
    const detail = !outcome.ok
      ? `the restore or the query failed: ${env.redact(outcome.error?.stderrTail.slice(-3).join(' / ') || `exit ${outcome.exitCode}`)}`
      : judged.ok
        ? `restored and queried: ${judged.result}`
        : `restored, but the verification query answered ${JSON.stringify(judged.result ?? '')}`;
    const drill: Drill = { host: t.m.host.name, backup, ok, ...(judged.result !== undefined ? { result: judged.result } : {}), detail };
    const record = {
      at: env.clock.now().toISOString(),
      backup,
      ok,
      ...(drill.result !== undefined ? { result: drill.result } : {}),
      detail,
      by: env.operator.user,
    };
    orThrow(await t.run([recordDrillStep(t.m.paths, record)]), `recording the drill on ${t.m.host.name}`);
    return drill;
  });
}
