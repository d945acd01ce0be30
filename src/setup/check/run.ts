/**
 * `ship check <stage>`: per host, can it be deployed to and is it ready to
 * be live. Unlike a deploy, an unreachable host is a finding, not the end of the run: every
 * host is connected on its own, probed in one round trip, and judged; then the TLS
 * certificates are read from this machine.
 */
import type { HostConfig, StageConfig } from '../../config/types.js';
import { parseDuration } from '../../config/units.js';
import { hostFacts, mapSettled, type RunEnv, runOn, selectHosts, taskEnv, taskRunsOn, templateValues, type HostSelection } from '../../engine/index.js';
import { checkHealth } from '../../health/check.js';
import { healthChecksFor } from '../../health/select.js';
import type { Recipe } from '../../recipes/load.js';
import { serverPaths, type ServerPaths } from '../../release/paths.js';
import { interpolateText } from '../../shell/template.js';
import { backupHost, backupSettings } from '../../backup/database.js';
import { drillsFile } from '../../backup/steps.js';
import type { Transport } from '../../transport/types.js';
import { logRotation, logrotateLocations } from '../plan.js';
import {
  checkItem,
  judgeBackup,
  judgeCertificate,
  judgeDisk,
  judgeGitVersion,
  judgeDrill,
  judgeLock,
  judgeLogrotate,
  judgePrograms,
  judgeRotatedLogs,
  judgeWritable,
  parseDf,
  type CheckItem,
  type Judged,
  type LockContext,
} from './judge.js';
import { checkProbe, parseCheckProbe, type ProbeFacts, type ProbeInput } from './probe.js';
import { appHosts } from '../../balancer/balancer.js';
import { checkStage } from './stage.js';
import { readCertificate } from './tls.js';
import { judgeAudit, runAudit } from './audit.js';
import type { CheckName } from './groups.js';
import { DEFAULT_SSHD_CONFIG, judgeSshd, judgeUpdates } from './security.js';

export const DEFAULT_DISK_MIN = 1024 ** 3;
export const DEFAULT_BACKUP_MAX_AGE = '26h';
/** A health check in `ship check` is one look, not a deploy's long wait. */
const HEALTH_LIMIT_MS = 10_000;
const TLS_TIMEOUT_MS = 10_000;

export interface CheckOptions {
  stage: StageConfig;
  recipe: Recipe;
  selection: HostSelection;
  env: RunEnv;
  lock: Omit<LockContext, 'now' | 'stage'>;
}

export interface CheckReport {
  hosts: { host: string; items: CheckItem[] }[];
  /** Certificates, read from this machine: `host` is the URL's host. */
  certificates: CheckItem[];
  /** About the stage as a whole (restarts, the load balancer): `host` is "stage". */
  stage: CheckItem[];
}

export async function runCheck(o: CheckOptions): Promise<CheckReport> {
  const hosts = appHosts(o.stage, selectHosts(o.stage, o.selection));
  const httpsUrls: string[] = [];
  // npm audit once, of the release the first host runs (hosts run the same release)
  const settled = await mapSettled(hosts, o.env.concurrency, (host) => checkHost(o, host, httpsUrls, host === hosts[0]));
  const results = settled.map((s, i) => ({
    host: hosts[i]!.name,
    items:
      s.status === 'fulfilled' ? s.value : [checkItem(hosts[i]!.name, 'ssh', { status: 'fail', detail: String((s.reason as Error)?.message ?? s.reason) })],
  }));
  const certificates = await checkCertificates(o.stage.check.urls, httpsUrls, () => o.env.clock.now());
  return { hosts: results, certificates, stage: await checkStage(o.stage, hosts, o.env) };
}

