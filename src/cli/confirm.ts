import { createInterface } from 'node:readline/promises';
import type { StageConfig } from '../config/types.js';
import { DeployError, UsageError } from '../errors.js';

/**
 * `confirm: true` stages (production), and commands that always ask (`always`: ship restore): a person at a terminal is asked; anything else (CI, a
 * pipe, --json) must say --yes up front, because ship never prompts where nobody can answer.
 */
export async function confirmRun(
  stage: StageConfig,
  what: string, // "deploy demo to production (3 hosts)"
  o: { yes?: boolean; json?: boolean; interactive?: boolean; ask?: (q: string) => Promise<string>; always?: boolean },
): Promise<void> {
  if ((!stage.confirm && !o.always) || o.yes) return;
  const interactive = o.interactive ?? (!!process.stdin.isTTY && !!process.stdout.isTTY && !process.env.CI && !o.json);
  if (!interactive) {
    const why = o.always ? `${what} asks for confirmation` : `stage ${stage.stage} asks for confirmation (confirm: true)`;
    throw new UsageError(`${why} and nobody can answer here`, [], 'pass --yes to confirm in advance');
  }
  const answer = await (o.ask ?? askOnTerminal)(`${what}? [y/N] `);
  if (!/^y(es)?$/i.test(answer.trim())) throw new DeployError('not confirmed: nothing was changed');
}

async function askOnTerminal(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
