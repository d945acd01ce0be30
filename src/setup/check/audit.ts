/**
 * Known vulnerabilities in the production dependencies of the release a host runs: its
 * package.json and lockfile are read from `current` over SSH, and `npm audit --omit=dev` runs
 * on this machine (hosts need no npm of their own, nor a way out to the registry). A registry
 * that cannot be reached makes this item a warning that says so, never a failed check.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerPaths } from '../../release/paths.js';
import type { Command } from '../../shell/command.js';
import { sh, shText } from '../../shell/sh.js';
import type { Transport } from '../../transport/types.js';
import type { Judged } from './judge.js';

const SEVERITIES = ['critical', 'high', 'moderate', 'low', 'info'] as const;
type Severity = (typeof SEVERITIES)[number];

/** Prints the current release's package.json; nothing when there is none. */
export const packageJsonProbe = (paths: ServerPaths): Command => sh`cat -- ${`${paths.current}/package.json`} 2>/dev/null; exit 0`;

/** Prints the current release's lockfile (package-lock.json, else npm-shrinkwrap.json); nothing when there is none. */
export const lockfileProbe = (paths: ServerPaths): Command =>
  sh`cat -- ${`${paths.current}/package-lock.json`} 2>/dev/null || cat -- ${`${paths.current}/npm-shrinkwrap.json`} 2>/dev/null; exit 0`;

export interface AuditOutcome {
  counts?: Record<Severity, number>;
  /** Why npm audit gave no answer (the registry unreachable, npm missing...). */
  error?: string;
}

/** Runs `npm audit --omit=dev --json` here, in a temporary directory holding the two files. */
export async function runAudit(local: Transport, packageJson: string, lockfile: string, signal?: AbortSignal): Promise<AuditOutcome> {
  const dir = await mkdtemp(join(tmpdir(), 'ship-audit-'));
  try {
    await writeFile(join(dir, 'package.json'), packageJson);
    await writeFile(join(dir, 'package-lock.json'), lockfile);
    // one quick try: a monitor run must not hang on a registry that is down
    const script = shText`cd -- ${dir} || exit 1
command -v npm >/dev/null 2>&1 || { echo '{"error":{"summary":"npm is not installed on this machine"}}'; exit 1; }
npm_config_fetch_retries=0 npm_config_fetch_timeout=20000 npm audit --omit=dev --json
`;
    const r = await local.runScript(script, signal ? { signal } : {});
    return parseAudit(r.stdout, r.stderr);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** npm audit's JSON: `metadata.vulnerabilities` by severity, or an `error` (npm 7+). */
export function parseAudit(stdout: string, stderr = ''): AuditOutcome {
  let json: {
    metadata?: { vulnerabilities?: Partial<Record<Severity, number>> };
    error?: { code?: string; summary?: string; detail?: string };
    message?: string;
  };
  try {
    json = JSON.parse(stdout);
  } catch {
    const last = stderr.trim().split('\n').at(-1) ?? '';
    return { error: last || 'npm audit printed no JSON' };
  }
  const v = json.metadata?.vulnerabilities;
  if (v) return { counts: Object.fromEntries(SEVERITIES.map((s) => [s, v[s] ?? 0])) as Record<Severity, number> };
  const e = json.error;
  return { error: [e?.code, e?.summary?.split('\n')[0] || json.message].filter(Boolean).join(': ') || 'npm audit gave no answer' };
}

export function judgeAudit(a: AuditOutcome, release: string): Judged {
  const of = `production dependencies of release ${release}`;
  if (!a.counts)
    return { status: 'warn', detail: `not checked: npm audit could not get an answer (${a.error}): is the registry's audit endpoint reachable from here?` };
  const found = SEVERITIES.filter((s) => a.counts![s] > 0).map((s) => `${a.counts![s]} ${s}`);
  if (found.length === 0) return { status: 'pass', detail: `no known vulnerabilities in the ${of} (npm audit --omit=dev)` };
  const total = SEVERITIES.reduce((n, s) => n + a.counts![s], 0);
  return {
    status: 'warn',
    detail: `${total} known vulnerabilit${total === 1 ? 'y' : 'ies'} in the ${of}: ${found.join(', ')} (npm audit --omit=dev; npm audit fix)`,
  };
}
