/**
 * What `ship check` asks a host, in one round trip: one step per question, each printing
 * `key value` lines and always exiting 0 (a "no" is an answer, not a failed step).
 */
import { parseInspection } from '../../release/inspect.js';
import { readLock } from '../../release/lock.js';
import type { ServerPaths } from '../../release/paths.js';
import type { Command } from '../../shell/command.js';
import { lines, sh } from '../../shell/sh.js';
import type { Step } from '../../shell/script.js';
import type { StepOutcome } from '../../engine/index.js';
import { findPrograms, parsePrograms } from '../programs.js';
import { lockfileProbe, packageJsonProbe } from './audit.js';
import { parseSshdProbe, parseUpdates, sshdProbe, type SshdFacts, type UpdateFacts, updatesProbe } from './security.js';
import { DEPLOY_DIRS, type BackupFacts, type DeployToFacts, type LogFileFacts, type LogrotateFacts } from './judge.js';

export interface ProbeInput {
  paths: ServerPaths;
  programs: readonly string[];
  logrotate: { system: string; user: string; logDir: string };
  /** Where backups are, when the stage has a backup task that runs on this host. */
  backups?: string;
  /** The record of restore drills, when this host takes the built-in database backups. */
  drills?: string;
  /** sshd's config file, read when `sshd -T` is not allowed. */
  sshdConfig: string;
  /** Read the current release's package.json and lockfile (for npm audit, run from this machine). */
  audit: boolean;
}

export interface ProbeFacts {
  user: string;
  deployTo: DeployToFacts;
  df: string;
  programs: Record<string, string | undefined>;
  lock: string;
  current?: string;
  revision?: string;
  logrotate: LogrotateFacts;
  backups?: BackupFacts;
  /** `git --version`'s number, when git is one of the programs and is installed. */
  gitVersion?: string;
  /** The last successful restore drill's record (a JSON line), if any. */
  lastDrill?: string;
  /** Each log under shared/log: its size and how many rotated copies it has. */
  logs: LogFileFacts[];
  sshd: SshdFacts;
  updates: UpdateFacts;
  /** The current release's package.json and lockfile, when asked for and present. */
  packageJson?: string;
  lockfile?: string;
}

/** A probe step's commands, one per line; it always exits 0: a "no" is an answer, not a failure. */
const answers = (...commands: Command[]): Command => lines(...commands, sh`exit 0`);

/** deploy_to, or the nearest parent that exists (df and the write test need a real path). */
const nearest = (path: string) => sh`__d=${path}; while [ ! -e "$__d" ]; do __d=$(dirname -- "$__d"); done`;

export function checkProbe(i: ProbeInput): Step[] {
  const root = i.paths.root;
  const steps: Step[] = [
    { label: 'whoami', command: answers(sh`printf 'user %s\\n' "$(id -un)"`) },
    {
      label: 'deploy_to',
      command: answers(
        nearest(root),
        sh`printf 'nearest %s\\n' "$__d"`,
        sh`if [ -d ${root} ]; then echo exists; fi`,
        // -w alone says yes on a read-only file system: really create a file
        sh`if __t=$(mktemp "$__d/.ship-check.XXXXXX" 2>/dev/null); then rm -f -- "$__t"; echo writable; fi`,
        // what a deploy writes in: each of them may be owned by root (a first run as root), read-only or full
        sh`for __s in ${[...DEPLOY_DIRS]}; do if [ -d ${root}/"$__s" ] && ! { __t=$(mktemp ${root}/"$__s/.ship-check.XXXXXX" 2>/dev/null) && { printf x 2>/dev/null >"$__t"; __w=$?; rm -f -- "$__t"; [ "$__w" -eq 0 ]; }; }; then printf 'unwritable %s\n' "$__s"; fi; done`,
      ),
    },
    { label: 'disk', command: answers(nearest(root), sh`df -Pk -- "$__d"`) },
    { label: 'programs', command: findPrograms([...i.programs, 'logrotate']) },
    { label: 'lock', command: readLock(i.paths) },
    { label: 'current', command: currentProbe(i.paths) },
    { label: 'logrotate', command: logrotateProbe(i.logrotate) },
  ];
  if (i.backups) steps.push({ label: 'backups', command: backupsProbe(i.backups) });
  if (i.programs.includes('git')) steps.push({ label: 'git', command: answers(sh`if command -v git >/dev/null 2>&1; then git --version; fi`) });
  steps.push({ label: 'logs', command: logsProbe(i.logrotate.logDir) });
  steps.push({ label: 'sshd', command: sshdProbe(i.sshdConfig) }, { label: 'updates', command: updatesProbe(`${i.paths.shipDir}/apt-upgrades.cache`) });
  if (i.audit) steps.push({ label: 'package.json', command: packageJsonProbe(i.paths) }, { label: 'lockfile', command: lockfileProbe(i.paths) });
  if (i.drills) steps.push({ label: 'drills', command: answers(sh`grep -F '"ok":true' ${i.drills} 2>/dev/null | tail -n 1`) });
  return steps;
}

