import { describe, expect, it } from 'vitest';
import { capistranoLine, type HistoryEntry } from '../../src/release/history.js';

const base: HistoryEntry = {
  action: 'deploy',
  release: '20261130120000',
  revision: 'a'.repeat(40),
  branch: 'main',
  user: 'alice',
  started: '2026-11-30T12:00:00.000Z',
  finished: '2026-11-30T12:00:05.000Z',
  result: 'deployed',
};

describe("Capistrano's revisions.log lines", () => {
  it("a deploy and a rollback that succeeded, in Capistrano's words", () => {
    expect(capistranoLine(base)).toBe(`Branch main (at ${'a'.repeat(40)}) deployed as release 20261130120000 by alice`);
    expect(capistranoLine({ ...base, action: 'rollback', release: '20261129120000' })).toBe('alice rolled back to release 20261129120000');
  });

  it('nothing for a failed or interrupted run', () => {
    expect(capistranoLine({ ...base, result: 'failed' })).toBeUndefined();
    expect(capistranoLine({ ...base, action: 'rollback', result: 'failed' })).toBeUndefined();
    expect(capistranoLine({ ...base, result: 'interrupted' })).toBeUndefined();
  });
});
