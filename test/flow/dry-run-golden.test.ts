import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describe as describePlan } from '../../src/cli/commands/dry-run.js';
import { loadStageConfig } from '../../src/cli/config.js';
import type { StageConfig } from '../../src/config/types.js';
import { dryRunDeploy, dryRunRollback, type DryRun } from '../../src/deploy/dry-run.js';
import { resolveRevision } from '../../src/git/git.js';
import { makeRedactor } from '../../src/ui/redact.js';
import { fixtureRepo } from '../helpers/repo.js';
import { fakeClock } from '../helpers/stage.js';

/**
 * The whole --dry-run plan, text and events, for one rich config, held against a file: a
 * change to any command ship would send shows here as a diff. Machine-specific parts (the
 * temp directory, the sha, the lock token) are replaced by names.
 */

const operator = { user: 'tester', machine: 'ci-box', pid: 4242 };
const SECRET = 'postgres://app:s3cret@db/app';

function config(repo: string): string {
  return `app: demo
repo: ${repo}
recipe: node
deploy_to: /srv/demo
keep_releases: 3
shared:
  dirs: [log, storage]
  files: [.env]
env:
  NODE_ENV: production
  DATABASE_URL: \${GOLDEN_DATABASE_URL}
secrets: [DATABASE_URL]
vars:
  port: 3000
  restart_with: command
  restart_command: PORT={{port}} sh bin/restart
  backup_keep: 4
health:
  http: http://127.0.0.1:{{port}}/health
  expect: { status: 200, body: ok }
  timeout: 10s
  interval: 500ms
tasks:
  backup: { roles: [db], once: true, run: "pg_dump > {{backup_path}}/{{release}}.dump" }
  notify: { local: true, run: "echo deployed {{release}} of {{app}}" }
  warm: { roles: [web], run: "curl -fsS http://127.0.0.1:{{port}}/ > /dev/null" }
hooks:
  after:publish: [notify, warm]
  before:deploy: [{ run: "echo starting {{stage}}" }]
stages:
  remote:
    strategy: remote
    rollout: { canary: 1 }
    hosts:
      - web1
      - { host: web2, roles: [web, app] }
      - { host: web3, roles: [web, app], deploy_to: /srv/other }
      - { host: db1, roles: [db], primary: true }
  upload:
    strategy: upload
    rollout: { batch: 1 }
    hosts:
      - web1
      - { host: db1, roles: [db, app], primary: true }
`;
}

/** Text and NDJSON-shaped events of a plan, with what differs between machines named. */
function show(plan: DryRun, stage: StageConfig, names: Record<string, string>): string {
  // as the CLI prints it: the whole text redacted once more
  const text = makeRedactor(stage.secretValues)(describePlan(plan, stage.app, stage.stage, stage.keepReleases, () => stage.env).join('\n'));
  const events = [...plan.steps].flatMap(([host, list]) => list.map((s) => JSON.stringify({ host, ...s })));
  let out = `${[text, '', '--- events', ...events, '--- warnings', ...plan.warnings].join('\n')}\n`;
  for (const [value, name] of Object.entries(names)) out = out.split(value).join(name);
  // the scratch files of an upload (the archive, the delta made from it) have random names
  out = out.replace(new RegExp(`${tmpdir().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/ship-(dry-run|demo-delta)-[A-Za-z0-9]{6}`, 'g'), '<tmp:$1>');
  return out.replace(/"token":"[0-9a-f]{24}"/g, '"token":"<token>"').replace(/\\"token\\":\\"[0-9a-f]{24}\\"/g, '\\"token\\":\\"<token>\\"');
}

describe('--dry-run plan, held against a file', () => {
  const repo = fixtureRepo();
  const work = mkdtempSync(join(tmpdir(), 'ship-golden-'));
  writeFileSync(join(work, 'deploy.yaml'), config(repo.dir));
  const env = { ...process.env, GOLDEN_DATABASE_URL: SECRET };
  const names = () => ({ [repo.dir]: '<repo>', [work]: '<work>', [repo.head()]: '<sha>' });

  for (const stageName of ['remote', 'upload']) {
    it(`deploy, stage ${stageName}`, async () => {
      const stage = await loadStageConfig(stageName, undefined, work, env);
      const plan = await dryRunDeploy(stage, {}, { clock: fakeClock(), operator, redact: makeRedactor(stage.secretValues), resolveRevision });
      const out = show(plan, stage, names());
      expect(out).not.toContain('s3cret');
      await expect(out).toMatchFileSnapshot(`golden/dry-run-deploy-${stageName}.txt`);
    });
  }

  it('deploy of a selection (--roles web)', async () => {
    const stage = await loadStageConfig('remote', undefined, work, env);
    const plan = await dryRunDeploy(stage, { roles: ['web'] }, { clock: fakeClock(), operator, redact: makeRedactor(stage.secretValues), resolveRevision });
    await expect(show(plan, stage, names())).toMatchFileSnapshot('golden/dry-run-deploy-roles-web.txt');
  });

  it('rollback, and rollback --to', async () => {
    const stage = await loadStageConfig('remote', undefined, work, env);
    const o = { clock: fakeClock(), operator, redact: makeRedactor(stage.secretValues), resolveRevision };
    const back = await dryRunRollback(stage, {}, o);
    const to = await dryRunRollback(stage, { to: '20261101000000' }, o);
    await expect(`${show(back, stage, names())}\n=== --to\n${show(to, stage, names())}`).toMatchFileSnapshot('golden/dry-run-rollback.txt');
  });
});
