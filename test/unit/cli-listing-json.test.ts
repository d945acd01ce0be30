import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { showHistory } from '../../src/cli/commands/history.js';
import { showReleases } from '../../src/cli/commands/releases.js';
import type { HostListing } from '../../src/ops/status.js';
import type { HistoryEntry } from '../../src/release/history.js';
import { makeRedactor } from '../../src/ui/redact.js';
import { jsonWriter } from '../../src/ui/reporter.js';

const SECRET = 'hunter2-"quoted"-$pw';

/** What `ship releases|history --json` prints, through the writer a run uses, on a stdout of our own. */
function jsonOut(secrets: string[]) {
  const out = new PassThrough();
  let text = '';
  out.on('data', (c: Buffer) => (text += c.toString()));
  const list = jsonWriter({ stage: 'production', out, redact: makeRedactor(secrets), now: () => new Date('2026-01-02T03:04:05Z') });
  const rt = { json: true, list, say: (s: string) => out.write(`${s}\n`) };
  return {
    rt,
    text: () => text,
    events: () =>
      text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const listing = (): HostListing => ({
  host: 'web1',
  current: '20260101000000',
  currentTarget: '/srv/app/releases/20260101000000',
  currentIsDirectory: false,
  installs: false,
  releases: [
    { id: '20251231000000', failed: true, revision: `${'a'.repeat(32)}${SECRET}` },
    { id: '20260101000000', failed: false, revision: 'b'.repeat(40) },
  ],
  migrated: new Set(['20260101000000']),
  ignored: [],
  lock: `held by ann (maintenance: rotating ${SECRET})`,
});

const entry = (): HistoryEntry => ({
  action: 'deploy',
  release: '20260101000000',
  revision: 'b'.repeat(40),
  branch: `feature/${SECRET}`,
  user: 'ann',
  started: '2026-01-01T00:00:00.000Z',
  finished: '2026-01-01T00:01:00.000Z',
  result: 'deployed',
  host: 'web1',
});

describe('releases and history under --json', () => {
  it('a secret in a releases listing never reaches stdout; the event keeps its shape', () => {
    const o = jsonOut([SECRET]);
    showReleases([listing()], o.rt);
    expect(o.text()).not.toContain(SECRET);
    expect(o.text()).not.toContain('hunter2');
    const [e] = o.events();
    expect(e).toMatchObject({
      ts: '2026-01-02T03:04:05.000Z',
      event: 'releases',
      stage: 'production',
      host: 'web1',
      current: '20260101000000',
      lock: 'held by ann (maintenance: rotating [REDACTED])',
    });
    expect(e!.releases).toEqual([
      { id: '20251231000000', revision: `${'a'.repeat(32)}[REDACTED]`, failed: true, current: false, migrated: false, incomplete: false, deps: null },
      { id: '20260101000000', revision: 'b'.repeat(40), failed: false, current: true, migrated: true, incomplete: false, deps: null },
    ]);
    expect(Object.keys(e!).slice(0, 3)).toEqual(['ts', 'event', 'stage']);
  });

  it('a secret in a history entry never reaches stdout', () => {
    const o = jsonOut([SECRET]);
    showHistory([entry()], o.rt);
    expect(o.text()).not.toContain(SECRET);
    expect(o.events()).toEqual([
      expect.objectContaining({ event: 'history', stage: 'production', branch: 'feature/[REDACTED]', user: 'ann', result: 'deployed' }),
    ]);
  });

  it('a secret that looks like a number or a keyword hides only in strings: every line stays JSON', () => {
    const o = jsonOut(['2025', 'true']);
    showReleases([listing()], o.rt);
    showHistory([{ ...entry(), user: 'true', branch: 'x2025y' }], o.rt);
    const [releases, history] = o.events();
    expect(releases!.releases).toEqual([expect.objectContaining({ id: '[REDACTED]1231000000', failed: true }), expect.objectContaining({ current: true })]);
    expect(history).toMatchObject({ user: '[REDACTED]', branch: 'x[REDACTED]y' });
  });
});
