/** Health verdicts that prove the release (body and headers), and attempts bounded by the deadline. */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/engine/index.js';
import { judgeHttp } from '../../src/health/evaluate.js';
import { pollUntilHealthy } from '../../src/health/poll.js';

describe('judgeHttp with what the release must show', () => {
  const expect200 = { status: 200, body: 'ok 20261122030000', header: { 'X-Release': '20261122030000' } };

  it('passes only when body and header name the release', () => {
    expect(judgeHttp({ status: 200, body: 'ok 20261122030000 abc', headers: { 'x-release': '20261122030000' } }, expect200)).toEqual({
      ok: true,
      detail: 'HTTP 200',
    });
  });

  it('an old process answering 200 fails, and the detail says what it said', () => {
    const v = judgeHttp({ status: 200, body: 'ok 20261121000000 abc', headers: { 'x-release': '20261121000000' } }, expect200);
    expect(v).toEqual({ ok: false, detail: 'HTTP 200 but the body lacks "ok 20261122030000" (it says: ok 20261121000000 abc)' });
  });

  it('header names match in any case; a missing or different header fails', () => {
    const only = { status: 200, header: { 'X-Release': '20261122030000' } };
    expect(judgeHttp({ status: 200, body: '', headers: { 'x-release': 'v 20261122030000' } }, only).ok).toBe(true);
    expect(judgeHttp({ status: 200, body: '', headers: {} }, only)).toEqual({
      ok: false,
      detail: 'HTTP 200 but the answer has no X-Release header (expected one containing "20261122030000")',
    });
    expect(judgeHttp({ status: 200, body: '', headers: { 'x-release': '20261121000000' } }, only)).toEqual({
      ok: false,
      detail: 'HTTP 200 but header X-Release is "20261121000000" (expected it to contain "20261122030000")',
    });
  });
});

/** A clock that only moves when slept on or when a probe spends time. */
function fakeClock(): Clock & { advance(ms: number): void } {
  let t = Date.parse('2026-11-22T03:00:00Z');
  return {
    now: () => new Date(t),
    sleep: async (ms) => {
      t += ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

describe('pollUntilHealthy: every attempt bounded by what is left of the deadline', () => {
  it('gives each attempt the time left (at least 1s), and stops at the deadline', async () => {
    const clock = fakeClock();
    const budgets: number[] = [];
    const r = await pollUntilHealthy(
      async (budget) => {
        budgets.push(budget);
        clock.advance(budget); // an attempt that hangs until it is cut off
        return { ok: false, detail: 'command still running: stopped' };
      },
      { timeoutMs: 3_000, intervalMs: 250, clock },
    );
    expect(r.ok).toBe(false);
    expect(budgets).toEqual([3_000]);
  });

  it('a quick failure leaves the rest of the deadline to the next attempts', async () => {
    const clock = fakeClock();
    const budgets: number[] = [];
    await pollUntilHealthy(
      async (budget) => {
        budgets.push(budget);
        clock.advance(500);
        return { ok: false, detail: 'HTTP 503' };
      },
      { timeoutMs: 2_000, intervalMs: 250, clock },
    );
    expect(budgets).toEqual([2_000, 1_250, 1_000]); // the last one: 500ms were left, it got the 1s floor
  });
});
