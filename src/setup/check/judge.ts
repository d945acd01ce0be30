/**
 * `ship check` decisions: measured facts in, pass / warn / fail with the measured value out.
 * Pure (time and "is that pid alive" are passed in), so every threshold is unit-tested.
 */
import { formatDuration } from '../../config/units.js';
import { describeLock, formatAge, parseLockOwner } from '../../release/lock.js';
import { type CheckGroup, type CheckName, GROUP_OF } from './groups.js';

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface Judged {
  status: CheckStatus;
  detail: string;
}

export interface CheckItem extends Judged {
  group: CheckGroup;
  host: string;
  check: CheckName;
}

/** A judged check of one host (or URL, or the stage), under its heading. */
export const checkItem = (host: string, check: CheckName, j: Judged): CheckItem => ({ group: GROUP_OF[check], host, check, ...j });

/** A certificate with fewer days left fails; with fewer than CERT_WARN_DAYS it warns. */
export const CERT_FAIL_DAYS = 14;
export const CERT_WARN_DAYS = 30;

const pass = (detail: string): Judged => ({ status: 'pass', detail });
const warn = (detail: string): Judged => ({ status: 'warn', detail });
const fail = (detail: string): Judged => ({ status: 'fail', detail });

export function humanBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 || value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** `df -Pk` output (POSIX: one line per file system) → free bytes and mount point. */
export function parseDf(out: string): { availableBytes: number; mount: string } | undefined {
  for (const line of out.split('\n').reverse()) {
    const m = /^.*?\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+%\s+(.+)$/.exec(line.trim());
    if (m) return { availableBytes: Number(m[3]) * 1024, mount: m[4]! };
  }
  return undefined;
}

export function judgeDisk(df: ReturnType<typeof parseDf>, minBytes: number, path: string): Judged {
  if (!df) return fail(`could not read free space of ${path} (df -Pk gave nothing usable)`);
  const measured = `${humanBytes(df.availableBytes)} free on ${df.mount}`;
  return df.availableBytes < minBytes
    ? fail(`${measured}, below the floor of ${humanBytes(minBytes)} (check.disk_min)`)
    : pass(`${measured} (floor ${humanBytes(minBytes)})`);
}

/** The directories under deploy_to that every deploy writes in. */
export const DEPLOY_DIRS = ['.ship', 'releases', 'shared'] as const;

export interface DeployToFacts {
  exists: boolean;
  writable: boolean;
  /** deploy_to, or its nearest existing parent when it does not exist yet. */
  nearest: string;
  /** Those of DEPLOY_DIRS that exist but where no file can be written (owner, read-only, full disk). */
  unwritable?: string[];
}

export function judgeWritable(f: DeployToFacts, deployTo: string, user: string): Judged {
  if (f.exists && f.unwritable?.length) {
    const dirs = f.unwritable.map((d) => `${deployTo}/${d}`).join(', ');
    return fail(`${dirs} not writable by ${user} (owned by another user, read-only or full): deploys will fail until it is`);
  }
  if (f.exists) return f.writable ? pass(`${deployTo} writable by ${user}, with ${DEPLOY_DIRS.join(', ')}`) : fail(`${deployTo} is not writable by ${user}`);
  if (f.writable) return warn(`${deployTo} does not exist yet (${f.nearest} is writable by ${user}): run ship setup`);
  return fail(`${deployTo} does not exist and ${f.nearest} is not writable by ${user}: create it for ${user}`);
}

export function judgePrograms(found: Record<string, string | undefined>, required: readonly string[]): Judged {
  const missing = required.filter((p) => !found[p]);
  const present = required.filter((p) => found[p]).map((p) => `${p} ${found[p]}`);
  if (missing.length) return fail(`missing: ${missing.join(', ')}${present.length ? `; found ${present.join(', ')}` : ''}`);
  return pass(present.join(', '));
}

/** The oldest git `strategy: remote` works with: `git clone --mirror` came in 1.6.0. */
export const MIN_GIT = '1.6.0';

/** `git --version`'s number against MIN_GIT (numbers compared part by part). */
export function judgeGitVersion(version: string): Judged {
  const parts = (v: string) => v.split('.').map(Number);
  const [have, need] = [parts(version), parts(MIN_GIT)];
  const i = need.findIndex((n, k) => (have[k] ?? 0) !== n);
  const older = i !== -1 && (have[i] ?? 0) < need[i]!;
  return older
    ? fail(`git ${version} is older than ${MIN_GIT}, the oldest strategy: remote works with (git clone --mirror): install a newer git, or use strategy: upload`)
    : pass(`git ${version}`);
}

export interface LockContext {
  now: Date;
  machine: string; // this machine's name: a lock taken here can be checked for a dead pid
  alive: (pid: number) => boolean;
  stage: string;
}

/** `readLock` output: empty = unlocked. Any lock fails: a deploy now would be refused. */
export function judgeLock(text: string, ctx: LockContext): Judged {
  if (!text.trim()) return pass('not locked');
  const owner = parseLockOwner(text);
  const held = describeLock(owner, ctx.now);
  // `ship lock` exits once the lock is taken: a maintenance window has no live process
  if (owner?.command === 'lock') return fail(`locked for maintenance, ${held}`);
  const dead = owner?.machine === ctx.machine && typeof owner.pid === 'number' && !ctx.alive(owner.pid);
  if (dead) return fail(`stale lock ${held}; its process is gone: ship unlock ${ctx.stage}`);
  return fail(`locked, ${held}: if that run is dead, ship unlock ${ctx.stage}`);
}

