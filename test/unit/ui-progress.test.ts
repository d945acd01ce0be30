import { describe, expect, it } from 'vitest';
import type { ShipEvent } from '../../src/ui/events.js';
import { createProgress, phaseTitle, rowTitle, shortCommand, type Phase, type ProgressView } from '../../src/ui/progress.js';

/** Feeds events to the model with a clock that moves 100 ms per event, recording what the view is told. */
function drive(hosts: string[], events: ShipEvent[]) {
  let t = 0;
  const phases: Phase[] = [];
  const notes: string[] = [];
  const finished: { lines: string[]; ok: boolean }[] = [];
  const view: ProgressView = {
    phaseStarted: (p) => phases.push(p),
    rowChanged: () => {},
    phaseEnded: () => {},
    noted: (p, text) => notes.push(`${p?.name ?? '-'}: ${text}`),
    finished: (lines, ok) => finished.push({ lines, ok }),
  };
  const progress = createProgress({ hosts, now: () => t, view });
  for (const e of events) {
    progress.apply(e);
    t += 100;
  }
  const shown = (p: Phase) => p.rows.map((r) => rowTitle(p, r, progress.width(), t)).filter(Boolean);
  return { phases, notes, finished, shown, progress };
}

const hosts = ['web1', 'web2', 'db1'];
const prepare = (host: string, fail?: { exitCode: number; stderr: string[] }): ShipEvent[] => [
  { event: 'task:start', host, task: 'revision', command: 'printf x' },
  { event: 'task:end', host, task: 'revision', ms: 5, exitCode: 0 },
  { event: 'task:start', host, task: 'build', command: '( set -e; cd -- /srv/app/releases/1; { npm ci; } )', display: 'npm ci' },
  { event: 'output', host, stream: 'stdout', line: 'added 12 packages' },
  ...(fail
    ? [
        { event: 'task:end', host, task: 'build', ms: 1200, exitCode: fail.exitCode } as ShipEvent,
        // stderr comes on its own stream: after the end marker, sometimes
        ...fail.stderr.map((line): ShipEvent => ({ event: 'output', host, stream: 'stderr', line })),
      ]
    : [
        { event: 'task:end', host, task: 'build', ms: 1200, exitCode: 0 } as ShipEvent,
        { event: 'task:start', host, task: 'prepared', command: 'rm -f x' } as ShipEvent,
        { event: 'task:end', host, task: 'prepared', ms: 1, exitCode: 0, last: true } as ShipEvent,
      ]),
];

