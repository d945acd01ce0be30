/**
 * PostgreSQL's side of backups: a `postgres://` URL becomes libpq's environment (PGHOST,
 * PGPASSWORD...), and the dump, restore and drill are command values. The client programs get
 * no connection argument at all: a password in `pg_dump postgres://u:pw@h/db` would sit in the
 * host's process list for the length of the dump. The values travel in the script's exported
 * variables (SHIP_DB_*, on standard input) and each step exports the PG* names it needs from
 * them, so a user's migrate script on the same host never sees libpq defaults it did not ask for.
 */
import { UsageError } from '../errors.js';
import { raw, type Command } from '../shell/command.js';
import { lines, sh } from '../shell/sh.js';

/** URL query parameters libpq also reads from the environment. */
const PARAMS: Record<string, string> = {
  host: 'PGHOST',
  port: 'PGPORT',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  dbname: 'PGDATABASE',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
};

const PREFIX = 'SHIP_DB_';

/**
 * `postgres://user:password@host:port/dbname?sslmode=require` → { PGUSER, PGPASSWORD, ... }.
 * `where` names the setting in errors; the URL itself never appears in one (it holds a password).
 */
export function libpqEnv(url: string, where: string): Record<string, string> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${where}: not a postgres:// URL (key=value connection strings are not supported here)`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    throw new UsageError(`${where}: expected a postgres:// or postgresql:// URL, got ${u.protocol}//...`);
  const out: Record<string, string> = {};
  const host = decodeURIComponent(u.hostname).replace(/^\[|\]$/g, '');
  if (host) out.PGHOST = host;
  if (u.port) out.PGPORT = u.port;
  if (u.username) out.PGUSER = decodeURIComponent(u.username);
  if (u.password) out.PGPASSWORD = decodeURIComponent(u.password);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (db) out.PGDATABASE = db;
  for (const [key, value] of u.searchParams) {
    const name = PARAMS[key];
    if (!name) throw new UsageError(`${where}: the URL parameter ${key} is not one ship passes to libpq (known: ${Object.keys(PARAMS).join(', ')})`);
    out[name] = value;
  }
  return out;
}

/** The script variables that carry libpq's settings (SHIP_DB_PGHOST...). */
export function carriedEnv(pg: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(pg).map(([k, v]) => [`${PREFIX}${k}`, v]));
}

/** Inside a step: export the PG* variables the URL set, from the script variables that carry them. */
export function exportLibpq(names: readonly string[]): Command {
  const exports = names.filter((n) => /^PG[A-Z_]+$/.test(n)).map((n) => sh`export ${raw(n)}="$${raw(`${PREFIX}${n}`)}"`);
  return exports.length ? lines(...exports) : sh`:`;
}

/** The custom format (-Fc): compressed, restorable table by table, checked by pg_restore. */
export function pgDump(file: string): Command {
  return sh`pg_dump --format=custom --no-owner --no-acl --file=${file}`;
}

/**
 * Into the database the URL names, in one transaction (a failed restore leaves it as it was):
 * what the dump holds is dropped first and recreated, so rows deleted since come back.
 */
export function pgRestore(file: string): Command {
  return lines(
    sh`if [ -z "\${PGDATABASE:-}" ]; then echo 'no database to restore into: the URL names none (postgres://user@host/DBNAME)' >&2; exit 2; fi`,
    sh`pg_restore --clean --if-exists --no-owner --no-acl --exit-on-error --single-transaction --dbname="$PGDATABASE" ${file}`,
  );
}

/**
 * The restore drill: a scratch database on the same server, the dump restored into it, the
 * verification query run there, the scratch database dropped whatever happened (an EXIT trap).
 * Prints `result <first value of the query>`.
 */
export function pgDrill(file: string, scratch: string, query: string): Command {
  if (!/^[a-z_][a-z0-9_]*$/.test(scratch)) throw new Error(`not a plain database name: ${scratch}`);
  const psql = 'psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1';
  return lines(
    sh`__psql() { ${raw(psql)} "$@"; }`,
    sh`__psql --command=${`CREATE DATABASE ${scratch}`} || { echo 'could not create a scratch database: the database user needs CREATEDB (ALTER ROLE ... CREATEDB)' >&2; exit 1; }`,
    sh`trap '__psql --command=${raw(`"DROP DATABASE IF EXISTS ${scratch}"`)} >/dev/null 2>&1 || echo "could not drop the scratch database ${raw(scratch)}: drop it by hand" >&2' EXIT`,
    sh`pg_restore --no-owner --no-acl --exit-on-error --dbname=${scratch} ${file}`,
    sh`__r=$(__psql --no-align --tuples-only --dbname=${scratch} --command=${query})`,
    sh`printf 'result %s\\n' "$(printf '%s\\n' "$__r" | head -n 1)"`,
  );
}
