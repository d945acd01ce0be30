/**
 * Hostile or careless input on the command line and in deploy.yaml, through the built CLI:
 * every case ends with a clear message and exit 2, before anything is contacted.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runShip } from '../helpers/cli.js';

const VALID = `app: demo
repo: https://example.com/demo.git
deploy_to: /srv/demo
stages:
  production:
    hosts: [web1.example.com]
`;

describe('input the CLI refuses, exit 2', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'ship-input-'));
  });
  const withConfig = (text: string) => {
    writeFileSync(join(work, 'deploy.yaml'), text);
    return (...args: string[]) => runShip(args, { cwd: work });
  };

  it.each([
    [['--concurrency', '1e9'], '--concurrency: expected a whole number from 1 to 1000, got "1e9"'],
    [['--concurrency', '1001'], '--concurrency: expected a whole number from 1 to 1000, got "1001"'],
    [['--concurrency', '0x10'], '--concurrency: expected a whole number from 1 to 1000, got "0x10"'],
    [['--lock-wait', '99999999999h'], '--lock-wait 99999999999h: expected a duration of at most 24d (24 days), got "99999999999h"'],
    [['--lock-wait', `${'9'.repeat(400)}ms`], 'expected a duration of at most 24d (24 days)'],
  ])('ship deploy %j is bounded, with or without --dry-run', async (flags, message) => {
    const ship = withConfig(VALID);
    for (const extra of [[], ['--dry-run']]) {
      const r = await ship('deploy', 'production', ...flags, ...extra);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });

  it('history -n is bounded', async () => {
    const r = await withConfig(VALID)('history', 'production', '-n', '1e9');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('-n: expected a whole number from 1 to 100000, got "1e9"');
  });

  it('durations and concurrency in deploy.yaml are bounded too', async () => {
    const r = await withConfig(`${VALID}concurrency: 1000000000\nhealth: { command: "true", timeout: 99999999999h }\n`)('deploy', 'production', '--dry-run');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('deploy.yaml:7:14 concurrency: expected an integer from 1 to 1000, got 1000000000');
    expect(r.stderr).toContain('deploy.yaml:8:37 health.timeout: expected a duration of at most 24d (24 days), got "99999999999h"');
  });

  it('100k-deep nesting says "nested too deeply" with line:col, in flow and block style', async () => {
    const flow = await withConfig(`${VALID}vars:\n  x: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`)('deploy', 'production', '--dry-run');
    expect(flow.code).toBe(2);
    expect(flow.stderr).toContain('deploy.yaml:8:68: nested too deeply: more than 64 levels');
    expect(flow.stderr).not.toContain('call stack');
    const lines = Array.from({ length: 20_000 }, (_, i) => `${' '.repeat(i + 1)}a:`).join('\n');
    const block = await withConfig(`${VALID}x:\n${lines}\n`)('deploy', 'production', '--dry-run');
    expect(block.code).toBe(2);
    expect(block.stderr).toContain('deploy.yaml:71:65: nested too deeply: more than 64 levels');
    expect(block.stderr).not.toContain('call stack');
  });

  it('--dry-run --json with a bad config still ends with plan:end (ok false, the exit code, why)', async () => {
    const r = await withConfig(`${VALID}keep_releases: many\n`)('deploy', 'production', '--dry-run', '--json');
    expect(r.code).toBe(2);
    const last = r.events().at(-1)!;
    expect(last).toMatchObject({ event: 'plan:end', ok: false, exitCode: 2, stage: 'production', error: 'invalid configuration (1 problem)' });
    expect(last.details).toEqual(['deploy.yaml:7:16 keep_releases: expected an integer ≥ 1, got "many"']);
    const unknownStage = await withConfig(VALID)('rollback', 'nope', '--dry-run', '--json');
    expect(unknownStage.code).toBe(2);
    expect(unknownStage.events().at(-1)).toMatchObject({ event: 'plan:end', ok: false, exitCode: 2 });
  });
});
