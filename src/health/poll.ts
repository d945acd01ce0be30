import type { Clock } from '../engine/index.js';
import { FatalProbe, type Verdict } from './evaluate.js';

export interface PollResult {
  ok: boolean;
  attempts: number;
  last: Verdict;
}

/** The least time an attempt is given, even when the overall deadline is closer. */
export const MIN_ATTEMPT_MS = 1_000;

/**
 * Asks `probe` until it says healthy or `timeoutMs` has passed, `intervalMs` apart, or until it
 * fails in a way asking again cannot mend (a FatalProbe). Each attempt is told how long it may
 * take: what is left of the overall deadline (at least MIN_ATTEMPT_MS), so no attempt outlives
 * the deadline by more than that. Every attempt is reported so a failure is never opaque. Time
 * comes from the injected clock.
 */
export async function pollUntilHealthy(
  probe: (budgetMs: number) => Promise<Verdict>,
  opts: { timeoutMs: number; intervalMs: number; clock: Clock; onAttempt?: (attempt: number, v: Verdict) => void; signal?: AbortSignal },
): Promise<PollResult> {
  const deadline = opts.clock.now().getTime() + opts.timeoutMs;
  let attempts = 0;
  for (;;) {
    attempts++;
    let v: Verdict;
    try {
      v = await probe(Math.max(MIN_ATTEMPT_MS, deadline - opts.clock.now().getTime()));
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      v = { ok: false, detail: (e as Error).message || String(e), ...(e instanceof FatalProbe ? { fatal: true } : {}) };
    }
    opts.onAttempt?.(attempts, v);
    if (v.ok) return { ok: true, attempts, last: v };
    if (v.fatal) return { ok: false, attempts, last: v };
    const left = deadline - opts.clock.now().getTime();
    if (left <= 0) return { ok: false, attempts, last: v };
    await opts.clock.sleep(Math.min(opts.intervalMs, left), opts.signal);
  }
}
