import { describe, expect, it } from 'vitest';
import { showHistory } from '../../src/cli/commands/history.js';
import { showReleases } from '../../src/cli/commands/releases.js';
import type { HostListing } from '../../src/ops/status.js';
import type { HistoryEntry } from '../../src/release/history.js';

/** What `ship releases|history` print on a terminal or in CI (not --json). */
function textOut() {
  const lines: string[] = [];
  return { rt: { json: false, list: () => {}, say: (s: string) => lines.push(s) }, text: () => lines.join('\n') };
}

const listing = (host: string, current = '20260102000000'): HostListing => ({
  host,
  current,
  currentTarget: `/srv/app/releases/${current}`,
  currentIsDirectory: false,
  installs: false,
  ignored: [],
  releases: [
    { id: '20260101000000', failed: false, revision: 'a'.repeat(40) },
    { id: '20260102000000', failed: false, revision: 'b'.repeat(40) },
  ],
  migrated: new Set(),
});

const entry = (host: string, finished: string, over: Partial<HistoryEntry> = {}): HistoryEntry => ({
  action: 'deploy',
  release: '20260102000000',
  revision: 'b'.repeat(40),
  previous: '20260101000000',
  user: 'ann',
  started: '2026-01-02T00:00:00.000Z',
  finished,
  result: 'deployed',
  host,
  ...over,
});

describe('ship releases: hosts that agree share one table', () => {
  it('200 hosts holding the same releases print one table under a short heading', () => {
    const o = textOut();
    showReleases(
      Array.from({ length: 200 }, (_, i) => listing(`web${i + 1}`)),
      o.rt,
    );
    expect(o.text()).toBe(
      [
        '200 hosts (web1, web2, web3 and 197 more)',
        '     release         revision      state',
        '  *  20260102000000  bbbbbbbbbbbb  current',
        '     20260101000000  aaaaaaaaaaaa',
      ].join('\n'),
    );
  });

  it('a host that differs gets its own table, after the largest group', () => {
    const o = textOut();
    showReleases([listing('web1'), listing('web2', '20260101000000'), listing('web3')], o.rt);
    expect(
      o
        .text()
        .split('\n')
        .filter((l) => !l.startsWith(' ')),
    ).toEqual(['web1, web3', 'web2']);
  });
});

describe('ship history: one row per run when hosts agree', () => {
  it("a deploy's entries on every host are one row naming the hosts, at the run's last finish", () => {
    const o = textOut();
    showHistory(
      [
        entry('web1', '2026-01-02T00:01:02.000Z'),
        entry('web2', '2026-01-02T00:01:01.000Z'),
        entry('web3', '2026-01-02T00:01:00.000Z', { result: 'failed' }),
        entry('web1', '2026-01-01T00:01:00.000Z', { release: '20260101000000', revision: 'a'.repeat(40), previous: undefined }),
        entry('web2', '2026-01-01T00:01:00.000Z', { release: '20260101000000', revision: 'a'.repeat(40), previous: undefined }),
      ],
      o.rt,
    );
    expect(o.text()).toBe(
      [
        'finished              hosts       action  release         revision      result    by   previous',
        '2026-01-02 00:01:02Z  web1, web2  deploy  20260102000000  bbbbbbbbbbbb  deployed  ann  20260101000000',
        '2026-01-02 00:01:00Z  web3        deploy  20260102000000  bbbbbbbbbbbb  failed    ann  20260101000000',
        '2026-01-01 00:01:00Z  web1, web2  deploy  20260101000000  aaaaaaaaaaaa  deployed  ann',
      ].join('\n'),
    );
  });
});
