/**
 * Which database a stage backs up, and how: read from its `vars:` once and checked, so the
 * deploy's backup step, `ship backup`, `ship restore`, `ship backup verify` and `ship check`
 * agree. Pure.
 *
 * `vars.database` names the kind of database the app keeps its state in (`postgres` or
 * `sqlite`), as a Rails `adapter` or a Django `ENGINE` does: one word a reader of deploy.yaml
 * understands without knowing ship, and room for more kinds later.
 */
import { posix } from 'node:path';
import type { HostConfig, StageConfig } from '../config/types.js';
import { parseDuration } from '../config/units.js';
import { UsageError } from '../errors.js';
import type { ServerPaths } from '../release/paths.js';
import { primaryFor } from '../engine/index.js';

export const DATABASE_KINDS = ['postgres', 'sqlite'] as const;
export type DatabaseKind = (typeof DATABASE_KINDS)[number];

export type Database = { kind: 'postgres'; urlVar: string } | { kind: 'sqlite'; path: string };

export interface BackupSettings {
  database: Database;
  /** <shared>/backups on the backup host. */
  dir: string;
  /** The drill's query; its first value must be non-empty and not 0/false. */
  verifyQuery: string;
  /** `ship check` fails when the last successful drill is older. */
  verifyMaxAgeMs: number;
}

export const DEFAULT_VERIFY_QUERY: Record<DatabaseKind, string> = {
  postgres: "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
  sqlite: "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
};
export const DEFAULT_VERIFY_MAX_AGE = '8d';
export const DEFAULT_URL_VAR = 'DATABASE_URL';

/** The host backups are taken on: the primary of the db role among `hosts`, else their primary. */
export function backupHost<T extends Pick<HostConfig, 'roles' | 'primary'>>(hosts: readonly T[]): T | undefined {
  const db = hosts.some((h) => h.roles.includes('db'));
  return primaryFor(hosts, db ? ['db'] : undefined);
}

/** The stage's built-in database backup, or undefined when `vars.database` is unset (or `none`). */
export function backupSettings(stage: StageConfig, host: HostConfig, paths: ServerPaths): BackupSettings | undefined {
  const vars = { ...stage.vars, ...host.vars };
  const kind = (vars.database ?? '').trim();
  if (kind === '' || kind === 'none') return undefined;
  if (!(DATABASE_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`vars.database: ${JSON.stringify(kind)} is not a database ship backs up (postgres, sqlite, or none)`);
  }
  const database = kind === 'postgres' ? postgres(vars) : sqlite(vars, paths);
  const age = parseDuration(vars.backup_verify_max_age ?? DEFAULT_VERIFY_MAX_AGE);
  if (!age.ok) throw new UsageError(`vars.backup_verify_max_age: ${age.error}`);
  const query = vars.backup_verify_query?.trim() || DEFAULT_VERIFY_QUERY[kind as DatabaseKind];
  return { database, dir: `${paths.shared}/backups`, verifyQuery: query, verifyMaxAgeMs: age.value };
}

function postgres(vars: Record<string, string>): Database {
  const urlVar = vars.database_url_env?.trim() || DEFAULT_URL_VAR;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(urlVar)) throw new UsageError(`vars.database_url_env: ${JSON.stringify(urlVar)} is not an environment variable name`);
  return { kind: 'postgres', urlVar };
}

function sqlite(vars: Record<string, string>, paths: ServerPaths): Database {
  const written = vars.sqlite_path?.trim();
  if (!written) throw new UsageError('vars.sqlite_path: required with database: sqlite (the database file; relative paths are under shared/)');
  const path = posix.isAbsolute(written) ? written : posix.join(paths.shared, written);
  return { kind: 'sqlite', path };
}

/** Why a backup was taken: it is part of the file's name. */
export type BackupReason = 'deploy' | 'manual' | 'pre-restore';

const EXTENSION: Record<DatabaseKind, string> = { postgres: 'pgdump', sqlite: 'sqlite3' };

/**
 * `<taken at>-<release>-<reason>.<ext>`, e.g. `20261130221500-20261130221455-deploy.pgdump`:
 * names sort by the time they were taken, and say which release's data they hold.
 */
export function backupName(kind: DatabaseKind, takenAt: string, release: string | undefined, reason: BackupReason): string {
  return `${takenAt}-${release ?? 'none'}-${reason}.${EXTENSION[kind]}`;
}

const NAME = /^(\d{14})-(\d{14}|none)-(deploy|manual|pre-restore)\.(pgdump|sqlite3)$/;

export interface BackupFile {
  name: string;
  takenAt: string;
  release?: string;
  reason: BackupReason;
}

export function parseBackupName(name: string): BackupFile | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  return { name, takenAt: m[1]!, ...(m[2] !== 'none' ? { release: m[2]! } : {}), reason: m[3] as BackupReason };
}

/** The newest of a directory listing's backups of this kind (by name: names start with the time taken). */
export function newestBackup(names: string[], kind: DatabaseKind): string | undefined {
  return names
    .filter((n) => n.endsWith(`.${EXTENSION[kind]}`) && NAME.test(n))
    .sort()
    .at(-1);
}

/** `--from`: `latest`, or the name of a file in the backups directory (never a path). */
export function checkBackupChoice(from: string): string {
  if (from === 'latest') return from;
  if (!NAME.test(from)) {
    throw new UsageError(
      `--from ${JSON.stringify(from)}: expected latest or the name of a backup in shared/backups (e.g. 20261130221500-20261130221455-deploy.pgdump)`,
      [],
      'ship backup list <stage> shows them',
    );
  }
  return from;
}
