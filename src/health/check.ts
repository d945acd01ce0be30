import type { HealthSettings } from '../config/types.js';
import { runOn, type RunEnv } from '../engine/index.js';
import { inDir, script } from '../shell/command.js';
import { interpolateShell, interpolateText } from '../shell/template.js';
import type { Transport } from '../transport/types.js';
import { FatalProbe, judgeHttp, type Verdict } from './evaluate.js';
import { pollUntilHealthy, type PollResult } from './poll.js';
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

/** One probe per the configured kind: http, then tcp, then command (the first configured). */
function makeProbe(run: RunEnv, i: HealthCheckInput): () => Promise<Verdict> {
  const { health } = i;
  const perAttempt = Math.max(1000, Math.min(health.timeoutMs, 10_000));
  if (health.http) {
    const url = interpolateText(health.http, i.values);
    const unresolved = failsFastOn(i, url, health.http);
    return async () =>
      judgeHttp(await i.transport.httpGet(url, { timeoutMs: perAttempt, ...(run.signal ? { signal: run.signal } : {}) }).catch(unresolved), health.expect);
  }
  if (health.tcp) {
    const target = interpolateText(health.tcp, i.values);
    const m = /^(.*):(\d+)$/.exec(target);
    if (!m) throw new Error(`health.tcp must be host:port, got ${JSON.stringify(target)}`);
    const unresolved = failsFastOn(i, target, health.tcp);
    return async () => {
      await i.transport.tcpProbe(m[1]!.replace(/^\[|\]$/g, ''), Number(m[2]), { timeoutMs: perAttempt }).catch(unresolved);
      return { ok: true, detail: `tcp ${target} accepts` };
    };
  }
  if (health.command) {
    // run in the release just published, like the app itself
    const command = inDir(i.values.current_path ?? '/', script(interpolateShell(health.command, i.values)));
    return async () => {
      const r = await runOn(run, {
        host: i.host,
        transport: i.transport,
        steps: [{ label: 'health', command }],
        ...(i.taskEnv ? { env: i.taskEnv } : {}),
        quiet: true,
        ...(run.signal ? { signal: run.signal } : {}),
      });
      const why = r.steps[0]?.stderr.trim().split('\n').at(-1) ?? '';
      return r.ok ? { ok: true, detail: 'command exited 0' } : { ok: false, detail: `command exited ${r.exitCode}${why ? `: ${run.redact(why)}` : ''}` };
    };
  }
  return async () => ({ ok: true, detail: 'no health check configured' });
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
