/**
 * What `ship init` asks on a terminal: only what it cannot find out itself (the hosts, the
 * ssh user when ~/.ssh/config has no User for them, the restart method), each with a default
 * that Enter accepts. The questions go through `ask`, so tests answer them without a terminal.
 */
import { UsageError } from '../errors.js';
import { DEFAULT_HOSTS, type InitChoices, type ProjectFacts, restartMethods } from './init.js';

export interface Asker {
  /** Shows the question, returns the answer line. */
  ask(question: string): Promise<string>;
  /** Tells something without asking. */
  say(line: string): void;
  /** The User ~/.ssh/config gives for a host, if any. */
  sshUserOf(host: string): string | undefined;
}

const HOST = /^[^\s@/,]+$/;
const TRIES = 3;

/** An answer taken, or why it was refused. */
type Read<T> = { value: T } | { refused: string };

export async function askChoices(facts: ProjectFacts, io: Asker): Promise<InitChoices> {
  const hosts = await askUntil(io, `Hosts of the production stage, separated by commas [${DEFAULT_HOSTS.join(', ')}]: `, (answer): Read<string[]> => {
    const list = answer.split(/[\s,]+/).filter(Boolean);
    const bad = list.find((h) => !HOST.test(h));
    if (bad) return { refused: `${JSON.stringify(bad)} is not a host name (the user goes apart, not as user@host)` };
    return { value: list.length ? list : DEFAULT_HOSTS };
  });
  const choices: InitChoices = { hosts };
  const configured = hosts.map((h) => io.sshUserOf(h)).find(Boolean);
  if (configured) io.say(`ssh user: ${configured}, from ~/.ssh/config (deploy.yaml leaves it there)`);
  else {
    choices.sshUser = await askUntil(
      io,
      'SSH user on the hosts [deploy]: ',
      (a): Read<string> => (a === '' ? { value: 'deploy' } : HOST.test(a) ? { value: a } : { refused: `${JSON.stringify(a)} is not a user name` }),
    );
  }
  const methods = restartMethods(facts.recipe);
  if (methods.length) {
    const hint = facts.recipe === 'node' ? ' (pm2 needs no root; systemd needs a unit and a sudoers line)' : '';
    choices.restartWith = await askUntil(
      io,
      `How is the app restarted: ${methods.join(', ')}${hint} [${methods[0]}]: `,
      (a): Read<string> => (a === '' ? { value: methods[0]! } : methods.includes(a) ? { value: a } : { refused: `answer one of ${methods.join(', ')}` }),
    );
  }
  return choices;
}

/** Asks until `read` takes the answer; after TRIES refused answers, gives up. */
async function askUntil<T>(io: Asker, question: string, read: (answer: string) => Read<T>): Promise<T> {
  for (let i = 1; ; i++) {
    const r = read((await io.ask(question)).trim());
    if ('value' in r) return r.value;
    io.say(`  ${r.refused}`);
    if (i >= TRIES) throw new UsageError(`ship init: no usable answer after ${TRIES} tries`, [], 'ship init --yes writes the defaults without asking');
  }
}
