/** Health verdicts that prove the release (body and headers), and attempts bounded by the deadline. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Clock, type RunEnv, systemClock } from '../../src/engine/index.js';
import { checkHealth } from '../../src/health/check.js';
import { judgeHttp } from '../../src/health/evaluate.js';
import { pollUntilHealthy } from '../../src/health/poll.js';
import type { HealthSettings } from '../../src/config/types.js';
import { LocalTransport } from '../../src/transport/local.js';

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

describe('checkHealth on this machine (a local host): a check that hangs ends at health.timeout', () => {
  const transport = new LocalTransport('h1', mkdtempSync(join(tmpdir(), 'ship-health-')));
  const env: RunEnv = {
    clock: systemClock,
    emit: () => {},
    redact: (s) => s,
    transportFor: () => transport,
    operator: { user: 'test', machine: 'test', pid: process.pid },
    concurrency: 1,
  };
  const check = (health: Partial<HealthSettings>) =>
    checkHealth(env, { host: 'h1', transport, values: {}, health: { expect: { status: 200 }, timeoutMs: 1_000, intervalMs: 100, ...health } });

  it('a command that never exits is stopped: the check fails saying so, its process gone', async () => {
    const r = await check({ command: 'sleep 3193' });
    expect(r).toMatchObject({ ok: false, attempts: 1, last: { detail: 'command still running after 1s: stopped' } });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(spawnSync('pgrep', ['-f', 'sleep 3193']).status).toBe(1);
  });

  it('an HTTP server that accepts and never answers fails the check', async () => {
    const silent = createServer(() => {}); // holds every request open
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const r = await check({ http: `http://127.0.0.1:${(silent.address() as { port: number }).port}/health` });
      expect(r.ok).toBe(false);
      expect(r.last.detail).toMatch(/timed out|timeout|abort/i);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
