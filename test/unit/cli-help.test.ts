import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';

/** What `ship <args>` prints for help, without running anything. */
async function help(...args: string[]): Promise<string> {
  const program = buildProgram(() => {});
  let text = '';
  const capture = { writeOut: (s: string) => (text += s), writeErr: (s: string) => (text += s) };
  program.configureOutput(capture);
  for (const command of program.commands) command.configureOutput(capture);
  await program.parseAsync(['node', 'ship', ...args]).catch((e: unknown) => {
    if (!(e instanceof CommanderError)) throw e;
  });
  return text;
}

/** Every command the program has: one added later needs its examples in src/cli/examples.ts. */
const COMMANDS = buildProgram(() => {}).commands.map((c) => c.name());

describe('ship --help and ship help <command>', () => {
  it('knows the commands', () => {
    expect(COMMANDS).toEqual(
      expect.arrayContaining(['deploy', 'rollback', 'releases', 'history', 'lock', 'unlock', 'exec', 'ssh', 'run', 'init', 'setup', 'check', 'tasks']),
    );
  });

  it('the overview shows examples that run the app’s own copy, and where the docs are', async () => {
    const text = await help('--help');
    expect(text).toContain('Examples:');
    expect(text).toContain('npx --no ship deploy production');
    expect(text).toContain('npx --no ship help <command>');
    expect(text).not.toMatch(/npx ship/);
  });

  it.each(COMMANDS)('ship help %s shows its examples and the global options', async (name) => {
    const text = await help('help', name);
    expect(text).toContain(`Usage: ship ${name}`);
    expect(text).toContain('Examples:');
    expect(text).toContain(`npx --no ship ${name}`);
    expect(text).toContain('Global Options:');
    for (const option of ['--config <file>', '--json', '--verbose', '--no-color', '--concurrency <n>', '--lock-wait <duration>'])
      expect(text).toContain(option);
  });

  it('ship <command> --help says the same as ship help <command>', async () => {
    expect(await help('deploy', '--help')).toBe(await help('help', 'deploy'));
  });
});
