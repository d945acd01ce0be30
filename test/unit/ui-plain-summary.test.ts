import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { plainReporter } from '../../src/ui/reporter.js';

/** The closing line plain output (CI) prints for a deploy or rollback end event. */
function closingLine(current: Record<string, string | null>, ok = true): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const r = plainReporter({ stage: 'production', out, redact: (s) => s, now: () => new Date('2026-11-22T02:44:28Z') });
  r.emit(
    ok
      ? { event: 'deploy:end', ok: true, exitCode: 0, release: '20261122024401', ms: 27_600, current }
      : { event: 'deploy:end', ok: false, exitCode: 5, ms: 27_600, current, error: 'x' },
  );
  return text.trim();
}

const fleet = (n: number, release: (i: number) => string | null) =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`web${String(i + 1).padStart(3, '0')}.example.com`, release(i)]));

describe('the closing line of plain output', () => {
  it('names the hosts when there are few', () => {
    expect(closingLine(fleet(2, () => '20261122024401'))).toBe(
      '2026-11-22 02:44:28Z deploy done: release 20261122024401 in 27.6s on 2 hosts: web001.example.com, web002.example.com',
    );
  });

  it('stays short at 200 hosts that agree', () => {
    const line = closingLine(fleet(200, () => '20261122024401'));
    expect(line).toBe('2026-11-22 02:44:28Z deploy done: release 20261122024401 in 27.6s on 200 hosts');
  });

  it('when hosts differ, groups them by where current points, naming a few of the odd ones', () => {
    const line = closingLine(
      fleet(200, (i) => (i === 7 || i === 9 ? '20261121174502' : i === 150 ? null : '20261122024401')),
      false,
    );
    expect(line).toBe(
      '2026-11-22 02:44:28Z deploy failed (exit 5) after 27.6s; current: 20261122024401 on 197 hosts; 20261121174502 on web008.example.com, web010.example.com; none on web151.example.com',
    );
    expect(line.length).toBeLessThan(250);
  });
});
