/**
 * The steps of backups on the backup host, as values: take one (to a hidden partial file,
 * renamed when complete, 0600: a dump holds every user's data), list them, restore one, drill
 * one, record a drill. Pure.
 */
import type { HostConfig, StageConfig } from '../config/types.js';
import { serverPaths, type ServerPaths } from '../release/paths.js';
import { cmd, redirect, type Command } from '../shell/command.js';
import { lines, sh } from '../shell/sh.js';
import type { Step } from '../shell/script.js';
import { backupSettings, type BackupSettings } from './database.js';
import { carriedEnv, exportLibpq, libpqEnv, pgDrill, pgDump, pgRestore } from './postgres.js';
import { sqliteBackup, sqliteDrill, sqliteRestore } from './sqlite.js';

/** libpq's settings from the configured env (stage, then host), carried in the script's variables. */
export function libpqSettings(stage: StageConfig, host: HostConfig, s: BackupSettings): Record<string, string> {
  if (s.database.kind !== 'postgres') return {};
  const url = { ...stage.env, ...host.env }[s.database.urlVar];
  return url ? libpqEnv(url, `env.${s.database.urlVar}`) : {};
}

/** What the script exports for the backup steps of this host. */
export function backupScriptEnv(stage: StageConfig, host: HostConfig, s: BackupSettings): Record<string, string> {
  return carriedEnv(libpqSettings(stage, host, s));
}

/** Before a step that talks to the database: libpq's variables, from the script's. */
function connect(stage: StageConfig, host: HostConfig, s: BackupSettings): Command {
  return exportLibpq(Object.keys(libpqSettings(stage, host, s)));
}

/** Takes a backup named `name`; prints `backup <name> <bytes>`. */
export function takeBackupStep(stage: StageConfig, host: HostConfig, s: BackupSettings, name: string): Step {
  const file = `${s.dir}/${name}`;
  const partial = `${s.dir}/.${name}.partial`;
  const write = s.database.kind === 'postgres' ? pgDump(partial) : sqliteBackup(s.database.path, partial);
  return {
    label: 'backup',
    display: `backup ${s.database.kind} to ${file}`,
    command: lines(
      sh`set -e`,
      sh`umask 077`,
      sh`mkdir -p -- ${s.dir}`,
      connect(stage, host, s),
      sh`if ( ${write} ); then mv -f -- ${partial} ${file}; else __rc=$?; rm -f -- ${partial}; exit "$__rc"; fi`,
      sh`chmod 600 -- ${file}`,
      sh`printf 'backup %s %s\\n' ${name} "$(wc -c < ${file} | tr -d ' ')"`,
    ),
  };
}

/** One line per backup: `file <bytes> <mtime> <name>`. */
export function listBackupsStep(s: BackupSettings): Step {
  return {
    label: 'list backups',
    command: sh`if [ -d ${s.dir} ]; then cd -- ${s.dir} && for f in *; do [ -f "$f" ] && printf 'file %s %s %s\\n' "$(wc -c < "$f" | tr -d ' ')" "$(date -r "$f" +%s)" "$f"; done; fi; exit 0`,
  };
}

export interface ListedBackup {
  name: string;
  bytes: number;
  mtime: number;
}

export function parseBackupList(stdout: string): ListedBackup[] {
  return stdout.split('\n').flatMap((l) => {
    const m = /^file (\d+) (\d+) (.+)$/.exec(l);
    return m ? [{ bytes: Number(m[1]), mtime: Number(m[2]), name: m[3]! }] : [];
  });
}

export function restoreStep(stage: StageConfig, host: HostConfig, s: BackupSettings, name: string): Step {
  const file = `${s.dir}/${name}`;
  const write = s.database.kind === 'postgres' ? pgRestore(file) : sqliteRestore(s.database.path, file);
  return {
    label: 'restore',
    display: `restore ${s.database.kind} from ${file}`,
    command: lines(sh`set -e`, sh`if [ ! -f ${file} ]; then printf 'no backup %s in %s\\n' ${name} ${s.dir} >&2; exit 2; fi`, connect(stage, host, s), write),
  };
}

/** The drill; prints `result <value>`. `scratch` names PostgreSQL's temporary database. */
export function drillStep(stage: StageConfig, host: HostConfig, s: BackupSettings, name: string, scratch: string): Step {
  const file = `${s.dir}/${name}`;
  const drill = s.database.kind === 'postgres' ? pgDrill(file, scratch, s.verifyQuery) : sqliteDrill(file, s.verifyQuery);
  return {
    label: 'verify backup',
    display: `restore ${file} into a scratch copy, run the verification query`,
    command: lines(sh`set -e`, connect(stage, host, s), drill),
  };
}

/** A drill passed when its query answered with something other than nothing, 0 or false. */
export function judgeDrillResult(stdout: string): { ok: boolean; result?: string } {
  const result = /^result (.*)$/m.exec(stdout)?.[1]?.trim();
  if (result === undefined) return { ok: false };
  return { ok: result !== '' && !/^(0+|f|false)$/i.test(result), result };
}

export interface DrillRecord {
  at: string;
  backup: string;
  ok: boolean;
  result?: string;
  detail: string;
  by: string;
}

export const drillsFile = (paths: ServerPaths) => `${paths.shipDir}/backup-drills.jsonl`;

export function recordDrillStep(paths: ServerPaths, record: DrillRecord): Step {
  return {
    label: 'record drill',
    command: lines(sh`mkdir -p -- ${paths.shipDir}`, redirect(cmd('printf', '%s\\n', JSON.stringify(record)), { op: '>>', target: drillsFile(paths) })),
  };
}

/**
 * Every host's backup settings checked before anything connects (a bad vars.database or
 * database URL is a usage error, not a failure halfway through a deploy).
 */
export function validateBackupConfig(stage: StageConfig): void {
  for (const host of stage.hosts) {
    const settings = backupSettings(stage, host, serverPaths(host.deployTo));
    if (settings) takeBackupStep(stage, host, settings, 'check');
  }
}
