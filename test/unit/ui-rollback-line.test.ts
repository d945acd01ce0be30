/** The plain output of a host's rollback: where it was sent, and where its `current` really is. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ShipEvent } from '../../src/ui/events.js';
import { plainReporter } from '../../src/ui/reporter.js';

const printed = (e: ShipEvent): string => {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  plainReporter({ stage: 'production', out, redact: (s) => s, now: () => new Date('2026-11-22T03:00:00Z') }).emit(e);
  return text.trim().replace(/^\S+ \S+ /, '');
};

describe('the rollback line of plain output', () => {
  it('a host that went back says where current now points', () => {
    expect(printed({ event: 'rollback', host: 'web1', from: '20261122030000', to: '20261121000000', current: '20261121000000', ok: true })).toBe(
      '[web1] rolled back: current -> 20261121000000',
    );
  });

  it('a host that could not go back names the target and its real current apart', () => {
    const line = printed({
      event: 'rollback',
      host: 'web1',
      from: '20261122030000',
      to: '20261121000000',
      current: '20261122030000',
      ok: false,
      reason: 'exit 1',
    });
    expect(line).toBe('[web1] ROLLBACK FAILED: target 20261121000000, current is 20261122030000 (exit 1)');
    expect(line).not.toMatch(/current -> 20261121000000/);
  });

  it('a host left without current says so', () => {
    expect(printed({ event: 'rollback', host: 'web1', to: '20261121000000', current: null, ok: false })).toBe(
      '[web1] ROLLBACK FAILED: target 20261121000000, current is (none)',
    );
  });
});
