import { formatDuration } from '../config/index.js';
import type { HealthExpect, HealthSettings } from '../config/types.js';
import { runOn, type RunEnv } from '../engine/index.js';
import { inDir, script } from '../shell/command.js';
import { interpolateShell, interpolateText } from '../shell/template.js';
import type { Transport } from '../transport/types.js';
import { FatalProbe, judgeHttp, type Verdict } from './evaluate.js';
import { MIN_ATTEMPT_MS, pollUntilHealthy, type PollResult } from './poll.js';
import { unresolvedHint } from './unresolved.js';

export interface HealthCheckInput {
  host: string;
  transport: Transport;
  health: HealthSettings;
  values: Record<string, string>; // template values for this host
  taskEnv?: Record<string, string>; // environment of a `command` check (the tasks' environment)
}

/**
 * For a probe's catch: a name the host cannot resolve is thrown on as a FatalProbe (the poll
 * stops there); any other error as it is (the poll asks again).
 */
function failsFastOn(i: HealthCheckInput, target: string, template: string): (e: unknown) => never {
  return (e) => {
    const message = (e as Error)?.message ?? String(e);
    const hint = unresolvedHint({ message, target, template, host: i.host, address: i.values.address });
    throw hint ? new FatalProbe(hint) : e;
  };
}

/** An HTTP or TCP attempt waits at most this long (less when the check's timeout is shorter). */
const NETWORK_ATTEMPT_MS = 10_000;

/**
 * One probe per the configured kind: http, then tcp, then command (the first configured).
 * Each attempt is bounded: by its budget (what is left of the check's timeout) and, for http
 * and tcp, by NETWORK_ATTEMPT_MS; a command that overruns is stopped on the host.
 */
function makeProbe(run: RunEnv, i: HealthCheckInput): (budgetMs: number) => Promise<Verdict> {
  const { health } = i;
  const network = (budgetMs: number) => Math.min(budgetMs, Math.max(MIN_ATTEMPT_MS, Math.min(health.timeoutMs, NETWORK_ATTEMPT_MS)));
  if (health.http) {
    const url = interpolateText(health.http, i.values);
    const unresolved = failsFastOn(i, url, health.http);
    const expect = filledExpect(health.expect, i.values);
    return async (budgetMs) =>
      judgeHttp(await i.transport.httpGet(url, { timeoutMs: network(budgetMs), ...(run.signal ? { signal: run.signal } : {}) }).catch(unresolved), expect);
  }
  if (health.tcp) {
    const target = interpolateText(health.tcp, i.values);
    const m = /^(.*):(\d+)$/.exec(target);
    if (!m) throw new Error(`health.tcp must be host:port, got ${JSON.stringify(target)}`);
    const unresolved = failsFastOn(i, target, health.tcp);
    return async (budgetMs) => {
      await i.transport.tcpProbe(m[1]!.replace(/^\[|\]$/g, ''), Number(m[2]), { timeoutMs: network(budgetMs) }).catch(unresolved);
      return { ok: true, detail: `tcp ${target} accepts` };
    };
  }
  if (health.command) {
    // run in the release just published, like the app itself
    const command = inDir(i.values.current_path ?? '/', script(interpolateShell(health.command, i.values)));
    return async (budgetMs) => {
      const r = await runOn(run, {
        host: i.host,
        transport: i.transport,
        steps: [{ label: 'health', command, timeoutMs: budgetMs }],
        ...(i.taskEnv ? { env: i.taskEnv } : {}),
        quiet: true,
        ...(run.signal ? { signal: run.signal } : {}),
      });
      const why = r.steps[0]?.stderr.trim().split('\n').at(-1) ?? '';
      if (r.ok) return { ok: true, detail: 'command exited 0' };
      // the budget is what was left of the deadline, a few ms short of whole seconds: say it in seconds
      if (r.steps[0]?.timedOut) return { ok: false, detail: `command still running after ${formatDuration(Math.ceil(budgetMs / 1000) * 1000)}: stopped` };
      return { ok: false, detail: `command exited ${r.exitCode}${why ? `: ${run.redact(why)}` : ''}` };
    };
  }
  return async () => ({ ok: true, detail: 'no health check configured' });
}

/** What a healthy answer must hold on this host: {{release}}, {{revision}}... filled in. */
function filledExpect(expect: HealthExpect, values: Record<string, string>): HealthExpect {
  return {
    status: expect.status,
    ...(expect.body !== undefined ? { body: interpolateText(expect.body, values) } : {}),
    ...(expect.header ? { header: Object.fromEntries(Object.entries(expect.header).map(([k, v]) => [k, interpolateText(v, values)])) } : {}),
  };
}

/** Polls the host's health check until healthy or its timeout, reporting every attempt. */
export async function checkHealth(run: RunEnv, i: HealthCheckInput): Promise<PollResult> {
  const probe = makeProbe(run, i);
  const result = await pollUntilHealthy(probe, {
    timeoutMs: i.health.timeoutMs,
    intervalMs: i.health.intervalMs,
    clock: run.clock,
    ...(run.signal ? { signal: run.signal } : {}),
    onAttempt: (attempt, v) => run.emit({ event: 'health', host: i.host, ok: v.ok, attempt, detail: run.redact(v.detail) }),
  });
  run.emit({ event: 'health', host: i.host, ok: result.ok, attempt: result.attempts, detail: run.redact(result.last.detail), final: true });
  return result;
}
