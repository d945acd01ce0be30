import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { oneLine, printable } from '../../src/release/host-text.js';
import { describeLock } from '../../src/release/lock.js';
import type { ShipEvent } from '../../src/ui/events.js';
import { groupedReporter } from '../../src/ui/grouped.js';
import { deployLog } from '../../src/ui/log-file.js';
import { makeRedactor } from '../../src/ui/redact.js';
import { jsonReporter, plainReporter, type Reporter, type ReporterOptions } from '../../src/ui/reporter.js';
import { table } from '../../src/ui/table.js';

/** Text a hostile host could hold: clears the screen, homes the cursor, rewrites the line, sets the title, rings, forges a line. */
const HOSTILE = '\u001b[2J\u001b[H\rdeploy done\u001b]0;pwned\u0007\u009b31m\u007f\nforged line';
/** Any control character but tab and newline. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

function printed(make: (o: ReporterOptions) => Reporter, events: ShipEvent[]): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const r = make({ stage: 'production', out, redact: makeRedactor(['s3cret']), verbose: true, now: () => new Date('2026-11-22T02:15:00Z') });
  for (const e of events) r.emit(e);
  return text;
}

describe('host text made printable', () => {
  it('printable drops escape sequences whole, then every other control character but tab and newline', () => {
    expect(printable(HOSTILE)).toBe('deploy done\nforged line');
    expect(printable('\u001b[1;31mred\u001b[0m \u001b(Bplain \u001b7saved\u001b8')).toBe('red plain saved');
    // an unterminated sequence loses its control characters, not the text after it
    expect(printable('\u001b]0;no end, text goes on')).toBe('0;no end, text goes on');
    expect(printable('\u001b[12')).toBe('12');
    expect(printable('a\tb\nc é ✓')).toBe('a\tb\nc é ✓');
    expect(printable(HOSTILE)).not.toMatch(CONTROL);
  });

  it('oneLine also makes line breaks spaces, so a field cannot forge a line', () => {
    expect(oneLine('reason\r\nforged line')).toBe('reason forged line');
    expect(oneLine(HOSTILE)).not.toMatch(/[\n\r]/);
  });

  it("a lock's description is one printable line whatever its owner file holds", () => {
    const d = describeLock(
      { user: `mallory${HOSTILE}`, machine: 'm\n1', pid: 7, command: 'ship deploy\u001b[1A', started: '2026-11-22T02:10:00Z', reason: HOSTILE },
      new Date('2026-11-22T02:12:00Z'),
    );
    expect(d).not.toMatch(CONTROL);
    expect(d).not.toContain('\n');
    expect(d).toContain('forged line');
  });

  it('table cells are one printable line each', () => {
    const t = table([
      ['release', 'user'],
      ['20261122021500', HOSTILE],
    ]);
    expect(t).not.toMatch(CONTROL);
    expect(t.split('\n')).toHaveLength(2);
  });

  it('the plain reporter (and so the deploy log) prints host text without control characters, still redacted', () => {
    const text = printed(plainReporter, [
      { event: 'lock', host: 'web1', ok: false, holder: HOSTILE },
      { event: 'output', host: 'web1', stream: 'stdout', line: '\u001b[31mred s3\u001b[0mcr\u0007et\u001b[0m', task: 'build' },
      { event: 'health', host: 'web1', attempt: 1, ok: false, final: true, detail: `HTTP 500: ${HOSTILE}` },
      { event: 'log', level: 'warn', host: 'web1', message: 'bell\u0007' },
    ]);
    expect(text).not.toMatch(CONTROL);
    expect(text).toContain('[web1] | red [REDACTED]'); // a secret split by a control character is still found
    expect(text).not.toContain('s3cret');
    expect(text.split('\n').filter((l) => l.startsWith('forged line'))).toEqual([]); // a message's later lines are indented
  });

  it('grouped output (ship exec, ship run) prints a command that writes escape sequences harmlessly', () => {
    const text = printed(groupedReporter, [
      { event: 'task:start', host: 'web1', task: 'exec', command: 'cat x' },
      { event: 'output', host: 'web1', stream: 'stdout', line: HOSTILE.replace('\n', ''), task: 'exec' },
      { event: 'task:end', host: 'web1', task: 'exec', ms: 5, exitCode: 0 },
      { event: 'host:done', host: 'web1', ok: true, exitCode: 0, ms: 5 },
    ]);
    expect(text).not.toMatch(CONTROL);
    expect(text).toContain('deploy done');
  });

  it('--json keeps the text as it was: JSON escapes it', () => {
    const text = printed(jsonReporter, [{ event: 'output', host: 'web1', stream: 'stdout', line: '\u001b[31mred', task: 'build' }]);
    expect(text).not.toContain('\u001b');
    expect(JSON.parse(text).line).toBe('\u001b[31mred');
  });

  it('the deploy log holds no control characters', async () => {
    const log = deployLog({ dir: mkdtempSync(join(tmpdir(), 'ship-logs-')), stage: 'production', kind: 'rollback', redact: (t) => t });
    log.emit({ event: 'rollback:start', hosts: ['web1'] });
    log.emit({ event: 'output', host: 'web1', stream: 'stderr', line: HOSTILE, task: 'restart' });
    await log.close();
    const text = readFileSync(log.path!, 'utf8');
    expect(text).not.toMatch(CONTROL);
    expect(text).toContain('deploy done');
  });
});
