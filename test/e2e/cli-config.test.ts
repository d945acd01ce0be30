/**
 * How the built CLI finds and reads deploy.yaml as a user meets it: run from a subdirectory
 * of the app, and a dry run in a pull-request job that has none of the deploy's secrets.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runShip } from '../helpers/cli.js';
import { type Checkout, fixtureRepo, type FixtureRepo, pushedCheckout } from '../helpers/repo.js';

describe('deploy.yaml as the CLI finds and reads it', () => {
  let work: string;
  let repo: FixtureRepo;
  beforeAll(() => {
    repo = fixtureRepo({ withApp: false });
    work = mkdtempSync(join(tmpdir(), 'ship-cli-config-'));
    mkdirSync(join(work, 'src', 'routes'), { recursive: true });
    writeFileSync(
      join(work, 'deploy.yaml'),
      `app: shop
repo: ${repo.dir}
deploy_to: /srv/shop
env:
  DATABASE_URL: \${DATABASE_URL}
  MODE: \${MODE:-production}
secrets: [DATABASE_URL]
stages:
  production:
    hosts: [web1.example.com]
`,
    );
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('run from a subdirectory, finds deploy.yaml above and says which file it uses', async () => {
    const r = await runShip(['deploy', 'production', '--dry-run'], { cwd: join(work, 'src', 'routes'), env: { DATABASE_URL: 'postgres://secret' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`ship: using ${join(work, 'deploy.yaml')} (found above this directory)`);
    expect(r.stdout).toContain('dry run: deploy shop to stage production');
    expect(r.stdout).not.toContain('postgres://secret');
  });

  it('--dry-run without the secrets shows them as placeholders instead of refusing; a deploy still refuses', async () => {
    const plan = await runShip(['deploy', 'production', '--dry-run'], { cwd: work });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('env: DATABASE_URL=<unset: DATABASE_URL> MODE=production');
    expect(plan.stdout).toContain('warning: not set here, shown as <unset: NAME>: DATABASE_URL (a deploy needs them: it would stop with exit 2)');
    const json = await runShip(['deploy', 'production', '--dry-run', '--json'], { cwd: work });
    expect(json.code).toBe(0);
    expect(json.events().find((e) => e.event === 'log')?.message).toContain('DATABASE_URL');
    const deploy = await runShip(['deploy', 'production'], { cwd: work });
    expect(deploy.code).toBe(2);
    expect(deploy.stderr).toContain('env.DATABASE_URL: environment variable "DATABASE_URL" is not set');
  });
});

describe('deploying a branch with commits that are not pushed', () => {
  let dir: string;
  let app: Checkout;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ship-unpushed-'));
    app = pushedCheckout(dir, {
      '.gitignore': '.ship/\n',
      'deploy.yaml': `app: shop
repo: ${join(dir, 'remote.git')}
branch: main
strategy: upload
tasks:
  restart: test -f REVISION
stages:
  local:
    hosts: [{ host: localhost, local: true, deploy_to: ./.ship/local }]
`,
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('warns, naming the local tip and what is deployed instead; pushed, it does not', async () => {
    const pushed = app.git('rev-parse', 'HEAD');
    const local = app.commit({ 'new.txt': 'work in progress\n' }, 'not pushed');
    const r = await runShip(['deploy', 'local'], { cwd: app.dir });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `branch main here is at ${local.slice(0, 12)}, which ${app.remote} does not have: the deploy takes ${pushed.slice(0, 12)}, without your unpushed commits (push first, or pass --revision)`,
    );
    app.git('push', '-q', 'origin', 'main');
    const again = await runShip(['deploy', 'local'], { cwd: app.dir });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('unpushed');
  });
});
