/** The pure parts of backups: settings from vars, libpq's environment from a URL, names, the commands, verdicts. */
import { describe, expect, it } from 'vitest';
import { backupName, backupSettings, checkBackupChoice, newestBackup, parseBackupName } from '../../src/backup/database.js';
import { libpqEnv } from '../../src/backup/postgres.js';
import { judgeDrillResult, takeBackupStep } from '../../src/backup/steps.js';
import { serverPaths } from '../../src/release/paths.js';
import { render } from '../../src/shell/render.js';
import { judgeDrill } from '../../src/setup/check/judge.js';
import { listTasks } from '../../src/setup/tasks-list.js';
import { localStage, task } from '../helpers/stage.js';

const paths = serverPaths('/srv/app');

describe('backupSettings', () => {
  const stage = (vars: Record<string, string>) => localStage('/repo', 1, { vars });
  it('is undefined without vars.database, or with none', () => {
    const s = stage({});
    expect(backupSettings(s, s.hosts[0]!, paths)).toBeUndefined();
    const none = stage({ database: 'none' });
    expect(backupSettings(none, none.hosts[0]!, paths)).toBeUndefined();
  });
  it('reads postgres with its URL variable, and sqlite with its path under shared/', () => {
    const pg = stage({ database: 'postgres', database_url_env: 'PRIMARY_DB' });
    expect(backupSettings(pg, pg.hosts[0]!, paths)).toMatchObject({
      database: { kind: 'postgres', urlVar: 'PRIMARY_DB' },
      dir: '/srv/app/shared/backups',
      verifyMaxAgeMs: 8 * 86_400_000,
    });
    const lite = stage({ database: 'sqlite', sqlite_path: 'db/app.sqlite3', backup_verify_query: 'SELECT count(*) FROM users' });
    expect(backupSettings(lite, lite.hosts[0]!, paths)).toMatchObject({
      database: { kind: 'sqlite', path: '/srv/app/shared/db/app.sqlite3' },
      verifyQuery: 'SELECT count(*) FROM users',
    });
  });
  it('refuses what it cannot back up, naming the var', () => {
    const bad = (vars: Record<string, string>) => {
      const s = stage(vars);
      return () => backupSettings(s, s.hosts[0]!, paths);
    };
    expect(bad({ database: 'mysql' })).toThrow('vars.database: "mysql" is not a database ship backs up (postgres, sqlite, or none)');
    expect(bad({ database: 'sqlite' })).toThrow(/^vars\.sqlite_path: required with database: sqlite/);
    expect(bad({ database: 'postgres', backup_verify_max_age: 'weekly' })).toThrow(/^vars\.backup_verify_max_age: expected a duration/);
    expect(bad({ database: 'postgres', database_url_env: 'A-B' })).toThrow('vars.database_url_env: "A-B" is not an environment variable name');
  });
});

describe('libpqEnv', () => {
  it('turns a URL into libpq variables, decoding each part', () => {
    expect(libpqEnv('postgres://shop:pa%24s%27w%22rd@db.internal:6432/shop_prod?sslmode=require&application_name=ship', 'env.DATABASE_URL')).toEqual({
      PGHOST: 'db.internal',
      PGPORT: '6432',
      PGUSER: 'shop',
      PGPASSWORD: `pa$s'w"rd`,
      PGDATABASE: 'shop_prod',
      PGSSLMODE: 'require',
      PGAPPNAME: 'ship',
    });
    expect(libpqEnv('postgresql:///shop?host=/var/run/postgresql', 'x')).toEqual({ PGDATABASE: 'shop', PGHOST: '/var/run/postgresql' });
  });
  it('refuses other schemes and unknown parameters without printing the URL', () => {
    expect(() => libpqEnv('mysql://u:secret@h/db', 'env.DATABASE_URL')).toThrow(
      'env.DATABASE_URL: expected a postgres:// or postgresql:// URL, got mysql://...',
    );
    expect(() => libpqEnv('host=h password=secret', 'env.DATABASE_URL')).toThrow(/^env\.DATABASE_URL: not a postgres:\/\/ URL/);
    expect(() => libpqEnv('postgres://u:secret@h/db?pool=5', 'env.DATABASE_URL')).toThrow(/the URL parameter pool is not one ship passes to libpq/);
  });
});

