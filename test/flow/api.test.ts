/**
 * The API as a tool wiring ship in sees it when things go wrong: a bad deploy.yaml is a
 * UsageError (exit 2) listing every problem; a failed deploy rejects with the error class of
 * its exit code, after a closing deploy:end event; secrets never appear in an event; an
 * aborted signal ends the run as Ctrl-C does. Deploys a local stage for real (no servers).
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployError, deploy, ExitCode, InterruptedError, loadConfig, rollback, type StampedEvent, UsageError } from '../../src/api.js';
import { fixtureRepo, type FixtureRepo } from '../helpers/repo.js';

const SECRET = 's3cr3t-token-value';

describe('the API', () => {
  let app: string;
  let repo: FixtureRepo;
  const env = { PATH: process.env.PATH, API_TOKEN: SECRET };

  const write = (build: string) =>
    writeFileSync(
      join(app, 'deploy.yaml'),
      `app: shop
repo: ${repo.dir}
strategy: upload
env:
  API_TOKEN: \${API_TOKEN}
secrets: [API_TOKEN]
tasks:
  build: ${build}
  restart: test -f REVISION
stages:
  local:
    hosts: [{ host: localhost, local: true, deploy_to: ./.ship/local }]
`,
    );

  beforeAll(() => {
    repo = fixtureRepo({ withApp: false });
    app = mkdtempSync(join(tmpdir(), 'ship-api-'));
  });
  afterAll(() => {
    rmSync(app, { recursive: true, force: true });
    rmSync(repo.dir, { recursive: true, force: true });
  });

  it('loadConfig rejects a bad deploy.yaml with a UsageError (exit 2) listing each problem at its line', async () => {
    writeFileSync(
      join(app, 'deploy.yaml'),
      'app: shop\nrepo: x\nkeep_release: 3\nstages:\n  local:\n    hosts: [{ host: localhost, local: true, deploy_to: ./x }]\n',
    );
    const error = await loadConfig({ cwd: app, env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(ExitCode.usage);
    expect((error as UsageError).details).toEqual([expect.stringMatching(/^deploy\.yaml:3:1 keep_release: unknown key .*did you mean "keep_releases"/)]);
  });

  it('a deploy failing before publish rejects with a DeployError (exit 1) after deploy:end; the secret is in no event', async () => {
    write('echo "token is $API_TOKEN"; echo "$API_TOKEN" >&2; exit 7');
    const events: StampedEvent[] = [];
    const error = await deploy('local', { cwd: app, env, onEvent: (e) => events.push(e) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeployError);
    expect((error as DeployError).exitCode).toBe(ExitCode.failed);
    const end = events.at(-1)!;
    expect(end).toMatchObject({ event: 'deploy:end', ok: false, exitCode: 1, stage: 'local' });
    expect(events.some((e) => e.event === 'task:end' && e.task === 'build' && e.exitCode === 7)).toBe(true);
    const all = JSON.stringify(events);
    expect(all).toContain('[REDACTED]');
    expect(all).not.toContain(SECRET);
    expect(String((error as Error).message) + (error as DeployError).details.join('\n')).not.toContain(SECRET);
    // nothing was published
    expect(existsSync(join(app, '.ship', 'local', 'current'))).toBe(false);
  });

  it('deploys and rolls back a stage it loaded; an aborted signal ends a run as Ctrl-C does', async () => {
    write('exit 0');
    const stage = await loadConfig({ stage: 'local', cwd: app, env });
    const first = await deploy(stage);
    repo.commit({ 'b.txt': 'b\n' });
    const second = await deploy(stage);
    expect(second.release > first.release).toBe(true);
    const back = await rollback(stage);
    expect(back.release).toBe(first.release);

    const controller = new AbortController();
    controller.abort();
    const before = readdirSync(join(app, '.ship', 'local', 'releases')).sort();
    const error = await deploy(stage, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as InterruptedError).exitCode).toBe(ExitCode.interrupted);
    expect(readdirSync(join(app, '.ship', 'local', 'releases')).sort()).toEqual(before);
  });
});
