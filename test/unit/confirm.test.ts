import { describe, expect, it } from 'vitest';
import { confirmRun } from '../../src/cli/confirm.js';
import type { StageConfig } from '../../src/config/types.js';
import { DeployError, UsageError } from '../../src/errors.js';

const stage = (confirm: boolean) => ({ stage: 'production', confirm }) as StageConfig;

describe('confirm: true stages', () => {
  it('asks a person at a terminal, and goes on only on yes', async () => {
    const asked: string[] = [];
    const ask = (answer: string) => async (q: string) => {
      asked.push(q);
      return answer;
    };
    await confirmRun(stage(true), 'deploy demo to production (3 hosts)', { interactive: true, ask: ask('y') });
    await confirmRun(stage(true), 'x', { interactive: true, ask: ask('YES') });
    await expect(confirmRun(stage(true), 'x', { interactive: true, ask: ask('') })).rejects.toThrow(DeployError);
    await expect(confirmRun(stage(true), 'x', { interactive: true, ask: ask('nope') })).rejects.toThrow(/not confirmed: nothing was changed/);
    expect(asked[0]).toBe('deploy demo to production (3 hosts)? [y/N] ');
  });
  it('never prompts without a terminal: --yes is required', async () => {
    await expect(confirmRun(stage(true), 'x', { interactive: false })).rejects.toThrow(UsageError);
    await expect(confirmRun(stage(true), 'x', { interactive: false })).rejects.toMatchObject({ hint: 'pass --yes to confirm in advance' });
    await confirmRun(stage(true), 'x', { interactive: false, yes: true });
  });
  it('does nothing for other stages', async () => {
    await confirmRun(stage(false), 'x', { interactive: false, ask: async () => 'n' });
  });
});
