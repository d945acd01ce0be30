import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadStageConfig } from '../../src/cli/config.js';
import { templateValues } from '../../src/engine/tasks.js';
import type { HostFacts } from '../../src/engine/index.js';

/** What loading deploy.yaml says about it: the problems, one line each, or "ok". */
async function loadProblems(dir: string, text: string, stage = 'production'): Promise<string[] | 'ok'> {
  await writeFile(path.join(dir, 'deploy.yaml'), text);
  try {
    await loadStageConfig(stage, undefined, dir, {});
    return 'ok';
  } catch (e) {
    return [(e as Error).message, ...((e as { details?: string[] }).details ?? [])];
  }
}

const HEAD = 'app: demo\nrepo: https://example.com/demo.git\ndeploy_to: /srv/demo\nrecipe: node\n';

describe('{{placeholders}} are checked when deploy.yaml is loaded', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ship-placeholders-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('an unknown one in a task, a hook, a health check or a var is a problem at its line and column (exit 2)', async () => {
    const text = `${HEAD}vars:
  port: 3000
  url: "http://127.0.0.1:{{prot}}/"
tasks:
  notify: echo {{releese}} is live
  build: [npm ci, "npm run build -- --out {{shared_path}}/{{outdir}}"]
hooks:
  after:publish: [notify, { run: "curl {{url}} # {{hots}}" }]
health:
  http: "http://127.0.0.1:{{port}}/health?r={{revison}}"
stages:
  production:
    vars: { greeting: "hi {{stage}} {{nope}}" }
    hosts: [web1]
`;
    expect(await loadProblems(dir, text)).toEqual([
      'invalid configuration (6 problems)',
      'deploy.yaml:7:8 vars.url: unknown placeholder {{prot}} (did you mean {{port}}?)',
      'deploy.yaml:9:11 tasks.notify: unknown placeholder {{releese}} (did you mean {{release}}?)',
      'deploy.yaml:10:19 tasks.build.1: unknown placeholder {{outdir}}',
      'deploy.yaml:12:34 hooks.after:publish.1.run: unknown placeholder {{hots}} (did you mean {{host}}?)',
      'deploy.yaml:14:9 health.http: unknown placeholder {{revison}} (did you mean {{revision}}?)',
      'deploy.yaml:17:23 stages.production.vars.greeting: unknown placeholder {{nope}}',
    ]);
  });

  test("load_balancer's server and commands are checked too; its commands also know {{server}} and {{backend}}", async () => {
    const text = `${HEAD}load_balancer:
  kind: commands
  server: "{{hots}}-{{app}}"
  drain: lb-cli drain {{server}} --pool {{backend}}
  enable: lb-cli enable {{sever}}
stages:
  production:
    hosts: [web1, web2]
    rollout: { batch: 1 }
`;
    expect(await loadProblems(dir, text)).toEqual([
      'invalid configuration (2 problems)',
      'deploy.yaml:7:11 load_balancer.server: unknown placeholder {{hots}} (did you mean {{host}}?)',
      'deploy.yaml:9:11 load_balancer.enable: unknown placeholder {{sever}} (did you mean {{server}}?)',
    ]);
    // {{server}} names the host in the balancer: it is not a name the server template itself may use
    expect(await loadProblems(dir, text.replace('"{{hots}}-{{app}}"', '"{{server}}"').replace('{{sever}}', '{{server}}'))).toEqual([
      'invalid configuration (1 problem)',
      'deploy.yaml:7:11 load_balancer.server: unknown placeholder {{server}}',
    ]);
  });

  test("the recipe's vars, the stage's and each host's vars are known names", async () => {
    const text = `${HEAD}tasks:
  warm: curl http://127.0.0.1:{{port}}/ && echo {{restart_with}} {{region}}
stages:
  production:
    vars: { port: 3000 }
    hosts: [{ host: web1, vars: { region: eu } }]
`;
    expect(await loadProblems(dir, text)).toBe('ok');
  });

  test('a var may use the facts ({{host}}, {{release}}...): it is filled for each host', () => {
    const facts = { app: 'demo', stage: 'production', host: 'web1', release: '20261122021500' } as unknown as HostFacts;
    const values = templateValues({ vars: { url: 'http://{{host}}:3000/', plain: 'x' } } as never, { vars: {} } as never, facts);
    expect(values.url).toBe('http://web1:3000/');
    expect(values.plain).toBe('x');
    expect(values.release).toBe('20261122021500');
  });
});
