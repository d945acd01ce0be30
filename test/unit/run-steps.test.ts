import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StageConfig } from '../../src/config/types.js';
import { runSteps, slotSteps, type RunStepsOptions } from '../../src/engine/index.js';
import { cmd, script, seq } from '../../src/shell/command.js';
import type { Step } from '../../src/shell/script.js';
import { LocalTransport } from '../../src/transport/local.js';
import type { ShipEvent } from '../../src/ui/events.js';
import { makeRedactor } from '../../src/ui/redact.js';
import { localStage, task } from '../helpers/stage.js';

/** Runs steps on this machine, as one script, and keeps the events the runner reported. */
async function run(steps: Step[], o: Partial<RunStepsOptions> = {}) {
  const events: ShipEvent[] = [];
  const outcome = await runSteps({
    host: 'h1',
    transport: new LocalTransport('h1', mkdtempSync(join(tmpdir(), 'ship-steps-'))),
    steps,
    emit: (e) => events.push(e),
    redact: makeRedactor(['s3cret']),
    ...o,
  });
  return { outcome, events, of: (name: ShipEvent['event']) => events.filter((e) => e.event === name) };
}

describe('runSteps: what it tells the progress, as typed fields', () => {
  it('task:end of the script’s final step says last; the others do not', async () => {
    const r = await run([
      { label: 'one', command: cmd('true') },
      { label: 'two', command: cmd('echo', 'hello') },
    ]);
    expect(r.outcome.ok).toBe(true);
    expect(r.of('task:end')).toEqual([
      { event: 'task:end', host: 'h1', task: 'one', ms: expect.any(Number), exitCode: 0 },
      { event: 'task:end', host: 'h1', task: 'two', ms: expect.any(Number), exitCode: 0, last: true },
    ]);
  });

  it('a step that fails ends its script without last; a final step that fails is still the last', async () => {
    const early = await run([
      { label: 'boom', command: script('exit 3') },
      { label: 'never', command: cmd('true') },
    ]);
    expect(early.of('task:end')).toEqual([{ event: 'task:end', host: 'h1', task: 'boom', ms: expect.any(Number), exitCode: 3 }]);
    const final = await run([{ label: 'boom', command: script('exit 4') }]);
    expect(final.of('task:end')).toEqual([{ event: 'task:end', host: 'h1', task: 'boom', ms: expect.any(Number), exitCode: 4, last: true }]);
  });

  it('task:start carries the step’s display text (redacted) and kind beside the whole command', async () => {
    const r = await run([
      { label: 'swap', kind: 'swap', command: cmd('true') },
      { label: 'build', command: seq(cmd('cd', '--', '/'), script('echo s3cret built')), display: 'echo s3cret built' },
    ]);
    expect(r.of('task:start')).toEqual([
      { event: 'task:start', host: 'h1', task: 'swap', command: 'true', kind: 'swap' },
      { event: 'task:start', host: 'h1', task: 'build', command: 'cd -- /; { echo [REDACTED] built; }', display: 'echo [REDACTED] built' },
    ]);
  });

  it('a task step displays the task as written, filled for the host, without the wrapper that runs it', () => {
    const stage = { ...localStage('/nonexistent', 1), tasks: { build: task('build', ['npm ci', 'npm run build -- --out {{release_path}}']) } } as StageConfig;
    const [step] = slotSteps('build', stage, stage.hosts[0]!, stage.hosts, { release_path: '/srv/app/releases/1' }, '/srv/app/releases/1');
    expect(step?.display).toBe('npm ci\nnpm run build -- --out /srv/app/releases/1');
  });
});

describe('runSteps: a step past its timeout', () => {
  it('is stopped on the host (its process gone) and fails with exit 124, the steps after it never run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ship-timeout-'));
    const r = await run(
      [
        { label: 'quick', command: cmd('true'), timeoutMs: 5_000 },
        { label: 'hung', command: cmd('sleep', '3191'), timeoutMs: 500 },
        { label: 'after', command: cmd('touch', join(dir, 'after')) },
      ],
      {},
    );
    expect(r.outcome.ok).toBe(false);
    expect(r.outcome.exitCode).toBe(124);
    const hung = r.outcome.steps[1]!;
    expect(hung).toMatchObject({ label: 'hung', exitCode: 124, timedOut: true });
    expect(r.outcome.steps[2]!.exitCode).toBeUndefined();
    expect(r.outcome.error?.message).toContain('hung ran longer than its timeout (500ms) and was stopped');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(spawnSync('pgrep', ['-f', 'sleep 3191']).status).toBe(1);
    expect(existsSync(join(dir, 'after'))).toBe(false);
  });

  it('a step with timeoutMs 0 has no limit; the run’s own interrupt is still an interrupt, not a timeout', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 300);
    await expect(run([{ label: 'long', command: cmd('sleep', '5'), timeoutMs: 0 }], { signal: stop.signal })).rejects.toMatchObject({ name: 'AbortError' });
  });
});