describe('progress model (what the terminal tree shows)', () => {
  it('connect, then each phase with one row per host; a host that finished its script stops running', () => {
    const d = drive(hosts, [
      ...hosts.flatMap((host): ShipEvent[] => [{ event: 'host:connect', host, ok: true, ms: 40 }]),
      ...hosts.map((host): ShipEvent => ({ event: 'lock', host, ok: true })),
      { event: 'deploy:start', release: '20261122021500', revision: 'a'.repeat(40), branch: 'main', hosts },
      { event: 'phase', phase: 'prepare' },
      ...prepare('web1'),
      ...prepare('web2'),
      { event: 'task:start', host: 'db1', task: 'build', command: 'npm ci' },
    ]);
    expect(d.phases.map((p) => p.name)).toEqual(['connect', 'prepare']);
    expect(d.shown(d.phases[0]!)).toEqual([
      'web1  connected in 40ms, locked  300ms',
      'web2  connected in 40ms, locked  300ms',
      'db1   connected in 40ms, locked  300ms',
    ]);
    const prep = d.phases[1]!;
    expect(d.shown(prep)).toEqual(['web1  revision, build, prepared  600ms', 'web2  revision, build, prepared  600ms', 'db1   build  100ms']);
    expect(prep.rows.filter((r) => r.status === 'running').map((r) => r.host)).toEqual(['db1']);
    expect(phaseTitle(prep)).toBe('prepare · 2/3 hosts done');
  });

  it('a lock that continues (the code rides in the lock script) keeps its row going until the script is done', () => {
    const d = drive(
      ['web1', 'web2'],
      [
        { event: 'host:connect', host: 'web1', ok: true, ms: 40 },
        { event: 'host:connect', host: 'web2', ok: true, ms: 40 },
        { event: 'lock', host: 'web1', ok: true, continues: true },
        { event: 'lock', host: 'web2', ok: true, continues: true },
        ...prepare('web1'),
        { event: 'task:start', host: 'web2', task: 'update', command: 'git archive' },
        { event: 'task:end', host: 'web2', task: 'update', ms: 30, exitCode: 0 },
      ],
    );
    expect(d.phases.map((p) => p.name)).toEqual(['connect']);
    expect(d.shown(d.phases[0]!)).toEqual(['web1  connected in 40ms, locked, revision, build, prepared  1.0s', 'web2  update ✓']);
    expect(d.phases[0]!.rows.find((r) => r.host === 'web2')).toMatchObject({ status: 'running', steps: ['connected in 40ms', 'locked', 'update'] });
  });

  it('a failure stays in place with the task, exit code, command and the end of stderr, even when stderr comes late', () => {
    const d = drive(hosts, [
      { event: 'phase', phase: 'prepare' },
      ...prepare('web1'),
      ...prepare('web2', { exitCode: 3, stderr: ['npm ERR! code E404', 'npm ERR! 404 Not Found'] }),
      { event: 'phase', phase: 'cleanup' },
    ]);
    const prep = d.phases[0]!;
    expect(prep.ended).toBe(true);
    const web2 = prep.rows.find((r) => r.host === 'web2' && r.status === 'failed')!;
    expect(rowTitle(prep, web2, 4, 0)).toBe(
      ['web2  build failed with exit 3 after 1.2s', '$ npm ci', 'npm ERR! code E404', 'npm ERR! 404 Not Found'].join('\n'),
    );
    expect(phaseTitle(prep)).toMatch(/^prepare · 2 hosts, 1 failed {2}\d/);
  });

  it('a second script on a host in the same phase gets its own row (the primary migrates after preparing)', () => {
    const d = drive(hosts, [
      { event: 'phase', phase: 'prepare' },
      ...prepare('db1'),
      { event: 'task:start', host: 'db1', task: 'migrate', command: 'npm run migrate' },
      { event: 'task:end', host: 'db1', task: 'migrate', ms: 300, exitCode: 0 },
    ]);
    d.progress.end();
    expect(d.shown(d.phases[0]!)).toEqual(['db1   revision, build, prepared  600ms', 'db1   migrate  200ms']);
  });

  it('--lock-wait: a host refused by a held lock comes back when the lock is taken, no host listed twice', () => {
    const d = drive(
      ['web1', 'web2'],
      [
        { event: 'host:connect', host: 'web1', ok: true, ms: 10 },
        { event: 'host:connect', host: 'web2', ok: true, ms: 10 },
        { event: 'lock', host: 'web1', ok: true },
        { event: 'lock', host: 'web2', ok: false, holder: 'held by ann' },
        { event: 'log', level: 'info', message: 'stage test is locked on web2; waiting (--lock-wait)' },
        { event: 'lock', host: 'web1', ok: true },
        { event: 'lock', host: 'web2', ok: false, holder: 'held by ann' },
      ],
    );
    const p = d.phases[0]!;
    expect(d.shown(p)).toEqual(['web1  connected in 10ms, locked  200ms', 'web2  stage is locked: held by ann']);
    d.progress.apply({ event: 'lock', host: 'web1', ok: true });
    d.progress.apply({ event: 'lock', host: 'web2', ok: true });
    expect(d.shown(p)).toEqual(['web1  connected in 10ms, locked  200ms', expect.stringMatching(/^web2 {2}connected in 10ms, locked after waiting {2}\d/)]);
    expect(phaseTitle(p)).toBe('connect · 2/2 hosts done');
  });

  it('health attempts show on the row; an unhealthy verdict fails it', () => {
    const d = drive(
      ['web1'],
      [
        { event: 'phase', phase: 'publish' },
        { event: 'publish', host: 'web1', release: '20261122021500', batch: 1 },
        { event: 'task:start', host: 'web1', task: 'swap', command: 'mv' },
        { event: 'task:end', host: 'web1', task: 'swap', ms: 3, exitCode: 0 },
        { event: 'health', host: 'web1', ok: false, attempt: 1, detail: 'HTTP 503 (expected 200)' },
      ],
    );
    const p = d.phases[0]!;
    expect(d.shown(p)).toEqual([expect.stringMatching(/^web1 {2}health check #1: HTTP 503 \(expected 200\) {2}\d+ms$/)]);
    d.progress.apply({ event: 'health', host: 'web1', ok: false, attempt: 5, detail: 'HTTP 503 (expected 200)', final: true });
    expect(d.shown(p)).toEqual(['web1  unhealthy after 5 attempt(s): HTTP 503 (expected 200)']);
  });

  it('with many hosts, those that finished well fold into the phase title; slow and failed ones stay', () => {
    const many = Array.from({ length: 8 }, (_, i) => `web${i + 1}`);
    const d = drive(many, [
      { event: 'phase', phase: 'prepare' },
      ...many.slice(0, 6).flatMap((h) => prepare(h)),
      ...prepare('web7', { exitCode: 1, stderr: ['boom'] }),
      { event: 'task:start', host: 'web8', task: 'build', command: 'npm ci' },
    ]);
    const p = d.phases[0]!;
    expect(d.shown(p).map((l) => l.split('  ')[0])).toEqual(['web7', 'web8']);
    expect(phaseTitle(p)).toBe('prepare · 7/8 hosts done, 1 failed');
  });

  it('notes (warnings, pruned releases) go under the phase; the summary closes the run', () => {
    const d = drive(
      ['web1'],
      [
        { event: 'log', level: 'warn', message: 'hook after:publish is not run' },
        { event: 'phase', phase: 'finish' },
        { event: 'prune', host: 'web1', removed: ['20261101000000'] },
        { event: 'deploy:end', ok: false, exitCode: 3, ms: 9100, current: { web1: '20261121000000' }, error: 'health check failed' },
      ],
    );
    expect(d.notes).toEqual(['-: warn: hook after:publish is not run', 'finish: web1: pruned 20261101000000']);
    expect(d.finished).toEqual([{ ok: false, lines: ['deploy failed (exit 3) after 9.1s; where each host stands:', '  web1  current -> 20261121000000'] }]);
  });

  it('the success summary names revision, branch, release, hosts and time', () => {
    const d = drive(hosts, [
      { event: 'deploy:start', release: '20261122021500', revision: '2f219ce766267f6f059d4f52cf7c4d696e4003b8', branch: 'main', hosts },
      {
        event: 'deploy:end',
        ok: true,
        exitCode: 0,
        release: '20261122021500',
        revision: '2f219ce766267f6f059d4f52cf7c4d696e4003b8',
        ms: 1843,
        current: { web1: 'x', web2: 'x', db1: 'x' },
      },
    ]);
    expect(d.finished[0]!.lines).toEqual(['deployed 2f219ce76626 (main) as release 20261122021500 to 3 hosts in 1.8s']);
  });

  it('a failed task shows its own text as written (the display its step carries), on one line, shortened; other steps their command', () => {
    const d = drive(
      ['web1', 'web2'],
      [
        { event: 'phase', phase: 'prepare' },
        {
          event: 'task:start',
          host: 'web1',
          task: 'build',
          command: '( set -e; cd -- /srv/app/releases/1; { npm ci\nnpm run build\n} )',
          display: 'npm ci\nnpm run build',
        },
        { event: 'task:end', host: 'web1', task: 'build', ms: 5, exitCode: 1 },
        { event: 'task:start', host: 'web2', task: 'revision', command: "printf '%s\\n' abc > REVISION" },
        { event: 'task:end', host: 'web2', task: 'revision', ms: 5, exitCode: 1 },
      ],
    );
    expect(d.shown(d.phases[0]!)).toEqual([
      'web1  build failed with exit 1 after 5ms\n$ npm ci ↵ npm run build',
      "web2  revision failed with exit 1 after 5ms\n$ printf '%s\\n' abc > REVISION",
    ]);
    expect(shortCommand('x'.repeat(300))).toHaveLength(160);
  });

  it("a row closes where its host's script ends, but not after a swap: the health check comes first, and the next script goes on that row", () => {
    const d = drive(
      ['web1'],
      [
        { event: 'phase', phase: 'rollback' },
        { event: 'task:start', host: 'web1', task: 'swap', command: 'mv -T', kind: 'swap' },
        { event: 'task:end', host: 'web1', task: 'swap', ms: 3, exitCode: 0 },
        { event: 'task:start', host: 'web1', task: 'restart', command: 'systemctl restart app' },
        { event: 'task:end', host: 'web1', task: 'restart', ms: 30, exitCode: 0, last: true },
      ],
    );
    const p = d.phases[0]!;
    const row = () => p.rows.filter((r) => r.status !== 'idle');
    expect(row()).toEqual([expect.objectContaining({ status: 'running', steps: ['swap', 'restart'] })]);
    d.progress.apply({ event: 'health', host: 'web1', ok: true, attempt: 1, detail: 'HTTP 200', final: true });
    d.progress.apply({ event: 'task:start', host: 'web1', task: 'history', command: 'printf' });
    d.progress.apply({ event: 'task:end', host: 'web1', task: 'history', ms: 1, exitCode: 0 });
    expect(row()).toEqual([expect.objectContaining({ status: 'running' })]);
    d.progress.apply({ event: 'task:start', host: 'web1', task: 'unlock', command: 'rm -f lock' });
    d.progress.apply({ event: 'task:end', host: 'web1', task: 'unlock', ms: 1, exitCode: 0, last: true });
    expect(row()).toEqual([expect.objectContaining({ status: 'ok' })]);
    expect(d.shown(p)).toEqual([expect.stringMatching(/^web1 {2}swap, restart, healthy, history, unlock {2}\d+ms$/)]);
    expect(p.ended).toBe(false);
  });
});
