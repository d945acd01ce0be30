import { mkdtempSync } from 'node:fs';
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
