import { createReadStream } from 'node:fs';
import type { StageConfig } from '../config/types.js';
import { DeployError, InterruptedError, ShipError } from '../errors.js';
import { appendHistory, type HistoryEntry, type HistoryResult } from '../release/history.js';
import { nextReleaseId } from '../release/id.js';
import { releaseLock } from '../release/lock.js';
import { ID_TAKEN, removeClaimed, removeReleaseUnlessCurrent, unpackUpload } from '../release/prepare.js';
import { cmd } from '../shell/command.js';
import { render } from '../shell/render.js';
import { mapSettled } from '../util/pool.js';
import { earlySteps, finishSteps, freshIdAnswer, prepareSteps, pruneBackups, pruneList } from './deploy-steps.js';
import { closeFleet, describeFailures, openFleet, startConnecting, releaseLocks, runOnEach, unlockWhereFailed, type Member, type Piggyback, type RunEnv } from './fleet.js';
import { runHooks, runTasks, unsupportedHooks, type HookContext } from './hooks.js';
import { switchHosts } from './publish.js';
import { planWaves } from './rollout.js';
import { selectHosts } from './select.js';
import { hookTasks, hostFacts, skippedLine, slotSteps, slotTasks, taskEnv, templateValues, type HostFacts } from './tasks.js';
import { undoPublish } from './undo.js';

export interface DeployOptions {
  revision?: string;
  hosts?: string[];
  roles?: string[];
}

/** What the deploying machine's git does for a deploy (src/git/git.ts in production). */
export interface GitOps {
  resolveRevision(repo: string, ref: string | undefined): Promise<string>;
  archiveToFile(repo: string, sha: string, tree: string | undefined, file: string): Promise<void>;
  tempFile(name: string): Promise<{ path: string; remove(): Promise<void> }>;
}

export interface DeployResult {
  release: string;
  revision: string;
  current: Record<string, string | null>;
  migrated: boolean;
}

/**
 * The deploy protocol of DESIGN section 4: every host moves, or none does.
 * plan -> connect and lock -> prepare -> migrate -> publish (waves, health) -> finish.
 */