async function checkHost(o: CheckOptions, host: HostConfig, httpsUrls: string[], audit: boolean): Promise<CheckItem[]> {
  const items: CheckItem[] = [];
  const add = (check: CheckName, j: Judged) => items.push(checkItem(host.name, check, j));
  const transport = o.env.transportFor(host);
  const t0 = performance.now();
  try {
    await transport.connect();
  } catch (e) {
    const message = o.env.redact(String((e as Error)?.message ?? e));
    const hostKey = (e as { kind?: string }).kind === 'hostkey';
    add('ssh', {
      status: 'fail',
      detail: `unreachable: ${hostKey ? 'its host key was refused (see host key)' : message} (the other checks of this host were skipped)`,
    });
    if (hostKey) add('host key', { status: 'fail', detail: message });
    await transport.close().catch(() => {});
    return items;
  }
  try {
    const ms = Math.round(performance.now() - t0);
    const paths = serverPaths(host.deployTo);
    const probeInput = probeFor(o, host, paths, audit);
    const outcome = await runOn(o.env, {
      host: host.name,
      transport,
      steps: checkProbe(probeInput),
      quiet: true,
      ...(o.env.signal ? { signal: o.env.signal } : {}),
    });
    if (!outcome.ok) {
      add('ssh', { status: 'fail', detail: `connected, but the check script failed: ${outcome.error?.message ?? `exit ${outcome.exitCode}`}` });
      return items;
    }
    const facts = parseCheckProbe(probeInput, outcome.steps);
    add(
      'ssh',
      host.local
        ? { status: 'pass', detail: 'local host: commands run here, no SSH' }
        : { status: 'pass', detail: `${facts.user}@${host.name}:${host.ssh.port ?? 22}, key auth, ${ms} ms` },
    );
    if (!host.local) add('host key', judgeHostKey(host));
    if (!host.local) add('password login', judgeSshd(facts.sshd));
    add('security updates', judgeUpdates(facts.updates));
    if (facts.packageJson && facts.current) add('dependencies', await auditVerdict(o, facts));
    add('deploy_to', judgeWritable(facts.deployTo, paths.root, facts.user));
    add('disk', judgeDisk(parseDf(facts.df), o.stage.check.diskMinBytes ?? DEFAULT_DISK_MIN, paths.root));
    add('programs', judgePrograms(facts.programs, probeInput.programs));
    if (facts.gitVersion) add('git', judgeGitVersion(facts.gitVersion));
    add('lock', judgeLock(facts.lock, { ...o.lock, now: o.env.clock.now(), stage: o.stage.stage }));
    for (const j of await judgeHealth(o, host, transport, paths, facts, httpsUrls)) add('health', j);
    add('logrotate', judgeLogrotate(facts.logrotate, probeInput.logrotate));
    const rotation = logRotation(o.stage, host);
    add('rotated logs', judgeRotatedLogs(facts.logs, rotation.maxSizeBytes, rotation.maxSize, probeInput.logrotate.logDir));
    if (facts.backups && probeInput.backups) add('backups', backupVerdict(o, host, facts, probeInput.backups));
    if (probeInput.drills) add('restore drill', drillVerdict(o, host, paths, facts));
    return items;
  } finally {
    await transport.close().catch(() => {});
  }
}

/** npm audit of the release's package.json and lockfile, from this machine. */
async function auditVerdict(o: CheckOptions, facts: ProbeFacts): Promise<Judged> {
  if (!facts.lockfile)
    return { status: 'warn', detail: `not checked: release ${facts.current} has a package.json but no package-lock.json for npm audit to read` };
  if (!o.env.localTransport) return { status: 'warn', detail: 'not checked: no way to run npm here' };
  const outcome = await runAudit(o.env.localTransport, facts.packageJson!, facts.lockfile, o.env.signal);
  return judgeAudit(outcome, facts.current!);
}

function probeFor(o: CheckOptions, host: HostConfig, paths: ServerPaths, audit: boolean): ProbeInput {
  const backup = o.stage.tasks.backup;
  const builtin = !backup && backupHost(o.stage.hosts) === host ? backupSettings(o.stage, host, paths) : undefined;
  const runsBackup = builtin !== undefined || (backup !== undefined && backup.run.length > 0 && taskRunsOn(backup, host, o.stage.hosts));
  const programs = programsFor(o.stage, host, o.recipe);
  return {
    paths,
    programs: [...programs, ...(builtin ? BACKUP_PROGRAMS[builtin.database.kind] : [])],
    logrotate: logrotateLocations(o.stage, paths),
    ...(runsBackup ? { backups: `${paths.shared}/backups` } : {}),
    ...(builtin ? { drills: drillsFile(paths) } : {}),
    sshdConfig: host.vars.sshd_config ?? o.stage.vars.sshd_config ?? DEFAULT_SSHD_CONFIG,
    audit,
  };
}

/** The programs a host needs: git where it fetches the code, tar, the recipe's, pm2 when it runs the app. */
export function programsFor(stage: StageConfig, host: HostConfig, recipe: Pick<Recipe, 'requires'>): string[] {
  // git only where hosts fetch the code themselves; tar unpacks the code either way
  const pm2 = (host.vars.restart_with ?? stage.vars.restart_with) === 'pm2' ? ['pm2'] : [];
  return [...new Set([...(stage.strategy === 'remote' ? ['git'] : []), 'tar', ...recipe.requires, ...pm2])];
}

function judgeHostKey(host: HostConfig): Judged {
  switch (host.ssh.knownHosts) {
    case 'strict':
      return { status: 'pass', detail: 'known (known_hosts: strict)' };
    case 'accept-new':
      return { status: 'pass', detail: "accepted (known_hosts: accept-new records a new host's key on first use)" };
    case 'off':
      return { status: 'warn', detail: 'not verified (known_hosts: off): anything on the way could pose as this host' };
  }
}

