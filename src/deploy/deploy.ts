import { createReadStream } from 'node:fs';
import type { HostConfig, StageConfig } from '../config/types.js';
import { DeployError, InterruptedError, RollbackFailedError, RolledBackError, ShipError } from '../errors.js';
import { planPrune } from '../release/choose.js';
import { appendHistory, type HistoryEntry, type HistoryResult } from '../release/history.js';
import { nextReleaseId } from '../release/id.js';
import { releaseLock } from '../release/lock.js';
import {
  deliverFromMirror,
  finishPreparing,
  linkShared,
  markFailed,
  markMigrated,
  removeReleases,
  removeReleaseUnlessCurrent,
  unpackUpload,
  writeRevision,
} from '../release/prepare.js';
import { cmd, script, type Command } from '../shell/command.js';
import { quote, render } from '../shell/render.js';
import type { Step } from '../shell/script.js';
import { mapSettled } from '../util/pool.js';
import { closeFleet, describeFailures, openFleet, releaseLocks, runOnEach, type Member, type RunEnv } from './fleet.js';
import { switchHosts, type SwitchTarget } from './publish.js';
import { planWaves } from './rollout.js';
import { selectHosts } from './select.js';
import { runHooks, runTasks, type HookContext } from './hooks.js';
import { hostFacts, skippedLine, slotSteps, slotTasks, taskEnv, templateValues, type HostFacts } from './tasks.js';

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
  // 1. Plan: nothing touches the network except resolving the ref to one sha.
  const selected = selectHosts(stage, { ...(opts.hosts ? { hosts: opts.hosts } : {}), ...(opts.roles ? { roles: opts.roles } : {}) });
  const ref = opts.revision ?? stage.branch;
  const revision = await git.resolveRevision(stage.repo, ref).catch((e: Error) => {
    throw new DeployError(e.message, [], 'check repo and branch in deploy.yaml, or pass --revision');
  });
  let archive: { path: string; remove(): Promise<void> } | undefined;
  if (stage.strategy === 'upload') {
    archive = await git.tempFile(`ship-${stage.app}-${revision.slice(0, 12)}.tar`);
    await git.archiveToFile(stage.repo, revision, stage.repoTree, archive.path).catch((e: Error) => {
      throw new DeployError(e.message);
    });
  }
  checkInterrupted(env, 'before connecting: nothing was changed');

  // 2. Connect and lock every host.
  let fleet;
  try {
    fleet = await openFleet(stage, selected, env, { command: 'deploy' });
  } catch (e) {
    await archive?.remove();
    throw e;
  }
  const { members, token } = fleet;
  const release = nextReleaseId(env.clock.now(), members.flatMap((m) => m.state.releases.map((r) => r.id)));
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
    await runOnEach(members, calm, (m) => [
      { label: 'cleanup', command: removeReleaseUnlessCurrent(m.paths, release) },
      { label: 'history', command: appendHistory(m.paths, history(m, result, migrated)) },
      { label: 'unlock', command: releaseLock(m.paths, token) },
    ]);
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
    const prepared = await runOnEach(
      members,
      env,
      (m) => prepareSteps(stage, selected, m, release, revision, facts(m), !archive),
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
    const finished = await runOnEach(members, calm, (m) => finishSteps(stage, m, release, token, history(m, 'deployed', migrated), migrated));
    finished.forEach((o, i) => {
      if (!o.ok) env.emit({ event: 'log', level: 'warn', host: members[i]!.host.name, message: `finish step failed (deploy is live): ${o.error?.message ?? o.exitCode}` });
      else {
        const removed = o.steps.find((s) => s.label === 'prune');
        if (removed) env.emit({ event: 'prune', host: members[i]!.host.name, removed: pruneList(stage, members[i]!, release) });
      }
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

function prepareSteps(
  stage: StageConfig,
  selected: HostConfig[],
  m: Member,
  release: string,
  revision: string,
  facts: HostFacts,
  fromMirror: boolean,
): Step[] {
  const steps: Step[] = [];
  // a half-made release left by a killed run: remove it now that we hold the lock
  const leftovers = m.state.releases.filter((r) => r.preparing && r.id !== m.state.current).map((r) => r.id);
  const clean = removeReleases(m.paths, leftovers);
  if (clean) steps.push({ label: 'remove leftovers', command: clean });
  if (fromMirror) steps.push({ label: 'update', command: deliverFromMirror(m.paths, release, stage.repo, revision, stage.repoTree) });
  steps.push({ label: 'revision', command: writeRevision(m.paths, release, revision) });
  const link = linkShared(m.paths, release, stage.shared);
  if (link) steps.push({ label: 'link shared', command: link });
  steps.push(...slotSteps('build', stage, m.host, selected, templateValues(stage, m.host, facts), m.paths.release(release)));
  steps.push({ label: 'prepared', command: finishPreparing(m.paths, release) });
  return steps;
}

/**
 * Backups live in shared/backups; after a backup ran, only the newest `backup_keep` (var,
 * default 7) entries are kept. Names sort by time when they carry a timestamp, which the
 * recipes' backup tasks do; `ls -t` orders by modification time otherwise.
 */
function pruneBackups(stage: StageConfig, m: Member): Command | undefined {
  const keep = Number(m.host.vars.backup_keep ?? stage.vars.backup_keep ?? 7);
  if (!Number.isInteger(keep) || keep < 1) return undefined;
  const dir = `${m.paths.shared}/backups`;
  return script(
    `if [ -d ${quote(dir)} ]; then cd -- ${quote(dir)} && ls -1t | tail -n +${keep + 1} | while IFS= read -r f; do rm -rf -- "./$f"; done; fi`,
  );
}

function pruneList(stage: StageConfig, m: Member, release: string): string[] {
  const releases = [...m.state.releases, { id: release, failed: false }];
  return planPrune(releases, { keep: stage.keepReleases, current: release }).remove;
}

function finishSteps(stage: StageConfig, m: Member, release: string, token: string, entry: HistoryEntry, migrated: boolean): Step[] {
  const steps: Step[] = [];
  const prune = removeReleases(m.paths, pruneList(stage, m, release));
  if (prune) steps.push({ label: 'prune', command: prune });
  if (migrated) steps.push({ label: 'mark migrated', command: markMigrated(m.paths, release) });
  steps.push({ label: 'history', command: appendHistory(m.paths, entry) });
  steps.push({ label: 'unlock', command: releaseLock(m.paths, token) });
  return steps;
}

/**
 * After a failed wave: every host touched so far goes back to the release it had (or loses
 * `current` if it had none), restarts, and is health-checked; the new release is marked
 * failed everywhere. Throws RolledBackError, or RollbackFailedError when the way back failed.
 */
async function undoPublish(
  stage: StageConfig,
  selected: HostConfig[],
  members: Member[],
  touched: Member[],
  release: string,
  env: RunEnv,
  facts: (m: Member) => HostFacts,
  current: Record<string, string | null>,
  history: (m: Member, r: HistoryResult, migrated: boolean) => HistoryEntry,
  token: string,
  migrated: boolean,
  reason: string[],
  hookCtx: (e: RunEnv, cwd: (m: Member) => string, result?: string) => HookContext,
): Promise<never> {
  env.emit({ event: 'phase', phase: 'rollback' });
  const targets: SwitchTarget[] = touched.map((m) => {
    const prev = m.state.current;
    const f = facts(m);
    return {
      member: m,
      release: prev,
      facts: { ...f, release: prev ?? '', release_path: prev ? m.paths.release(prev) : '', previous_release: release },
    };
  });
  const back = await switchHosts(stage, selected, targets, env, { wave: 0, checkHealth: true });
  const failedBack: string[] = [];
  back.forEach((b, i) => {
    const m = touched[i]!;
    if (b.swapped) current[m.host.name] = m.state.current ?? null;
    env.emit({ event: 'rollback', host: m.host.name, from: release, ...(m.state.current ? { to: m.state.current } : {}), ok: b.ok, ...(b.detail ? { reason: b.detail } : {}) });
    if (!b.ok) failedBack.push(b.detail ?? `${m.host.name}: rollback failed`);
  });
  const interrupted = reason.length === 1 && reason[0] === 'interrupted';
  const result = interrupted ? 'interrupted' : 'rolled-back';
  for (const key of ['after:rollback', 'after:failure']) {
    for (const f of await runHooks(key, hookCtx(env, (m) => m.paths.current, result))) env.emit({ event: 'log', level: 'warn', message: `${key} hook failed: ${f}` });
  }
  await runOnEach(members, env, (m) => [
    { label: 'mark failed', command: markFailed(m.paths, release) },
    { label: 'history', command: appendHistory(m.paths, history(m, interrupted ? 'interrupted' : 'rolled-back', migrated)) },
    { label: 'unlock', command: releaseLock(m.paths, token) },
  ]);
  await closeFleet(members);
  const where = Object.entries(current).map(([h, c]) => `${h}: current = ${c ?? '(none)'}`);
  const withCurrent = <E extends ShipError>(e: E): E => Object.assign(e, { current });
  if (failedBack.length) {
    throw withCurrent(new RollbackFailedError(
      `release ${release} failed and rolling back failed on ${failedBack.length} host(s): hosts may differ`,
      [...reason, ...failedBack, ...where],
      `inspect the hosts (ship releases ${stage.stage}) and fix by hand or run: ship rollback ${stage.stage} --to <id>`,
    ));
  }
  const migratedNote = migrated ? ' (migrations ran and were NOT rolled back)' : '';
  if (interrupted) {
    throw withCurrent(new InterruptedError(`interrupted during publish: every published host was put back${migratedNote}`, where));
  }
  throw withCurrent(new RolledBackError(
    `release ${release} failed after publish; every published host is back on its previous release${migratedNote}`,
    [...reason, ...where],
    'the release is marked failed and will never be chosen by a rollback; fix and deploy again',
  ));
}

/** Steps whose hooks the protocol runs: slots run their hooks with the slot; phases at their point. */
const HOOKED = new Set(['before:build', 'after:build', 'before:backup', 'after:backup', 'before:migrate', 'after:migrate', 'before:restart', 'after:restart', 'before:deploy', 'after:deploy', 'before:publish', 'after:publish', 'before:rollback', 'after:rollback', 'after:failure']);

/** Hooks and local tasks ship would not run, reported as warnings rather than skipped silently. */
export function unsupportedHooks(stage: StageConfig): string[] {
  const out: string[] = [];
  for (const key of Object.keys(stage.hooks)) {
    if (!HOOKED.has(key)) out.push(`hook ${key} is not run by ship (hooks run before/after build, backup, migrate, restart, deploy, publish, rollback, and after:failure)`);
  }
  for (const t of slotTasks(stage, 'restart')) {
    if (t.local) out.push(`task ${t.name} is local: true around restart, which runs per host: it is not run`);
  }
  return out;
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
