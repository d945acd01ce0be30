import { systemClock, type HostSelection } from '../../engine/index.js';
import { dryRunDeploy, dryRunRollback, PLACEHOLDERS, type DryRun } from '../../deploy/dry-run.js';
import { resolveRevision } from '../../git/git.js';
import { makeRedactor, type Redact } from '../../ui/redact.js';
import { jsonReporter } from '../../ui/reporter.js';
import { ExitCode, ShipError } from '../../errors.js';
import { loadStageAndRecipe } from '../config.js';
import { hostSelection } from '../host-selection.js';
import type { GlobalOptions } from '../runtime.js';
import { operator } from '../wiring.js';

interface DryRunFlags extends GlobalOptions, HostSelection {
  revision?: string;
  to?: string;
}

/**
 * `ship deploy|rollback --dry-run`: connects nowhere, prints per host every command the run
 * would send, in order, redacted (NDJSON `plan` events under --json). Exits 0 whatever state
 * the hosts are in; a bad config, selection or git ref fails as the real run would.
 */
export async function dryRunCommand(command: 'deploy' | 'rollback', stageName: string, flags: DryRunFlags): Promise<void> {
  const t0 = performance.now();
  if (!flags.json) return dryRun(command, stageName, flags, t0);
  try {
    await dryRun(command, stageName, flags, t0);
  } catch (e) {
    // a reader of the NDJSON stream always gets its closing event, whatever went wrong
    const reporter = jsonReporter({ stage: stageName, out: process.stdout, redact: (t) => t });
    const details = e instanceof ShipError ? e.details : [];
    const exitCode = e instanceof ShipError ? e.exitCode : ExitCode.failed;
    const ms = Math.round(performance.now() - t0);
    reporter.emit({ event: 'plan:end', ok: false, exitCode, error: (e as Error).message, ...(details.length ? { details } : {}), ms });
    throw e;
  }
}

async function dryRun(command: 'deploy' | 'rollback', stageName: string, flags: DryRunFlags, t0: number): Promise<void> {
  const { stage, unset } = await loadStageAndRecipe(stageName, flags.config, process.cwd(), process.env, { unsetAs: (name) => `<unset: ${name}>` });
  const redact = makeRedactor(stage.secretValues);
  const selection = hostSelection(flags);
  const env = { clock: systemClock, operator: operator(), redact, resolveRevision };
  const plan =
    command === 'deploy'
      ? await dryRunDeploy(stage, { ...selection, ...(flags.revision ? { revision: flags.revision } : {}) }, env)
      : await dryRunRollback(stage, { ...selection, ...(flags.to ? { to: flags.to } : {}) }, env);
  const envOf = (host: string) => {
    const h = stage.hosts.find((x) => x.name === host);
    return { ...stage.env, ...h?.env };
  };
  const warnings = unset.length ? [unsetWarning(unset), ...plan.warnings] : plan.warnings;
  if (flags.json) return printJson({ ...plan, warnings }, stage.stage, redact, Math.round(performance.now() - t0));
  process.stdout.write(`${redact(describe({ ...plan, warnings }, stage.app, stage.stage, stage.keepReleases, envOf).join('\n'))}\n`);
}

/** What a dry run without every ${NAME} says about them: a deploy would refuse. */
function unsetWarning(names: string[]): string {
  return `not set here, shown as <unset: NAME>: ${names.join(', ')} (a deploy needs them: it would stop with exit 2)`;
}

function printJson(plan: DryRun, stage: string, redact: Redact, ms: number): void {
  const out = jsonReporter({ stage, out: process.stdout, redact });
  const { command, hosts, release, revision, branch, target } = plan;
  out.emit({
    event: 'plan:start',
    command,
    hosts,
    ...(release ? { release } : {}),
    ...(revision ? { revision } : {}),
    ...(branch ? { branch } : {}),
    ...(target ? { target } : {}),
  });
  for (const message of plan.warnings) out.emit({ event: 'log', level: 'warn', message });
  let steps = 0;
  for (const [host, list] of plan.steps) {
    for (const s of list) {
      steps++;
      out.emit({ event: 'plan', host, phase: s.phase, task: s.task, command: s.command, ...(s.note ? { note: s.note } : {}) });
    }
  }
  out.emit({ event: 'plan:end', ok: true, exitCode: 0, steps, ms });
}

/** The plan as text: a header, then per host its phases, each step's name and full command. */
export function describe(plan: DryRun, app: string, stage: string, keep: number, envOf: (host: string) => Record<string, string>): string[] {
  const lines: string[] = [];
  const steps = [...plan.steps.values()].flat();
  const names = Object.values(PLACEHOLDERS).filter((n) => steps.some((s) => s.command.includes(n)));
  if (plan.command === 'deploy') {
    lines.push(
      `dry run: deploy ${app} to stage ${stage}. Nothing is contacted, nothing changes.`,
      `  revision ${plan.revision}${plan.branch ? ` (${plan.branch})` : ''}`,
      `  release  ${plan.release} (from this clock; a host already holding that id or a newer one moves it to the next free second)`,
    );
  } else {
    lines.push(`dry run: roll back ${app} on stage ${stage} to ${plan.target ?? Object.values(PLACEHOLDERS)[1]}. Nothing is contacted, nothing changes.`);
  }
  lines.push(
    `  hosts    ${plan.hosts.join(', ')}`,
    ...(names.length ? [`  What only the hosts can tell is named: ${names.join(', ')}.`] : []),
    ...(plan.command === 'deploy' ? [`  Half-made releases are removed and releases beyond keep_releases (${keep}) pruned as each host requires.`] : []),
  );
  for (const w of plan.warnings) lines.push(`  warning: ${w}`);
  for (const [host, list] of plan.steps) {
    lines.push('', host);
    const env = Object.entries(envOf(host));
    if (env.length) lines.push(`  env: ${env.map(([k, v]) => `${k}=${v}`).join(' ')} (and SHIP_* facts)`);
    let phase: string | undefined;
    for (const s of list) {
      if (s.phase !== phase) {
        phase = s.phase;
        lines.push(`  ${phase}`);
      }
      lines.push(`    ${s.task}${s.note ? `  (${s.note})` : ''}`);
      for (const l of s.command.split('\n')) lines.push(`      ${l}`);
    }
  }
  return lines;
}
