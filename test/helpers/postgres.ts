/**
 * A real PostgreSQL server for the end-to-end tests: a fresh cluster (initdb) in a temp dir,
 * listening on 127.0.0.1 on a free port, password authentication over TCP (so the app's
 * DATABASE_URL carries a password, as in production), stopped and removed by stop().
 *
 * The server binaries are found wherever Debian or a hand install put them: PATH, then
 * /usr/lib/postgresql/<newest>/bin, then /usr/local/bin. As root the server runs as the
 * `postgres` user (it refuses to run as root), else as the current user.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Postgres {
  port: number;
  /** The superuser's URL (trust auth on the socket is not used: TCP with a password). */
  adminUrl: string;
  /** Runs SQL as the superuser in `db`; returns psql's unaligned output. */
  sql(db: string, query: string): string;
  stop(): Promise<void>;
}

function candidates(): string[] {
  const dirs = (process.env.PATH ?? '').split(':').filter(Boolean);
  const lib = '/usr/lib/postgresql';
  const versions = existsSync(lib)
    ? readdirSync(lib)
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return [...dirs, ...versions.map((v) => `${lib}/${v}/bin`), '/usr/local/bin'];
}

/** The directory holding initdb and postgres, or undefined when PostgreSQL's server is not installed. */
export function postgresBin(): string | undefined {
  return candidates().find((d) => existsSync(join(d, 'initdb')) && existsSync(join(d, 'postgres')));
}

/** pg_dump, pg_restore and psql on PATH: what the hosts (which share this machine's programs) run. */
export function postgresClients(): boolean {
  return ['pg_dump', 'pg_restore', 'psql'].every((p) => candidates().some((d) => existsSync(join(d, p))));
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

function owner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('running as root, but there is no postgres user to run the server as (apt-get install postgresql creates it)');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
}

export async function startPostgres(password: string): Promise<Postgres> {
  const bin = postgresBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found (apt-get install postgresql)');
  const dir = mkdtempSync(join(tmpdir(), 'ship-pg-'));
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`);
  const as = owner();
  if (as) for (const p of [dir, pwfile]) chownSync(p, as.uid, as.gid);
  const opts = { ...(as ? { uid: as.uid, gid: as.gid } : {}), env: { ...process.env, LC_ALL: 'C.UTF-8' } };
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8'],
    { ...opts, encoding: 'utf8' },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const server: ChildProcess = spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-k', dir], {
    ...opts,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  server.stderr?.on('data', (c: Buffer) => (log += c.toString()));
  const adminUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  const sql = (db: string, query: string) => {
    const r = spawnSync('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', dir, '-p', String(port), '-U', 'postgres', '-d', db, '-c', query], {
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: password },
    });
    if (r.status !== 0) throw new Error(`psql ${query}: ${r.stderr}`);
    return r.stdout.trim();
  };
  for (let i = 0; ; i++) {
    try {
      sql('postgres', 'SELECT 1');
      break;
    } catch (e) {
      if (i > 100 || server.exitCode !== null) throw new Error(`PostgreSQL did not start: ${String(e)}\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    port,
    adminUrl,
    sql,
    stop: async () => {
      if (server.exitCode === null) {
        const exited = new Promise((r) => server.once('exit', r));
        server.kill('SIGINT'); // fast shutdown
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (server.exitCode === null) server.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
