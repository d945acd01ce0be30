import type { HostConfig, StageConfig } from '../config/types.js';
import { planPrune } from '../release/choose.js';
import { appendHistory, type HistoryEntry } from '../release/history.js';
import { pruneInstalls } from '../release/deps.js';
import { releaseLock } from '../release/lock.js';
import { deliverFromMirror, finishPreparing, guardFreshId, linkShared, markMigrated, removeReleases, writeRevision } from '../release/prepare.js';
import type { ServerPaths } from '../release/paths.js';
import type { Command } from '../shell/command.js';
import { sh } from '../shell/sh.js';
import type { Step } from '../shell/script.js';
import { type HostFacts, type Member, slotRunsOn, slotSteps, templateValues } from '../engine/index.js';
import type { AppFiles } from './app-files.js';

/** The per-host scripts of a deploy's prepare and finish phases, as steps. */

/** Fetching the code into the mirror may take longer than the other protocol steps (a large repository, a slow link). */
const CODE_DELIVERY_TIMEOUT_MS = 30 * 60_000;

/** Putting the code in place: the mirror's archive (strategy remote), REVISION, the app files, shared links. */
export function deliverSteps(stage: StageConfig, m: Pick<Member, 'paths'>, release: string, revision: string, fromMirror: boolean, app: Step): Step[] {
  const steps: Step[] = [];
  if (fromMirror)
    steps.push({ label: 'update', command: deliverFromMirror(m.paths, release, stage.repo, revision, stage.repoTree), timeoutMs: CODE_DELIVERY_TIMEOUT_MS });
  steps.push({ label: 'revision', command: writeRevision(m.paths, release, revision) }, app);
  const link = linkShared(m.paths, release, stage.shared);
  if (link) steps.push({ label: 'link shared', command: link });
  return steps;
}

/**
 * The steps a host's lock script carries in a deploy (see Piggyback in fleet.ts): a guard on
 * the id chosen from the leader's releases, the delivery, and `prepared` when no build task
 * runs on this host (the release is then complete).
 */
export function earlySteps(
  stage: StageConfig,
  selected: HostConfig[],
  host: HostConfig,
  paths: ServerPaths,
  o: { release: string; revision: string; app: AppFiles },
): Step[] {
  const { release, revision } = o;
  return [
    { label: 'fresh id', kind: 'fresh-id', command: guardFreshId(paths, release), quiet: true },
    ...deliverSteps(stage, { paths }, release, revision, true, o.app.step),
    ...(slotRunsOn('build', stage, host, selected) ? [] : [{ label: 'prepared', command: finishPreparing(paths, release) }]),
  ];
}

/**
 * The prepare script of one host: remove what must go (half-made releases of a killed run, a
 * release made under an id the run gave up), deliver the code unless the lock script did,
 * build, and mark the release prepared. Empty when the lock script already did it all.
 */
export function prepareSteps(
  stage: StageConfig,
  selected: HostConfig[],
  m: Member,
  release: string,
  revision: string,
  facts: HostFacts,
  opts: { fromMirror: boolean; delivered: boolean; remove: string[]; app: AppFiles; built?: boolean },
): Step[] {
  const steps: Step[] = [];
  // a half-made release left by a killed run: remove it now that we hold the lock
  const leftovers = m.state.releases.filter((r) => r.preparing && r.id !== m.state.current).map((r) => r.id);
  const clean = removeReleases(m.paths, [...leftovers, ...opts.remove]);
  if (clean) steps.push({ label: 'remove leftovers', command: clean });
  if (!opts.delivered) steps.push(...deliverSteps(stage, m, release, revision, opts.fromMirror, opts.app.step));
  // an artifact arrives built: its build ran once, on the deploying machine
  const build = opts.built ? [] : slotSteps('build', stage, m.host, selected, templateValues(stage, m.host, facts), m.paths.release(release));
  if (!opts.delivered || build.length) steps.push(...build, { label: 'prepared', command: finishPreparing(m.paths, release) });
  return steps;
}

/**
 * Backups live in shared/backups; after a backup ran, only the newest `backup_keep` (var,
 * default 7) entries are kept. Names sort by time when they carry a timestamp, which the
 * recipes' backup tasks do; `ls -t` orders by modification time otherwise.
 */
export function pruneBackups(stage: StageConfig, m: Member): Command | undefined {
  const keep = Number(m.host.vars.backup_keep ?? stage.vars.backup_keep ?? 7);
  if (!Number.isInteger(keep) || keep < 1) return undefined;
  const dir = `${m.paths.shared}/backups`;
  return sh`if [ -d ${dir} ]; then cd -- ${dir} && ls -1t | tail -n +${keep + 1} | while IFS= read -r f; do rm -rf -- "./$f"; done; fi`;
}

export function pruneList(stage: StageConfig, m: Member, release: string): string[] {
  const releases = [...m.state.releases, { id: release, failed: false }];
  return planPrune(releases, { keep: stage.keepReleases, current: release }).remove;
}

/**
 * `prune`: the release ids pruneList chose for this host (computed once, also reported); then
 * the dependency installs that no release left uses, where the host has any (a first deploy
 * that makes one leaves nothing unused).
 */
export function finishSteps(m: Member, release: string, token: string, entry: HistoryEntry, migrated: boolean, prune: string[]): Step[] {
  const steps: Step[] = [];
  const remove = removeReleases(m.paths, prune);
  if (remove) steps.push({ label: 'prune', command: remove });
  if (m.state.installs) steps.push({ label: 'prune installs', command: pruneInstalls(m.paths) });
  if (migrated) steps.push({ label: 'mark migrated', command: markMigrated(m.paths, release) });
  steps.push({ label: 'history', command: appendHistory(m.paths, entry) });
  steps.push({ label: 'unlock', command: releaseLock(m.paths, token) });
  return steps;
}
