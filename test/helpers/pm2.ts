import type { Fleet } from './fleet/index.js';

/** One process of a host's pm2, as `pm2 jlist` describes it. */
export interface Pm2App {
  name: string;
  status: string;
  execMode: string;
  cwd: string;
}

/** The apps the pm2 daemon of host i runs (as the login user, in the host's own home). */
export async function pm2Apps(fleet: Fleet, i: number): Promise<Pm2App[]> {
  const r = await fleet.ssh(i, 'pm2 jlist');
  if (r.code !== 0) throw new Error(`pm2 jlist on ${fleet.hosts[i]!.name} exited ${r.code}: ${r.stderr}`);
  const json = r.stdout.split('\n').find((l) => l.startsWith('['));
  if (!json) throw new Error(`pm2 jlist on ${fleet.hosts[i]!.name} printed no list: ${r.stdout}`);
  return (JSON.parse(json) as { name: string; pm2_env: { status: string; exec_mode: string; pm_cwd: string } }[]).map((p) => ({
    name: p.name,
    status: p.pm2_env.status,
    execMode: p.pm2_env.exec_mode,
    cwd: p.pm2_env.pm_cwd,
  }));
}

/** Stops the pm2 daemon of every running host (each lives in its host's home); never throws. */
export async function killPm2Daemons(fleet: Fleet): Promise<void> {
  await Promise.all(fleet.hosts.filter((h) => h.running).map((h) => fleet.ssh(h.index, 'pm2 kill >/dev/null 2>&1 || true').catch(() => undefined)));
}
