import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deploy, type GitOps } from '../../deploy/deploy.js';
import { rollback } from '../../deploy/rollback.js';
import { ShipError } from '../../errors.js';
import { archiveToFile, resolveRevision } from '../../git/git.js';
import { failedToStart, reportLog } from '../run-end.js';
import { prepareRuntime, type GlobalOptions } from '../runtime.js';
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
  revision?: string;
  dryRun?: boolean;
  hosts?: string[];
  roles?: string[];
}

export async function deployCommand(stageName: string, flags: DeployFlags): Promise<void> {
  if (flags.dryRun) return dryRunCommand('deploy', stageName, flags);
  const rt = await prepareRuntime(stageName, flags, { tree: true, log: 'deploy' }).catch(failedToStart(flags, stageName, 'deploy:end'));
  const t0 = performance.now();
  try {
    const r = await deploy(
      rt.stage,
      { ...(flags.revision ? { revision: flags.revision } : {}), ...(flags.hosts ? { hosts: flags.hosts } : {}), ...(flags.roles ? { roles: flags.roles } : {}) },
      rt.env,
      git,
    );
    rt.env.emit({ event: 'deploy:end', ok: true, exitCode: 0, release: r.release, revision: r.revision, ms: Math.round(performance.now() - t0), current: r.current });
  } catch (e) {
    const code = e instanceof ShipError ? e.exitCode : 1;
    rt.env.emit({
      event: 'deploy:end',
      ok: false,
      exitCode: code,
      ms: Math.round(performance.now() - t0),
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

export interface RollbackFlags extends GlobalOptions {
  to?: string;
  dryRun?: boolean;
  hosts?: string[];
  roles?: string[];
}

export async function rollbackCommand(stageName: string, flags: RollbackFlags): Promise<void> {
  if (flags.dryRun) return dryRunCommand('rollback', stageName, flags);
  const rt = await prepareRuntime(stageName, flags, { tree: true, log: 'rollback' }).catch(failedToStart(flags, stageName, 'rollback:end'));
  const t0 = performance.now();
  try {
    const r = await rollback(
      rt.stage,
      { ...(flags.to ? { to: flags.to } : {}), ...(flags.hosts ? { hosts: flags.hosts } : {}), ...(flags.roles ? { roles: flags.roles } : {}) },
      rt.env,
    );
    rt.env.emit({ event: 'rollback:end', ok: true, exitCode: 0, release: r.release, ms: Math.round(performance.now() - t0), current: r.current });
  } catch (e) {
    const code = e instanceof ShipError ? e.exitCode : 1;
    rt.env.emit({
      event: 'rollback:end',
      ok: false,
      exitCode: code,
      ms: Math.round(performance.now() - t0),
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
