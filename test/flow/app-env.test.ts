/**
 * The app's environment across deploys and rollbacks, with the node recipe's own restart task
 * (restart_with: command): the restart command sees the env of the release it starts, so a
 * rollback brings back the env that release was deployed with, secrets included, and no
 * secret reaches an event.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deploy } from '../../src/deploy/deploy.js';
import { rollback } from '../../src/deploy/rollback.js';
import { loadRecipe } from '../../src/recipes/load.js';
import { fixtureRepo } from '../helpers/repo.js';
import { fakeClock, localStage, realGit, recordingEnv } from '../helpers/stage.js';

describe("the app's env (flow)", () => {
  it('reaches a restart command from the release; a rollback restores the env of the release it goes back to', async () => {
    const repo = fixtureRepo();
    const node = loadRecipe('node', process.cwd(), process.cwd()).recipe!;
    const secret = "pa$$ 'word'";
    const stageFor = (greeting: string, base?: ReturnType<typeof localStage>) => {
      const s = localStage(repo.dir, 2, {
        tasks: { restart: node.tasks.restart! },
        vars: { ...node.vars, restart_with: 'command', restart_command: 'printf "%s|%s|%s\\n" "$GREETING" "$DATABASE_URL" "$SHIP_RELEASE" > log/seen' },
        env: { GREETING: greeting, DATABASE_URL: secret },
        secrets: ['DATABASE_URL'],
        secretValues: [secret],
      });
      // the second deploy goes to the same hosts, with deploy.yaml's env changed
      return base ? { ...s, hosts: base.hosts, configDir: base.configDir } : s;
    };
    const seen = (s: ReturnType<typeof localStage>, i: number) => readFileSync(join(s.hosts[i]!.deployTo, 'shared', 'log', 'seen'), 'utf8');
    const clock = fakeClock();
    const first = stageFor('hello');
    const one = await deploy(first, {}, recordingEnv(first, { clock }).env, realGit);
    expect(seen(first, 0)).toBe(`hello|${secret}|${one.release}\n`);
    expect(statSync(join(first.hosts[1]!.deployTo, 'releases', one.release, '.ship-env')).mode & 0o777).toBe(0o600);
    clock.advance(60_000);
    const second = stageFor('bonjour', first);
    const rec = recordingEnv(second, { clock });
    const two = await deploy(second, {}, rec.env, realGit);
    expect(seen(second, 1)).toBe(`bonjour|${secret}|${two.release}\n`);
    // rolled back with deploy.yaml still saying bonjour: the release's own env wins
    const back = recordingEnv(second, { clock });
    await rollback(second, {}, back.env);
    for (const i of [0, 1]) expect(seen(second, i)).toBe(`hello|${secret}|${one.release}\n`);
    for (const e of [...rec.events, ...back.events]) expect(JSON.stringify(e)).not.toContain('word');
  });

  it('{{address}} holds the address ship connects to (127.0.0.1 for this machine), in tasks and health URLs', async () => {
    const repo = fixtureRepo();
    const stage = localStage(repo.dir, 1, {
      tasks: { restart: { name: 'restart', run: ['echo {{address}} > log/address'], once: false, local: false, source: 'config' } },
    });
    await deploy(stage, {}, recordingEnv(stage).env, realGit);
    expect(readFileSync(join(stage.hosts[0]!.deployTo, 'shared', 'log', 'address'), 'utf8')).toBe('127.0.0.1\n');
  });
});
