/**
 * Backups with a restore drill, against two real sshd hosts (web, db) and a real PostgreSQL
 * server started here on loopback: the deploy's backup (named for its release, 0600, on the
 * db host only) with `ship backup` taken while that deploy runs; a restore that brings
 * deleted rows back after taking a fresh backup; a drill that passes on a good dump, catches
 * a truncated one, and whose age `ship check` judges. Then the same for SQLite.
 */
import { mkdtempSync, readdirSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fleetStage, type FleetStage } from '../helpers/fleet-stage.js';
import { startFleet, type Fleet } from '../helpers/fleet/index.js';
import { startPostgres, type Postgres } from '../helpers/postgres.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';
import { skipWithout } from '../helpers/requirements.js';
import type { ShipRun } from '../helpers/cli.js';

/** A password with every character that breaks naive quoting. */
const APP_PASSWORD = `pa$s'wo"rd \`x\``;
const NAME = /^\d{14}-(\d{14}|none)-(deploy|manual|pre-restore)\.(pgdump|sqlite3)$/;

const checksOf = (r: ShipRun) => r.events().filter((e) => e.event === 'check') as { host: string; check: string; status: string; detail: string }[];

describe.skipIf(skipWithout('fleet', 'postgres'))('backups of PostgreSQL: deploy, ship backup, restore, drill', () => {
  let fleet: Fleet;
  let pg: Postgres;
  let repo: FixtureRepo;
  let stage: FleetStage;
  const backupsDir = (i: number) => fleet.hosts[i]!.localPath(`${fleet.hosts[i]!.deployTo}/shared/backups`);
  const backups = (i: number) => {
    try {
      return readdirSync(backupsDir(i)).filter((n) => !n.startsWith('.'));
    } catch {
      return [];
    }
  };
  const rows = () => pg.sql('shop', 'SELECT name FROM orders ORDER BY id').split('\n').filter(Boolean);

  beforeAll(async () => {
    [fleet, pg] = await Promise.all([startFleet({ count: 2, firstAddress: 141 }), startPostgres('admin-pw')]);
    pg.sql('postgres', `CREATE ROLE shop LOGIN CREATEDB PASSWORD '${APP_PASSWORD.replace(/'/g, "''")}'`);
    pg.sql('postgres', 'CREATE DATABASE shop OWNER shop');
    pg.sql('shop', 'CREATE TABLE orders (id serial PRIMARY KEY, name text NOT NULL); ALTER TABLE orders OWNER TO shop');
    pg.sql('shop', "INSERT INTO orders (name) VALUES ('first'), ('second'), ('third')");
    repo = fixtureRepo({ withApp: false });
    const url = `postgres://shop:${encodeURIComponent(APP_PASSWORD)}@127.0.0.1:${pg.port}/shop`;
    stage = fleetStage(fleet, repo.dir, mkdtempSync(join(tmpdir(), 'ship-e2e-backups-')), url);
    stage.write({ body: 'strategy: upload\nvars: { database: postgres }\ntasks:\n  build: sleep 3' });
  });
  afterAll(async () => {
    await Promise.all([fleet?.stop(), pg?.stop()]);
  });

  it('a deploy backs up on the db host before migrating, named for its release; ship backup runs during it', async () => {
    const deploying = stage.ship('deploy', 'test', '--json');
    await new Promise((r) => setTimeout(r, 1500)); // the build sleeps: the deploy holds the lock now
    const manual = await stage.ship('backup', 'test', '--json');
    const deploy = await deploying;
    expect(manual.code, manual.stderr).toBe(0);
    expect(deploy.code, deploy.stderr).toBe(0);
    const release = deploy.events().at(-1)!.release as string;
    const taken = manual.events().find((e) => e.event === 'backup')!;
    expect(taken).toMatchObject({ host: fleet.hosts[1]!.address, name: expect.stringMatching(/-none-manual\.pgdump$/) });
    expect(taken.bytes).toBeGreaterThan(500);
    const names = backups(1);
    expect(names).toHaveLength(2);
    expect(names.every((n) => NAME.test(n))).toBe(true);
    expect(names.some((n) => n.includes(`-${release}-deploy.pgdump`))).toBe(true);
    for (const n of names) expect(statSync(join(backupsDir(1), n)).mode & 0o777).toBe(0o600);
    expect(backups(0)).toEqual([]);
    // the password reaches pg_dump through the script's environment, never the output
    for (const out of [manual.stdout, manual.stderr, deploy.stdout, deploy.stderr]) expect(out).not.toContain('wo"rd');
  });

  it('restore asks for confirmation; with --yes it takes a fresh backup and brings deleted rows back', async () => {
    const before = backups(1).length;
    pg.sql('shop', "DELETE FROM orders WHERE name <> 'first'");
    expect(rows()).toEqual(['first']);
    const refused = await stage.ship('restore', 'test', '--from', 'latest');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      /restore the test database of demo from the latest backup, replacing its data asks for confirmation and nobody can answer here\n\s+→ pass --yes/,
    );
    expect(rows()).toEqual(['first']);
    const r = await stage.ship('restore', 'test', '--from', 'latest', '--yes', '--json');
    expect(r.code, r.stderr).toBe(0);
    const done = r.events().find((e) => e.event === 'restore')!;
    expect(done.saved).toMatch(/-pre-restore\.pgdump$/);
    expect(rows()).toEqual(['first', 'second', 'third']);
    expect(backups(1)).toHaveLength(before + 1);
    // the lock was held and given back
    expect(readdirSync(fleet.hosts[1]!.localPath(`${fleet.hosts[1]!.deployTo}/.ship`))).not.toContain('lock');
    const unknown = await stage.ship('restore', 'test', '--from', '../../etc/passwd', '--yes');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--from "..\/..\/etc\/passwd": expected latest or the name of a backup/);
  });

  it('the drill restores the newest backup into a scratch database, queries it, drops it; check reads its age', async () => {
    const r = await stage.ship('backup', 'verify', 'test', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(r.events().find((e) => e.event === 'backup:verify')).toMatchObject({ ok: true, result: '1', detail: 'restored and queried: 1' });
    expect(pg.sql('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'ship_verify_%'")).toBe('0');
    const check = await stage.ship('check', 'test', '--json');
    const drill = checksOf(check).find((c) => c.check === 'restore drill')!;
    expect(drill).toMatchObject({
      host: fleet.hosts[1]!.address,
      status: 'pass',
      detail: expect.stringMatching(/^last successful drill \d+s ago \(\S+\.pgdump\) \(limit 8d\)$/),
    });
    expect(checksOf(check).filter((c) => c.check === 'restore drill')).toHaveLength(1);
  });

  it('a truncated dump fails the drill (exit 1), and check fails once the last good drill is too old', async () => {
    const taken = await stage.ship('backup', 'test', '--json');
    const name = taken.events().find((e) => e.event === 'backup')!.name as string;
    const file = join(backupsDir(1), name);
    truncateSync(file, Math.floor(statSync(file).size / 2));
    const r = await stage.ship('backup', 'verify', 'test');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`restore drill of ${name}: FAILED: the restore or the query failed: `);
    expect(r.stderr).toMatch(new RegExp(`the restore drill failed on ${fleet.hosts[1]!.address.replace(/\./g, '\\.')}: ${name} cannot be trusted`));
    expect(pg.sql('postgres', "SELECT count(*) FROM pg_database WHERE datname LIKE 'ship_verify_%'")).toBe('0');
    stage.write({ body: 'strategy: upload\nvars: { database: postgres, backup_verify_max_age: 1s }' });
    await new Promise((res) => setTimeout(res, 2100));
    const check = await stage.ship('check', 'test', '--json');
    expect(check.code).toBe(1);
    expect(checksOf(check).find((c) => c.check === 'restore drill')).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/^last successful drill \d+s ago \(.+\), older than 1s \(vars\.backup_verify_max_age\): run ship backup verify test$/),
    });
  });

  it('a bad vars.database is refused before anything connects', async () => {
    stage.write({ body: 'vars: { database: mysql }' });
    const r = await stage.ship('backup', 'test');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/vars\.database: "mysql" is not a database ship backs up \(postgres, sqlite, or none\)/);
  });
});

