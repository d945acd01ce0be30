import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploy, type GitOps } from '../../deploy/deploy.js';
import { rollback } from '../../deploy/rollback.js';
import { ShipError } from '../../errors.js';
import { archiveToFile, resolveRevision } from '../../git/git.js';
import { failedToStart, reportLog } from '../run-end.js';
import { confirmRun } from '../confirm.js';
import { prepareRuntime, type GlobalOptions, type Runtime } from '../runtime.js';
import { dryRunCommand } from './dry-run.js';

const git: GitOps = {
  resolveRevision,
  archiveToFile,
  tempFile: async (name) => {
    const path = join(tmpdir(), `${randomBytes(6).toString('hex')}-${name}`);
    return { path, remove: () => rm(path, { force: true }) };
  },
};

export interface DeployFlags extends GlobalOptions {
  yes?: boolean;
  revision?: string;
  dryRun?: boolean;
  hosts?: string[];
  roles?: string[];
}

/** Runs a deploy or rollback and always closes it with its end event, the log path and the webhook. */
async function withEndEvent(
  rt: Runtime,
  event: 'deploy:end' | 'rollback:end',
  run: () => Promise<{ release: string; revision?: string; current: Record<string, string | null> }>,
): Promise<void> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  try {
    const r = await run();
    rt.env.emit({ event, ok: true, exitCode: 0, release: r.release, ...(r.revision ? { revision: r.revision } : {}), ms: ms(), current: r.current });
  } catch (e) {
    rt.env.emit({
      event,
      ok: false,
      exitCode: e instanceof ShipError ? e.exitCode : 1,
      ms: ms(),
      current: (e instanceof ShipError && e.current) || {},
      error: rt.redact(e instanceof Error ? e.message : String(e)),
    });
    throw e;
  } finally {
    await rt.reporter.close();
    rt.dispose();
    reportLog(rt);
  }
}

const selection = (f: { hosts?: string[]; roles?: string[] }) => ({ ...(f.hosts ? { hosts: f.hosts } : {}), ...(f.roles ? { roles: f.roles } : {}) });

export async function deployCommand(stageName: string, flags: DeployFlags): Promise<void> {
  if (flags.dryRun) return dryRunCommand('deploy', stageName, flags);
  const rt = await prepareRuntime(stageName, flags, { tree: true, log: 'deploy' }).catch(failedToStart(flags, stageName, 'deploy:end'));
  await withEndEvent(rt, 'deploy:end', async () => {
    await confirmRun(rt.stage, `deploy ${rt.stage.app} to ${rt.stage.stage} (${rt.stage.hosts.length} host${rt.stage.hosts.length > 1 ? 's' : ''})`, flags);
    return deploy(rt.stage, { ...(flags.revision ? { revision: flags.revision } : {}), ...selection(flags) }, rt.env, git);
  });
}

export interface RollbackFlags extends GlobalOptions {
  yes?: boolean;
  to?: string;
  dryRun?: boolean;
  hosts?: string[];
  roles?: string[];
}

export async function rollbackCommand(stageName: string, flags: RollbackFlags): Promise<void> {
  if (flags.dryRun) return dryRunCommand('rollback', stageName, flags);
  const rt = await prepareRuntime(stageName, flags, { tree: true, log: 'rollback' }).catch(failedToStart(flags, stageName, 'rollback:end'));
  await withEndEvent(rt, 'rollback:end', async () => {
    await confirmRun(rt.stage, `roll back ${rt.stage.app} on ${rt.stage.stage}${flags.to ? ` to ${flags.to}` : ''}`, flags);
    return rollback(rt.stage, { ...(flags.to ? { to: flags.to } : {}), ...selection(flags) }, rt.env);
  });
}