export async function deploy(stage: StageConfig, opts: DeployOptions, env: RunEnv, git: GitOps): Promise<DeployResult> {
  const started = env.clock.now();
  // 1. Plan: nothing is sent to a host; the ref is resolved to one sha.
  const selected = selectHosts(stage, { ...(opts.hosts ? { hosts: opts.hosts } : {}), ...(opts.roles ? { roles: opts.roles } : {}) });
  const ref = opts.revision ?? stage.branch;
  // The SSH handshakes start now and run while git works here: nothing is sent to a host
  // before the sha is known, and connections are all a failure here leaves to close.
  const connections = startConnecting(selected, env);
  let revision: string;
  let archive: { path: string; remove(): Promise<void> } | undefined;
  try {
    revision = await git.resolveRevision(stage.repo, ref).catch((e: Error) => {
      throw new DeployError(e.message, [], 'check repo and branch in deploy.yaml, or pass --revision');
    });
    checkInterrupted(env, 'before connecting: nothing was changed');
    if (stage.strategy === 'upload') {
      archive = await git.tempFile(`ship-${stage.app}-${revision.slice(0, 12)}.tar`);
      await git.archiveToFile(stage.repo, revision, stage.repoTree, archive.path).catch((e: Error) => {
        throw new DeployError(e.message);
      });
    }
  } catch (e) {
    await archive?.remove();
    await connections.close();
    throw e;
  }

  // 2. Connect and lock every host. With the remote strategy, every host but the leader gets
  //    its code in the same script as its lock (Piggyback, fleet.ts), under an id made from
  //    the leader's releases: no round trip of its own, no waiting for the slowest host to be
  //    locked. Not when a before:deploy hook or a local build task must run first.
  let tentative: string | undefined;
  const early: Piggyback | undefined =
    archive || hookTasks(stage, 'before:deploy').length || slotTasks(stage, 'build').some((t) => t.local)
      ? undefined
      : {
          steps: (host, paths, leader) => {
            tentative ??= nextReleaseId(env.clock.now(), leader.releases.map((r) => r.id)); // first try only
            return earlySteps(stage, selected, host, paths, tentative!, revision);
          },
          undo: (paths) => (tentative ? removeClaimed(paths, tentative) : undefined),
          // the stage's env (a proxy, GIT_SSH_COMMAND...) reaches git in the lock script too
          env: (host, paths) => taskEnv(stage, host, hostFacts(stage, host, paths, tentative!, { revision, ...(ref ? { branch: ref } : {}), previous: undefined })),
        };
  let fleet;
  try {
    fleet = await openFleet(stage, selected, env, { command: 'deploy' }, early, connections);
  } catch (e) {
    await archive?.remove();
    throw e;
  }
  const { members, token } = fleet;
  const existing = members.flatMap((m) => m.state.releases.map((r) => r.id));
  // the leader's id stands unless a host holds it or a later one (its guard refused it)
  const release = tentative && !existing.some((id) => id >= tentative!) ? tentative : nextReleaseId(env.clock.now(), existing);
  /** Where the lock script made the tentative release and the run moved on to another id. */
  const stale = (m: Member) => (tentative && tentative !== release && freshIdAnswer(m) === 0 ? [tentative] : []);
  const delivered = (m: Member) => release === tentative && m.early?.ok === true;
  const calm: RunEnv = { ...env, signal: undefined }; // cleanup must run even after Ctrl-C
  const factsOf = new Map<string, HostFacts>();
  for (const m of members) {
    factsOf.set(m.host.name, hostFacts(stage, m.host, m.paths, release, { revision, ...(ref ? { branch: ref } : {}), previous: m.state.current }));
  }
  const facts = (m: Member) => factsOf.get(m.host.name)!;
  const current: Record<string, string | null> = Object.fromEntries(members.map((m) => [m.host.name, m.state.current ?? null]));
  const history = (m: Member, result: HistoryResult, migrated: boolean): HistoryEntry => ({
    action: 'deploy',
    release,
    revision,
    ...(ref ? { branch: ref } : {}),
    ...(m.state.current ? { previous: m.state.current } : {}),
    user: env.operator.user,
    ...(env.operator.ci ? { ci: env.operator.ci } : {}),
    started: started.toISOString(),
    finished: env.clock.now().toISOString(),
    result,
    ...(migrated ? { migrated } : {}),
    host: m.host.name,
  });
  env.emit({ event: 'deploy:start', release, revision, ...(ref ? { branch: ref } : {}), hosts: members.map((m) => m.host.name) });
  for (const message of unsupportedHooks(stage)) env.emit({ event: 'log', level: 'warn', message });

  const hookCtx = (e: RunEnv, cwd: (m: Member) => string, result?: string): HookContext => ({
    stage,
    selected,
    members,
    env: e,
    facts,
    cwd,
    ...(result ? { result } : {}),
  });
  const inRelease = (m: Member) => m.paths.release(release);
  /** Hooks after the outcome is known never change it: their failures are warnings. */
  const warnHooks = async (key: string, ctx: HookContext) => {
    for (const f of await runHooks(key, ctx)) env.emit({ event: 'log', level: 'warn', message: `${key} hook failed: ${f}` });
  };

  /** Before publish: remove the new release everywhere, record, unlock. `current` never moved. */
  const abandon = async (error: ShipError, migrated: boolean): Promise<never> => {
    env.emit({ event: 'phase', phase: 'cleanup' });
    const result = error instanceof InterruptedError ? 'interrupted' : 'failed';
    const cleaned = await runOnEach(members, calm, (m) => [
      { label: 'cleanup', command: removeReleaseUnlessCurrent(m.paths, release) },
      ...stale(m).map((id) => ({ label: 'cleanup', command: removeReleaseUnlessCurrent(m.paths, id) })),
      { label: 'history', command: appendHistory(m.paths, history(m, result, migrated)) },
      { label: 'unlock', command: releaseLock(m.paths, token) },
    ]);
    await unlockWhereFailed(members, cleaned, token, calm);
    await warnHooks('after:failure', hookCtx(calm, (m) => m.paths.root, result));
    await closeFleet(members);
    error.current = current;
    throw error;
  };

  try {
    const fatal = async (failures: string[], migrated = false) => {
      if (failures.length) await abandon(prepareError(env, failures, members.length), migrated);
    };
    await fatal(await runHooks('before:deploy', hookCtx(env, (m) => m.paths.root)));
    // local tasks of the build slot (e.g. building assets here) run once, before the hosts build
    await fatal(await runTasks(slotTasks(stage, 'build').filter((t) => t.local), hookCtx(env, (m) => m.paths.root), 'build (local)'));

    // 3. Prepare every host in parallel.
    env.emit({ event: 'phase', phase: 'prepare' });
    if (archive) {
      const path = archive.path;
      const uploads = await mapSettled(members, env.concurrency, async (m) => {
        const r = await m.transport.runWithInput(render(unpackUpload(m.paths, release)), createReadStream(path), env.signal ? { signal: env.signal } : {});
        if (r.exitCode !== 0) throw new Error(`upload to ${m.host.name} failed (exit ${r.exitCode}): ${env.redact(r.stderr.trim().split('\n').slice(-3).join(' | '))}`);
      });
      const failed = uploads.flatMap((u) => (u.status === 'rejected' ? [String((u.reason as Error)?.message ?? u.reason)] : []));
      if (failed.length) return await abandon(prepareError(env, failed, members.length), false);
    }
    // what the lock scripts could not do: failed there (not refused for its id) is final
    const earlyFailed = members.filter((m) => m.early && !m.early.ok && freshIdAnswer(m) !== ID_TAKEN);
    if (earlyFailed.length) {
      const lines = earlyFailed.map((m) => m.early!.error?.message ?? `${m.host.name}: delivering the code failed`);
      return await abandon(prepareError(env, lines, members.length), false);
    }
    const prepared = await runOnEach(
      members,
      env,
      (m) => prepareSteps(stage, selected, m, release, revision, facts(m), { fromMirror: !archive, delivered: delivered(m), remove: stale(m) }),
      (m) => taskEnv(stage, m.host, facts(m)),
    );
    if (prepared.some((o) => !o.ok)) return await abandon(prepareError(env, describeFailures(members, prepared), members.length), false);

    // Migrations: once, on the primary, after a backup where one is defined; before any swap.
    const localOnce = [...slotTasks(stage, 'backup'), ...slotTasks(stage, 'migrate')].filter((t) => t.local);
    await fatal(await runTasks(localOnce, hookCtx(env, inRelease), 'migrate (local)'));
    const once = await runOnEach(
      members,
      env,
      (m) => {
        const cwd = m.paths.release(release);
        const values = templateValues(stage, m.host, facts(m));
        const backup = slotSteps('backup', stage, m.host, selected, values, cwd);
        const migrate = slotSteps('migrate', stage, m.host, selected, values, cwd);
        if (!backup.length) return migrate;
        const prune = pruneBackups(stage, m);
        return [
          { label: 'backups dir', command: cmd('mkdir', '-p', '--', facts(m).backup_path) },
          ...backup,
          ...(prune ? [{ label: 'prune backups', command: prune }] : []),
          ...migrate,
        ];
      },
      (m) => taskEnv(stage, m.host, facts(m)),
    );
    const migrateTask = stage.tasks.migrate;
    const migrated = once.some((o) =>
      o.steps.some((s) => s.label === 'migrate' && s.exitCode === 0 && !(migrateTask && s.stdout.includes(skippedLine(migrateTask.name)))),
    );
    if (once.some((o) => !o.ok)) return await abandon(prepareError(env, describeFailures(members, once), members.length), migrated);
    if (env.signal?.aborted) return await abandon(new InterruptedError('interrupted before publishing: nothing was changed, the new release was removed'), migrated);
    await fatal(await runHooks('before:publish', hookCtx(env, inRelease)), migrated);

    // 4. Publish, wave by wave.
    const waves = planWaves(members.length, stage.rollout);
    const touched: Member[] = [];
    for (const [w, wave] of waves.entries()) {
      env.emit({ event: 'phase', phase: waves.length > 1 ? `publish ${w + 1}/${waves.length}` : 'publish' });
      const wm = wave.map((i) => members[i]!);
      touched.push(...wm);
      const outcomes = await switchHosts(stage, selected, wm.map((m) => ({ member: m, release, facts: facts(m) })), env, { wave: w + 1, checkHealth: true });
      for (const o of outcomes) if (o.swapped) current[o.host] = release;
      const bad = outcomes.filter((o) => !o.ok);
      if (env.signal?.aborted) {
        await undoPublish(stage, selected, members, touched, release, calm, facts, current, history, token, migrated, ['interrupted'], hookCtx);
      }
      if (bad.length) {
        const reason = bad.map((b) => b.detail ?? `${b.host} failed`);
        await undoPublish(stage, selected, members, touched, release, calm, facts, current, history, token, migrated, reason, hookCtx);
      }
    }

    await warnHooks('after:publish', hookCtx(calm, inRelease, 'deployed'));

    // 5. Finish: prune, record, unlock, in one round trip per host.
    env.emit({ event: 'phase', phase: 'finish' });
    const prunes = members.map((m) => pruneList(stage, m, release));
    const finished = await runOnEach(members, calm, (m) => finishSteps(m, release, token, history(m, 'deployed', migrated), migrated, prunes[members.indexOf(m)]!));
    await unlockWhereFailed(members, finished, token, calm);
    finished.forEach((o, i) => {
      if (!o.ok) env.emit({ event: 'log', level: 'warn', host: members[i]!.host.name, message: `finish step failed (deploy is live): ${o.error?.message ?? o.exitCode}` });
      else if (prunes[i]!.length) env.emit({ event: 'prune', host: members[i]!.host.name, removed: prunes[i]! });
    });
    await warnHooks('after:deploy', hookCtx(calm, inRelease, 'deployed'));
    await closeFleet(members);
    return { release, revision, current, migrated };
  } catch (e) {
    if (e instanceof ShipError) throw e;
    // an unexpected error (or an abort inside a phase) before publish: same as a failure there
    if (isAbort(e)) return await abandon(new InterruptedError('interrupted: nothing was changed, the new release was removed'), false);
    await releaseLocks(members, token, calm).catch(() => {});
    await closeFleet(members);
    throw e;
  } finally {
    await archive?.remove();
  }
}

function prepareError(env: RunEnv, lines: string[], total: number): ShipError {
  if (env.signal?.aborted) return new InterruptedError('interrupted before publish: nothing was changed, the new release was removed', lines);
  return new DeployError(
    `deploy failed before publish on ${lines.length} of ${total} host(s); no host was changed and the new release was removed everywhere`,
    lines,
  );
}

function isAbort(e: unknown): boolean {
  return (e as Error)?.name === 'AbortError';
}

function checkInterrupted(env: RunEnv, what: string): void {
  if (env.signal?.aborted) throw new InterruptedError(`interrupted ${what}`);
}
