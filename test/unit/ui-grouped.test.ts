import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ShipEvent } from '../../src/ui/events.js';
import { groupedReporter } from '../../src/ui/grouped.js';
import { makeRedactor } from '../../src/ui/redact.js';

function run(events: ShipEvent[], color = false): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const r = groupedReporter({ stage: 'production', out, redact: makeRedactor(['s3cret']), color });
  for (const e of events) r.emit(e);
  return text;
}

const line = (host: string, text: string, stream: 'stdout' | 'stderr' = 'stdout'): ShipEvent => ({ event: 'output', host, stream, line: text, task: 'exec' });

describe('grouped output (ship exec, ship run)', () => {
  it('prints each host as one block when it is done, never interleaved, then a line per host', () => {
    const text = run([
      { event: 'task:start', host: 'web1', task: 'exec', command: 'uptime' },
      { event: 'task:start', host: 'web2', task: 'exec', command: 'uptime' },
      line('web1', 'one'),
      line('web2', 'two'),
      line('web1', 'uno s3cret', 'stderr'),
      { event: 'task:end', host: 'web2', task: 'exec', ms: 5, exitCode: 2 },
      { event: 'host:done', host: 'web2', ok: false, exitCode: 2, ms: 5 },
      { event: 'task:end', host: 'web1', task: 'exec', ms: 9, exitCode: 0 },
      { event: 'host:done', host: 'web1', ok: true, exitCode: 0, ms: 9 },
      { event: 'exec:end', ok: false, exitCode: 1, ms: 20, hosts: { web1: 0, web2: 2 } },
    ]);
    expect(text).toBe(
      [
        'web2  exit 2 after 5ms',
        '  two',
        'web1  ok in 9ms',
        '  one',
        '  uno [REDACTED]',
        '',
        'web1  ok in 9ms',
        'web2  exit 2 after 5ms',
        'exec: failed on 1 of 2 host(s)',
        '',
      ].join('\n'),
    );
    expect(text).not.toMatch(/\u001b\[/);
  });

  it('says so when nothing ran at all (a host unreachable, the stage locked)', () => {
    const text = run([
      { event: 'host:connect', host: 'web2', ok: false, ms: 5, error: 'connection refused' },
      { event: 'exec:end', ok: false, exitCode: 1, ms: 30, hosts: {}, error: 'could not reach 1 of 2 host(s)' },
    ]);
    expect(text).toBe('web2  cannot connect: connection refused\nexec: nothing was run (exit 1)\n');
  });

  it('names the steps of a task with hooks, a host where nothing ran, and a host that could not connect', () => {
    const text = run([
      { event: 'host:connect', host: 'db2', ok: false, ms: 5, error: 'connection refused' },
      { event: 'task:start', host: 'db1', task: 'backup', command: 'x' },
      { event: 'task:end', host: 'db1', task: 'backup', ms: 5, exitCode: 0 },
      { event: 'task:start', host: 'db1', task: 'migrate', command: 'x' },
      { event: 'task:end', host: 'db1', task: 'migrate', ms: 5, exitCode: 1 },
      { event: 'host:done', host: 'db1', ok: false, exitCode: 1, ms: 12 },
      { event: 'host:done', host: 'db3', ok: false, exitCode: null, ms: 0, error: 'no release is current in /srv/app: deploy first' },
      { event: 'run:end', ok: false, exitCode: 1, ms: 30, task: 'migrate', hosts: { db1: 1, db3: null } },
    ]);
    expect(text.split('\n')).toEqual([
      'db2  cannot connect: connection refused',
      'db1  exit 1 after 12ms',
      '  ▸ backup',
      '  ▸ migrate',
      '  migrate failed with exit 1',
      'db3  no release is current in /srv/app: deploy first',
      '',
      'db1  exit 1 after 12ms',
      'db3  no release is current in /srv/app: deploy first',
      'run migrate: failed on 2 of 2 host(s)',
      '',
    ]);
  });
});

describe('grouped output of a command printing without bound', () => {
  it('keeps the last 10000 lines of a host and says how many came before', () => {
    const events: ShipEvent[] = [{ event: 'task:start', host: 'web1', task: 'exec', command: 'yes' }];
    for (let i = 0; i < 25_000; i++) events.push(line('web1', `line ${i}`));
    events.push({ event: 'task:end', host: 'web1', task: 'exec', ms: 5, exitCode: 0 }, { event: 'host:done', host: 'web1', ok: true, exitCode: 0, ms: 5 });
    const printed = run(events).split('\n');
    expect(printed).toContain('  [15000 earlier lines not shown]');
    expect(printed.filter((l) => l.startsWith('  line '))).toHaveLength(10_000);
    expect(printed).toContain('  line 24999');
    expect(printed).not.toContain('  line 14999');
  });
});