describe('backup names', () => {
  it('start with the time taken, carry the release and the reason, and sort by time', () => {
    const name = backupName('postgres', '20261130221500', '20261130221455', 'deploy');
    expect(name).toBe('20261130221500-20261130221455-deploy.pgdump');
    expect(parseBackupName(name)).toEqual({ name, takenAt: '20261130221500', release: '20261130221455', reason: 'deploy' });
    expect(parseBackupName('notes.txt')).toBeUndefined();
    const names = ['20261130221500-none-manual.pgdump', '20261201000000-20261130221455-pre-restore.pgdump', '20261202000000-none-manual.sqlite3', 'x.pgdump'];
    expect(newestBackup(names, 'postgres')).toBe('20261201000000-20261130221455-pre-restore.pgdump');
  });
  it('--from takes latest or a bare name, never a path', () => {
    expect(checkBackupChoice('latest')).toBe('latest');
    expect(() => checkBackupChoice('../x.pgdump')).toThrow(/expected latest or the name of a backup/);
  });
});

describe('the backup step', () => {
  it('writes a hidden partial file, renames it when complete, 0600, with no connection argument', () => {
    const s = localStage('/repo', 1, { vars: { database: 'postgres' }, env: { DATABASE_URL: 'postgres://u:secret@h:5432/db' } });
    const settings = backupSettings(s, s.hosts[0]!, paths)!;
    const text = render(takeBackupStep(s, s.hosts[0]!, settings, 'n.pgdump').command);
    expect(text).toContain('umask 077');
    expect(text).toContain('export PGPASSWORD="$SHIP_DB_PGPASSWORD"');
    expect(text).toContain('pg_dump --format=custom --no-owner --no-acl --file=/srv/app/shared/backups/.n.pgdump.partial');
    expect(text).toContain('mv -f -- /srv/app/shared/backups/.n.pgdump.partial /srv/app/shared/backups/n.pgdump');
    expect(text).not.toContain('secret');
  });
  it('refuses an SQLite path sqlite3 cannot take', () => {
    const s = localStage('/repo', 1, { vars: { database: 'sqlite', sqlite_path: "it's.db" } });
    const settings = backupSettings(s, s.hosts[0]!, paths)!;
    expect(() => takeBackupStep(s, s.hosts[0]!, settings, 'n.sqlite3')).not.toThrow();
    const quoted = serverPaths("/srv/o'brien");
    const q = backupSettings(s, s.hosts[0]!, quoted)!;
    expect(() => takeBackupStep(s, s.hosts[0]!, q, 'n.sqlite3')).toThrow(/sqlite3 cannot take a path holding a quote/);
  });
});

describe('drill verdicts', () => {
  it('a query answering nothing, 0 or false fails the drill', () => {
    expect(judgeDrillResult('result 12\n')).toEqual({ ok: true, result: '12' });
    expect(judgeDrillResult('result 0\n')).toEqual({ ok: false, result: '0' });
    expect(judgeDrillResult('result f\n')).toEqual({ ok: false, result: 'f' });
    expect(judgeDrillResult('')).toEqual({ ok: false });
  });
  it('check judges the age of the last successful drill on the host clock', () => {
    const at = '2026-11-30T00:00:00.000Z';
    const now = Date.parse(at) / 1000;
    const rec = JSON.stringify({ at, backup: 'b.pgdump', ok: true });
    expect(judgeDrill(rec, now + 3600, 86_400_000, 'prod')).toEqual({ status: 'pass', detail: 'last successful drill 1h0m ago (b.pgdump) (limit 1d)' });
    expect(judgeDrill(rec, now + 2 * 86_400, 86_400_000, 'prod').detail).toBe(
      'last successful drill 2d0h ago (b.pgdump), older than 1d (vars.backup_verify_max_age): run ship backup verify prod',
    );
    expect(judgeDrill(undefined, now, 1, 'prod')).toEqual({ status: 'fail', detail: 'no successful restore drill recorded: run ship backup verify prod' });
  });
});

describe('ship tasks', () => {
  it('lists the built-in backup in its slot, unless deploy.yaml has a backup task', () => {
    const s = localStage(
      '/repo',
      2,
      { vars: { database: 'postgres' }, tasks: { build: task('build', 'npm ci'), migrate: task('migrate', 'npm run migrate') } },
      [{}, { roles: ['db'] }],
    );
    expect(listTasks(s).tasks.map((t) => [t.name, t.source, t.roles.join(',')])).toEqual([
      ['build', 'config', ''],
      ['backup', 'built-in:postgres', 'db'],
      ['migrate', 'config', ''],
    ]);
    const own = localStage('/repo', 1, { vars: { database: 'postgres' }, tasks: { backup: task('backup', './dump.sh') } });
    expect(listTasks(own).tasks.map((t) => t.source)).toEqual(['config']);
  });
});