function currentProbe(paths: ServerPaths): Command {
  return answers(
    sh`if __c=$(readlink ${paths.current} 2>/dev/null); then printf 'current %s\\n' "$__c"; fi`,
    sh`printf 'revision %s\\n' "$(head -c 64 ${`${paths.current}/REVISION`} 2>/dev/null | tr -dc 0-9a-f)"`,
  );
}

function logrotateProbe(where: ProbeInput['logrotate']): Command {
  return answers(
    sh`if [ -f ${where.system} ]; then echo system; fi`,
    sh`grep -lF -- ${where.logDir} /etc/logrotate.conf /etc/logrotate.d/* 2>/dev/null | sed 's/^/mentions /'`,
    sh`if [ -f ${where.user} ]; then echo user; fi`,
    sh`if crontab -l 2>/dev/null | grep -qF -- ${where.user}; then echo scheduled; fi`,
  );
}

/** `log <bytes> <rotated copies> <name>` per *.log: rotated copies are name.N[.gz] and name-DATE[.gz] (dateext). */
function logsProbe(dir: string): Command {
  return answers(
    sh`if cd -- ${dir} 2>/dev/null; then for __f in *.log; do [ -f "$__f" ] || continue; printf 'log %s %s %s\n' "$(wc -c < "$__f" | tr -d ' ')" "$(ls -1d -- "$__f".* "$__f"-* 2>/dev/null | wc -l | tr -d ' ')" "$__f"; done; fi`,
  );
}

function backupsProbe(dir: string): Command {
  return answers(
    sh`printf 'now %s\\n' "$(date +%s)"`,
    sh`__n=$(ls -1t -- ${dir} 2>/dev/null | head -n 1)`,
    sh`if [ -n "$__n" ]; then printf 'newest %s %s\\n' "$(date -r ${dir}/"$__n" +%s)" "$__n"; fi`,
  );
}

export function parseCheckProbe(i: ProbeInput, steps: StepOutcome[]): ProbeFacts {
  const out = (label: string) => steps.find((s) => s.label === label)?.stdout ?? '';
  const has = (label: string, word: string) => out(label).split('\n').includes(word);
  const value = (label: string, key: string) => new RegExp(`^${key} (.*)$`, 'm').exec(out(label))?.[1]?.trim();
  const programs = parsePrograms(out('programs'));
  // only `current` is read here: no release id is judged, so any clock does
  const current = parseInspection('', i.paths, out('current'), new Date()).current;
  const revision = value('current', 'revision');
  const facts: ProbeFacts = {
    user: value('whoami', 'user') ?? '?',
    deployTo: {
      exists: has('deploy_to', 'exists'),
      writable: has('deploy_to', 'writable'),
      nearest: value('deploy_to', 'nearest') ?? i.paths.root,
      unwritable: out('deploy_to')
        .split('\n')
        .flatMap((l) => (l.startsWith('unwritable ') ? [l.slice('unwritable '.length)] : [])),
    },
    df: out('disk'),
    programs,
    lock: out('lock'),
    ...(current ? { current } : {}),
    ...(revision ? { revision } : {}),
    logrotate: {
      ...(programs.logrotate ? { program: programs.logrotate } : {}),
      systemRule: has('logrotate', 'system'),
      mentions: out('logrotate')
        .split('\n')
        .flatMap((l) => (l.startsWith('mentions ') ? [l.slice(9)] : [])),
      userRule: has('logrotate', 'user'),
      scheduled: has('logrotate', 'scheduled'),
    },
    logs: [],
    sshd: parseSshdProbe(out('sshd')),
    updates: parseUpdates(out('updates')),
  };
  const gitVersion = /^git version (\d+(?:\.\d+)*)/m.exec(out('git'))?.[1];
  if (gitVersion) facts.gitVersion = gitVersion;
  if (i.audit && out('package.json').trim()) facts.packageJson = out('package.json');
  if (i.audit && out('lockfile').trim()) facts.lockfile = out('lockfile');
  if (i.backups) {
    const newest = /^newest (\d+) (.+)$/m.exec(out('backups'));
    facts.backups = { hostNow: Number(value('backups', 'now') ?? 0), ...(newest ? { newest: { mtime: Number(newest[1]), name: newest[2]! } } : {}) };
  }
  if (i.drills && out('drills').trim()) facts.lastDrill = out('drills').trim();
  facts.logs = out('logs')
    .split('\n')
    .flatMap((l) => {
      const m = /^log (\d+) (\d+) (.+)$/.exec(l);
      return m ? [{ bytes: Number(m[1]), rotated: Number(m[2]), name: m[3]! }] : [];
    });
  return facts;
}
