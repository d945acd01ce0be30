/** ship init's questions, answered by a script: defaults on Enter, ~/.ssh/config's User respected, bad answers asked again. */
import { describe, expect, it } from 'vitest';
import type { ProjectFacts } from '../../src/setup/init.js';
import { askChoices } from '../../src/setup/init-questions.js';

const node: ProjectFacts = { app: 'shop', recipe: 'node', repo: '.', branch: 'main', node: { port: 3000, healthPath: '/' } };

function io(answers: string[], users: Record<string, string> = {}) {
  const asked: string[] = [];
  const said: string[] = [];
  return {
    asked,
    said,
    ask: async (q: string) => {
      asked.push(q);
      return answers.shift() ?? '';
    },
    say: (line: string) => void said.push(line),
    sshUserOf: (host: string) => users[host],
  };
}

describe('ship init asks', () => {
  it('Enter takes every default', async () => {
    const t = io(['', '', '']);
    expect(await askChoices(node, t)).toEqual({ hosts: ['web1.example.com'], sshUser: 'deploy', restartWith: 'pm2' });
    expect(t.asked).toHaveLength(3);
    expect(t.asked[2]).toContain('pm2, systemd, command');
  });

  it('no ssh user question when ~/.ssh/config has a User for the hosts', async () => {
    const t = io(['app1, app2', 'systemd'], { app1: 'ops' });
    expect(await askChoices(node, t)).toEqual({ hosts: ['app1', 'app2'], restartWith: 'systemd' });
    expect(t.said).toEqual(['ssh user: ops, from ~/.ssh/config (deploy.yaml leaves it there)']);
  });

  it('a bad answer is refused and asked again; three refusals end it', async () => {
    const t = io(['deploy@web1', 'web1', 'root', 'forever', 'command']);
    expect(await askChoices(node, t)).toEqual({ hosts: ['web1'], sshUser: 'root', restartWith: 'command' });
    expect(t.said).toEqual(['  "deploy@web1" is not a host name (the user goes apart, not as user@host)', '  answer one of pm2, systemd, command']);
    await expect(askChoices(node, io(['a@b', 'c@d', 'e@f']))).rejects.toThrow(/no usable answer after 3 tries/);
  });

  it('no restart question for a recipe without one; rails offers touch first', async () => {
    expect((await askChoices({ ...node, recipe: 'static', node: undefined }, io(['', '']))).restartWith).toBeUndefined();
    expect((await askChoices({ ...node, recipe: 'rails' }, io(['', '', '']))).restartWith).toBe('touch');
  });
});