async function judgeHealth(
  o: CheckOptions,
  host: HostConfig,
  transport: Transport,
  paths: ServerPaths,
  facts: ProbeFacts,
  httpsUrls: string[],
): Promise<Judged[]> {
  const checks = healthChecksFor(o.stage, host);
  if (checks.length === 0) return [{ status: 'warn', detail: 'no health check configured (health: in deploy.yaml)' }];
  if (!facts.current) return [{ status: 'warn', detail: 'not checked: nothing is deployed yet (no current release)' }];
  const f = hostFacts(o.stage, host, paths, facts.current, {
    revision: facts.revision ?? '',
    ...(o.stage.branch ? { branch: o.stage.branch } : {}),
    previous: undefined,
    address: transport.address,
  });
  const values = templateValues(o.stage, host, f);
  const verdicts: Judged[] = [];
  for (const health of checks) {
    if (health.http?.startsWith('https:')) {
      try {
        httpsUrls.push(interpolateText(health.http, values));
      } catch {
        // an unknown placeholder is reported by the health check itself, just below
      }
    }
    // every attempt would be noise here: the verdict is the item
    const result = await checkHealth(
      { ...o.env, emit: () => {} },
      {
        host: host.name,
        transport,
        health: { ...health, timeoutMs: Math.min(health.timeoutMs, HEALTH_LIMIT_MS) },
        values,
        taskEnv: taskEnv(o.stage, host, f),
      },
    ).catch((e: unknown) => ({ ok: false, attempts: 0, last: { ok: false, detail: o.env.redact(String((e as Error)?.message ?? e)) } }));
    const what = health.http ? `GET ${interpolateOr(health.http, values)}` : health.tcp ? `tcp ${interpolateOr(health.tcp, values)}` : 'command';
    verdicts.push({
      status: result.ok ? 'pass' : 'fail',
      detail: `${what}: ${result.last.detail}${result.ok ? '' : ` (after ${result.attempts} attempt(s))`}`,
    });
  }
  return verdicts;
}

function interpolateOr(template: string, values: Record<string, string>): string {
  try {
    return interpolateText(template, values);
  } catch {
    return template;
  }
}

function backupVerdict(o: CheckOptions, host: HostConfig, facts: ProbeFacts, dir: string): Judged {
  const written = host.vars.backup_max_age ?? o.stage.vars.backup_max_age ?? DEFAULT_BACKUP_MAX_AGE;
  const limit = parseDuration(written);
  if (!limit.ok) return { status: 'fail', detail: `vars.backup_max_age ${JSON.stringify(written)}: ${limit.error}` };
  return judgeBackup(facts.backups!, limit.value, dir);
}

/** The client programs the built-in backups run on the backup host. */
const BACKUP_PROGRAMS = { postgres: ['pg_dump', 'pg_restore', 'psql'], sqlite: ['sqlite3'] } as const;

function drillVerdict(o: CheckOptions, host: HostConfig, paths: ServerPaths, facts: ProbeFacts): Judged {
  const settings = backupSettings(o.stage, host, paths)!;
  return judgeDrill(facts.lastDrill, facts.backups?.hostNow ?? Date.now() / 1000, settings.verifyMaxAgeMs, o.stage.stage);
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/;

/**
 * Each origin once, configured URLs first. A health URL naming loopback means the host's own
 * loopback (health URLs are asked from the host): this machine cannot read that certificate.
 */
async function checkCertificates(configured: string[], fromHealth: string[], now: () => Date): Promise<CheckItem[]> {
  const seen = new Set<string>();
  const jobs: Promise<CheckItem>[] = [];
  const candidates = [...configured.map((url) => ({ url, health: false })), ...fromHealth.map((url) => ({ url, health: true }))];
  for (const { url, health } of candidates) {
    const u = new URL(url);
    if (u.protocol !== 'https:' || seen.has(u.origin)) continue;
    seen.add(u.origin);
    const tls = (j: Judged): CheckItem => checkItem(u.host, 'tls', { status: j.status, detail: `${url}: ${j.detail}` });
    if (health && LOOPBACK.test(u.hostname)) {
      jobs.push(
        Promise.resolve(tls({ status: 'warn', detail: "not checked: the health URL names the host's own loopback; put the public URL in check.urls" })),
      );
      continue;
    }
    jobs.push(
      readCertificate(url, TLS_TIMEOUT_MS).then(
        (cert) => tls(judgeCertificate(cert, now())),
        (e: unknown) => tls({ status: 'fail', detail: `cannot read the certificate: ${String((e as Error)?.message ?? e)}` }),
      ),
    );
  }
  return Promise.all(jobs);
}