describe.skipIf(skipWithout('fleet', 'sqlite'))('backups of SQLite: backup, restore, drill', () => {
  let fleet: Fleet;
  let stage: FleetStage;
  const db = () => `${fleet.hosts[1]!.deployTo}/shared/db/app.sqlite3`;
  const sqlite = async (query: string) => {
    const r = await fleet.ssh(1, `sqlite3 ${db()} "${query}"`);
    if (r.code !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  };

  beforeAll(async () => {
    fleet = await startFleet({ count: 2, firstAddress: 144 });
    const repo = fixtureRepo({ withApp: false });
    stage = fleetStage(fleet, repo.dir, mkdtempSync(join(tmpdir(), 'ship-e2e-sqlite-')), 'unused');
    stage.write({ body: 'strategy: upload\nvars: { database: sqlite, sqlite_path: db/app.sqlite3 }' });
    await fleet.ssh(1, `mkdir -p ${fleet.hosts[1]!.deployTo}/shared/db`);
    await sqlite("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('a'), ('b');");
  });
  afterAll(async () => {
    await fleet?.stop();
  });

  it('backs up, restores deleted rows, drills, and catches a truncated copy', async () => {
    const taken = await stage.ship('backup', 'test', '--json');
    expect(taken.code, taken.stderr).toBe(0);
    const name = taken.events().find((e) => e.event === 'backup')!.name as string;
    expect(name).toMatch(/-manual\.sqlite3$/);
    await sqlite('DELETE FROM notes;');
    const restored = await stage.ship('restore', 'test', '--from', name, '--yes');
    expect(restored.code, restored.stderr).toBe(0);
    expect(await sqlite('SELECT group_concat(body) FROM notes;')).toBe('a,b');
    const good = await stage.ship('backup', 'verify', 'test', '--json');
    expect(good.code, good.stderr).toBe(0);
    expect(good.events().find((e) => e.event === 'backup:verify')).toMatchObject({ ok: true, result: '1' });
    const again = await stage.ship('backup', 'test', '--json');
    const before = again.events().find((e) => e.event === 'backup')!.name as string;
    // a backup taken in the same second as the last (or the restore's pre-restore one) gets the next second's name: none overwrites another, latest is the last taken
    const twice = await stage.ship('backup', 'test', '--json');
    const newest = twice.events().find((e) => e.event === 'backup')!.name as string;
    expect(newest > before, `${newest} after ${before}`).toBe(true);
    const file = fleet.hosts[1]!.localPath(`${fleet.hosts[1]!.deployTo}/shared/backups/${newest}`);
    truncateSync(file, 1000);
    const bad = await stage.ship('backup', 'verify', 'test', '--json');
    expect(bad.code).toBe(1);
    expect(bad.events().find((e) => e.event === 'backup:verify')).toMatchObject({ ok: false, backup: newest });
  });
});