export interface CertificateFacts {
  validTo: Date;
  /** Why the chain or name is not trusted from here; undefined when it is. */
  untrusted?: string;
  subject?: string;
}

export function judgeCertificate(c: CertificateFacts, now: Date): Judged {
  const days = Math.floor((c.validTo.getTime() - now.getTime()) / 86_400_000);
  const until = c.validTo.toISOString().slice(0, 10);
  const left = days < 0 ? `expired ${-days} day(s) ago (${until})` : `expires in ${days} day(s) (${until})`;
  if (c.untrusted) return fail(`not trusted from here: ${c.untrusted}; ${left}`);
  if (days < CERT_FAIL_DAYS) return fail(`${left}: renew it, under ${CERT_FAIL_DAYS} days left`);
  if (days < CERT_WARN_DAYS) return warn(`${left}: renew it soon`);
  return pass(left);
}

export interface BackupFacts {
  /** The host's clock, in seconds: the age is measured there, whatever this machine's clock says. */
  hostNow: number;
  newest?: { name: string; mtime: number };
}

export function judgeBackup(b: BackupFacts, limitMs: number, dir: string): Judged {
  if (!b.newest) return fail(`no backup in ${dir}`);
  const ageMs = Math.max(0, (b.hostNow - b.newest.mtime) * 1000);
  const measured = `newest ${b.newest.name} is ${formatAge(ageMs)} old`;
  return ageMs > limitMs
    ? fail(`${measured}, older than ${formatDuration(limitMs)} (vars.backup_max_age)`)
    : pass(`${measured} (limit ${formatDuration(limitMs)})`);
}

export interface LogrotateFacts {
  /** Path of logrotate on the host; undefined when it is not installed. */
  program?: string;
  /** The system-wide rule `ship setup` writes exists. */
  systemRule: boolean;
  /** Other files under /etc/logrotate.d (or logrotate.conf) that mention the log dir. */
  mentions: string[];
  /** The per-user rule `ship setup` writes without root exists... */
  userRule: boolean;
  /** ...and the user's crontab runs it. */
  scheduled: boolean;
}

export function judgeLogrotate(f: LogrotateFacts, where: { system: string; user: string; logDir: string }): Judged {
  if (!f.program) return warn('cannot check: logrotate is not installed on this host');
  if (f.systemRule) return pass(`${where.system} rotates ${where.logDir}/*.log`);
  if (f.mentions.length) return pass(`${f.mentions.join(', ')} mention ${where.logDir}`);
  if (f.userRule && f.scheduled) return pass(`${where.user}, run daily from the crontab`);
  if (f.userRule) return warn(`${where.user} exists but nothing runs it (no crontab entry): run ship setup`);
  return fail(`no logrotate rule covers ${where.logDir}: run ship setup`);
}

/** The last successful restore drill (its record), judged by its age on the host's clock. */
export function judgeDrill(record: string | undefined, hostNow: number, limitMs: number, stage: string): Judged {
  const hint = `ship backup verify ${stage}`;
  if (!record) return fail(`no successful restore drill recorded: run ${hint}`);
  let at: number;
  let backup = '?';
  try {
    const r = JSON.parse(record) as { at?: string; backup?: string };
    at = Date.parse(r.at ?? '');
    backup = r.backup ?? backup;
  } catch {
    at = Number.NaN;
  }
  if (Number.isNaN(at)) return fail(`the drill record cannot be read: run ${hint}`);
  const ageMs = Math.max(0, hostNow * 1000 - at);
  const measured = `last successful drill ${formatAge(ageMs)} ago (${backup})`;
  return ageMs > limitMs
    ? fail(`${measured}, older than ${formatDuration(limitMs)} (vars.backup_verify_max_age): run ${hint}`)
    : pass(`${measured} (limit ${formatDuration(limitMs)})`);
}

export interface LogFileFacts {
  name: string;
  bytes: number;
  rotated: number;
}

/**
 * Once a log is bigger than the rule's maxsize, logrotate's next (daily) run rotates it: a log
 * past that size without a single rotated copy says rotation is not happening. Past twice
 * the size it fails; just past it, it warns (the daily run may not have come yet).
 */
export function judgeRotatedLogs(logs: LogFileFacts[], maxBytes: number, maxSize: string, logDir: string): Judged {
  if (logs.length === 0) return pass(`no logs in ${logDir} yet`);
  const largest = logs.reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const unrotated = logs.filter((l) => l.bytes > maxBytes && l.rotated === 0).sort((a, b) => b.bytes - a.bytes);
  const copies = logs.reduce((n, l) => n + l.rotated, 0);
  const measured = `${logs.length} log(s), largest ${largest.name} ${humanBytes(largest.bytes)}, ${copies} rotated cop${copies === 1 ? 'y' : 'ies'}`;
  const worst = unrotated[0];
  if (!worst) return pass(measured);
  const why = `${worst.name} is ${humanBytes(worst.bytes)}, over vars.log_max_size ${maxSize}, and has never been rotated`;
  return worst.bytes > 2 * maxBytes
    ? fail(`${why}: logrotate is not running this rule (see the logrotate check)`)
    : warn(`${why} yet: the next daily logrotate run should`);
}
